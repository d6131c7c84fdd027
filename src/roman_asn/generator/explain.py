"""``explain``: which associations one pool row joined, and why not the others.

A program's associations depend only on its rows (see the engine), and an
association's members only on its group. So explain builds, for the row's program:

1. exactly, with the engine, every association of a group the row is in: each rule
   is given only the rows sharing a group key with the row (for the sky-cell rules,
   the rows whose footprints lie near enough to share a sky cell with it:
   :func:`near_rows`);
2. for every other group of the program, the association's keys, names and a
   fingerprint of its member set (count and two hash sums of the distinct names),
   without member lists: enough for discovered ids, duplicates, clashing names and
   sequence numbers. The sky-cell rules' other groups are not built at all: they have
   fixed ids and names that hold their sky cell, which :func:`_fallback_reason`
   checks cannot touch the row's answer.

The engine's own finalize step then runs on both together. Where the shortcut
cannot be proved exact for this row (a hash match that is not a known duplicate, a
product-name clash, a name that could be a sky-cell product's), the program is
generated whole instead and the explanation says so in its ``notes``.
"""

from __future__ import annotations

import os.path
import re
import string
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from roman_asn.generator.candidates import candidate_id_lists
from roman_asn.generator.engine import (
    GenerationResult,
    Prepared,
    association_frame,
    finalize,
    generate,
    name_fields,
    prepare,
    rule_reasons,
    rule_rows,
    undeduplicated_associations,
)
from roman_asn.generator.naming import ACID_PLACEHOLDER
from roman_asn.generator.options import GenerateOptions
from roman_asn.pool import Pool
from roman_asn.pool.columns import ROW_COLUMN
from roman_asn.pool.subset import PoolRows
from roman_asn.rules.hooks import expanders
from roman_asn.rules.loader import Rule

# The expand hook of the sky-cell rules (roman_asn.generator.skycell_rules).
SKYCELL_HOOK = "skycells"
SKYCELL_NAME = r"\d{3}[pm]\d{2}x\d{2}y\d{2}"  # a sky cell's name (270p65x48y69)
_HASH_SEEDS = (0x5EED, 0xF00D)


@dataclass
class Joined:
    file_name: str
    rule: str
    asn_type: str
    asn_id: str
    product_name: str


@dataclass
class RowExplanation:
    pool_row: int
    filename: str
    line: int | None
    joined: list[Joined] = field(default_factory=list)
    not_joined: list[tuple[str, str]] = field(default_factory=list)  # (rule, why)
    # associations this row was in that were not written: (rule, asn_id, product, why)
    dropped: list[tuple[str, str, str, str]] = field(default_factory=list)
    # how the answer was computed, when not the usual way
    notes: list[str] = field(default_factory=list)


def find_rows(pool: Pool, spec: str) -> list[int]:
    """``#N``: the row with pool_row N (0-based, as in the orphans file); else a file name."""
    return PoolRows.of_pool(pool).find(spec)


def explain(
    pool: Pool | PoolRows,
    rules: list[Rule],
    options: GenerateOptions,
    spec: str,
    *,
    whole: bool = False,
) -> list[RowExplanation]:
    """The story of every row ``spec`` names (see :func:`find_rows`), computed from
    the groups each row can touch; ``whole``: from a run over the whole pool (slow;
    what the scoped answer must equal)."""
    source = pool if isinstance(pool, PoolRows) else PoolRows.of_pool(pool)
    rows = source.find(spec)
    if whole:
        table = source.all_rows(pool_columns(rules))
        result = generate(table, rules, options)
        return [
            _story(table, row, source.where(row), _reasons_only(table, rules, row), result)
            for row in rows
        ]
    columns = pool_columns(rules)
    out = []
    programs: dict[object, pl.DataFrame] = {}
    for row in rows:
        program = source.program_of(row, columns)
        if program not in programs:
            programs[program] = source.program_rows(program, columns)
        out.append(explain_row(programs[program], rules, options, row, source.where(row)))
    return out


def pool_columns(rules: list[Rule]) -> set[str]:
    """The pool columns the rules (and their expand hooks) can read."""
    wanted = {"filename", "program", "visit_id", "detector", "candidates", "exposerr", "target"}
    hooks = expanders()
    for rule in rules:
        wanted.update(rule.keys, rule.required, rule.fields, rule.fill_missing)
        wanted.add(rule.target_column)
        wanted.update(c for s in rule.selections for c in s.columns)
        if rule.expand:
            wanted.update(hooks[rule.expand].inputs)
    return wanted


def explain_row(
    table: pl.DataFrame,
    rules: list[Rule],
    options: GenerateOptions,
    row: int,
    where: dict | None = None,
) -> RowExplanation:
    """The story of pool row ``row``; ``table``: every row of its program."""
    scoped = _scoped(table, rules, options, row)
    if isinstance(scoped, str):
        result = generate(table, rules, options)
        story = _story(table, row, where, _reasons_only(table, rules, row), result)
        story.notes.append(f"computed from the whole program: {scoped}")
        return story
    return _story(table, row, where, *scoped)


def _reasons_only(table: pl.DataFrame, rules: list[Rule], row: int) -> Prepared:
    """The rules prepared on the row alone: enough for its reasons."""
    return prepare(table, rules, {r.name: _one(row) for r in rules if not r.second_stage})


def _story(
    table: pl.DataFrame,
    row: int,
    where: dict | None,
    prepared: Prepared,
    result: GenerationResult,
) -> RowExplanation:
    """The row's story read from the associations and drops of its program."""
    record = table.filter(pl.col(ROW_COLUMN) == row).row(0, named=True)
    story = RowExplanation(row, record["filename"], (where or {}).get("line"))
    reasons = rule_reasons(prepared, result.options, _one(row).implode())
    joined = result.associations.filter(pl.col("rows").list.contains(row))
    for item in joined.select(
        "file_name", "rule", "asn_type", "asn_id", "product_name"
    ).iter_rows():
        story.joined.append(Joined(*item))
    joined_rules = set(joined["rule"].to_list())
    mine = result.dropped.filter(pl.col("rows").list.contains(row))
    for item in (
        mine.sort("rule", "acid", "product_name")
        .select("rule", "acid", "product_name", "reason")
        .iter_rows()
    ):
        story.dropped.append(item)
    for rule, why in reasons.sort("rule_order").select("rule", "reason").iter_rows():
        if rule in joined_rules:
            continue
        if why is None:
            lost = mine.filter(pl.col("rule") == rule)["reason"].unique().sort().to_list()
            why = "; ".join(lost) if lost else "accepted, but made no association"
        story.not_joined.append((rule, why))
    return story


def _one(row: int) -> pl.Series:
    return pl.Series(ROW_COLUMN, [row], dtype=pl.UInt32)


def _scoped(
    table: pl.DataFrame, rules: list[Rule], options: GenerateOptions, row: int
) -> tuple[Prepared, GenerationResult] | str:
    """(prepared, result) with the row's associations and drops as the full run has
    them, or why that cannot be done here."""
    spatial = [r for r in rules if r.expand == SKYCELL_HOOK and not r.second_stage]
    near = near_rows(table, row)
    prepared = prepare(table, rules, {r.name: near for r in spatial})
    sky = {r.name for r in prepared.row_rules if r.expand == SKYCELL_HOOK}
    for rule in prepared.product_rules:
        if not set(rule.source_rules) <= sky:
            return f"second-stage rule {rule.name} groups products of non-sky-cell rules"
    sky |= {r.name for r in prepared.product_rules}
    by_name = {r.name: r for r in prepared.runnable}
    for name in sky:
        rule = by_name[name]
        if not rule.asn_id or rule.asn_file_name != "product" or not rule.skycell_column:
            return f"sky-cell rule {name} has no fixed asn_id, product file name and sky cell"
    # 1. every association of the row's groups, exactly
    plain = [r for r in prepared.row_rules if r.name not in sky]
    rows_by_rule: dict[str, pl.Series] = {r.name: near for r in prepared.row_rules if r.name in sky}
    key_parts = []
    for rule in plain:
        rows = rule_rows(rule, prepared.frames[rule.expand], options)
        group = ["asn_type", *rule.keys]
        own = rows.filter(pl.col(ROW_COLUMN) == row).select(group).unique()
        mates = rows.join(own, on=group, how="semi")[ROW_COLUMN]
        rows_by_rule[rule.name] = pl.concat([mates, _one(row)]).unique()
        key_parts.append(_key_level(rule, prepared, rows, options))
    exact = undeduplicated_associations(prepared, options, rows_by_rule)
    cells: list[str] = []
    if SKYCELL_HOOK in prepared.frames:
        frame = prepared.frames[SKYCELL_HOOK].filter(pl.col(ROW_COLUMN) == row)
        cells = frame["skycell"].drop_nulls().unique().to_list() if "skycell" in frame else []
    exact = exact.filter(
        pl.col("rows").list.contains(row)
        | (pl.col("rule").is_in(list(sky)) & pl.col("skycell").is_in(cells))
    )
    # 2. every other group of the program, without its members
    identity = ["rule", "asn_type", "constraints", "acid"]
    others = pl.concat(key_parts, how="vertical") if key_parts else exact.head(0).drop("idx")
    others = others.join(exact.select(identity), on=identity, how="anti", nulls_equal=True)
    exact = _with_fingerprints(exact.drop("idx"))
    combined = pl.concat(
        [exact, others.with_columns(pl.lit(None, dtype=exact["__real"].dtype).alias("__real"))],
        how="vertical",
    ).with_row_index("idx")
    why = _unproven_duplicates(combined, by_name, options)
    if why:
        return why
    associations, dropped = finalize(combined.drop("__real"), rules, options)
    why = _fallback_reason(associations, dropped, combined, by_name, sky, row, options)
    if why:
        return why
    return prepared, GenerationResult(
        associations, dropped, dropped.head(0), options, "none", rules, table.height
    )


def _key_level(
    rule: Rule, prepared: Prepared, rows: pl.DataFrame, options: GenerateOptions
) -> pl.DataFrame:
    """The association frame of every group of ``rule``, with ``members`` a one-item
    list: the fingerprint of the member set (see :func:`_fingerprint`), and no rows.
    A group makes one association per id its rows carry (the engine's candidate
    split), so exploding each row's ids and grouping by (keys, id) gives the same."""
    ids, emit_ids = candidate_id_lists(rule, options)
    group = ["asn_type", *rule.keys]
    extras = name_fields(rule, prepared.frames[rule.expand].columns)
    pairs = rows.select(*group, *extras, "member", ids.alias("acid")).explode("acid")
    groups = pairs.group_by([*group, "acid"]).agg(
        _fingerprint(pl.col("member").unique()).alias("members"),
        *[pl.col(f).drop_nulls().min() for f in extras],
    )
    groups = groups.with_columns(
        (pl.col("acid").is_null() | pl.lit(emit_ids)).alias("emit"),
        pl.concat_list("members").alias("members"),
        pl.lit([None], dtype=pl.List(pl.Utf8)).alias("exposerr"),
        pl.lit([], dtype=pl.List(pl.UInt32)).alias("rows"),
    )
    return association_frame(rule, prepared.order[rule.name], groups, options)


def _fingerprint(members: pl.Expr) -> pl.Expr:
    """``count:sum:sum`` of distinct member names (two 32-bit hash sums): equal member
    sets give equal text; unequal ones almost never do, and where they match
    :func:`_unproven_duplicates` proves the sets equal or gives up."""
    sums = [(members.hash(seed) % (1 << 32)).sum().cast(pl.Utf8) for seed in _HASH_SEEDS]
    return pl.concat_str([members.len().cast(pl.Utf8), *sums], separator=":")


def _with_fingerprints(exact: pl.DataFrame) -> pl.DataFrame:
    """Exact associations with their members as a fingerprint, as the others have
    them; the member list is kept as ``__real``."""
    position = pl.int_range(pl.len(), dtype=pl.UInt32).alias("__a")
    flat = exact.select(position, pl.col("members").list.unique()).explode("members")
    prints = (
        flat.drop_nulls("members")
        .group_by("__a")
        .agg(_fingerprint(pl.col("members")).alias("__fp"))
    )
    exact = exact.with_columns(position).join(prints, on="__a", how="left", maintain_order="left")
    return exact.with_columns(
        pl.col("members").alias("__real"),
        pl.concat_list(pl.col("__fp").fill_null("0:0:0")).alias("members"),
    ).drop("__a", "__fp")


def _unproven_duplicates(
    combined: pl.DataFrame, rules: dict[str, Rule], options: GenerateOptions
) -> str | None:
    """Associations whose fingerprints match are taken as identical (as the full run
    would find them) only when that is proved: all are built exactly and their
    members are equal, or they are one group of an ``each`` rule with discovery on,
    where the discovered association has every row of the group and so holds the
    members of the candidate ones (equal counts: equal sets)."""
    candidate = pl.col("constraints").str.len_chars() - pl.col("acid").str.len_chars() - 16
    base = (
        pl.when(pl.col("acid").is_null())
        .then(pl.col("constraints"))
        .otherwise(pl.col("constraints").str.head(candidate))
    )
    discovering = [n for n, r in rules.items() if r.candidates == "each" and options.discover]
    identity = ["program", "asn_type", "product_key", "__fp"]
    marked = combined.with_columns(pl.col("members").list.first().alias("__fp"), base.alias("__g"))
    shared = marked.filter(pl.len().over(identity) > 1)
    if shared.height == 0:
        return None
    sets = shared.group_by(identity).agg(
        pl.col("__real").is_not_null().all().alias("built"),
        (
            (pl.col("rule").n_unique() == 1)
            & (pl.col("__g").n_unique() == 1)
            & pl.col("acid").is_null().any()
            & pl.col("rule").first().is_in(discovering)
        ).alias("one_group"),
        pl.col("__real").list.join("\n").n_unique().alias("texts"),
    )
    unproven = sets.filter(~(pl.col("one_group") | (pl.col("built") & (pl.col("texts") == 1))))
    if unproven.height:
        return "associations with matching member fingerprints that are not known duplicates"
    return None


def _fallback_reason(
    associations: pl.DataFrame,
    dropped: pl.DataFrame,
    combined: pl.DataFrame,
    rules: dict[str, Rule],
    sky: set[str],
    row: int,
    options: GenerateOptions,
) -> str | None:
    """Why the scoped answer might differ from the full run's, or None when it cannot.

    The sky-cell rules' groups away from the row's cells were not built. They have
    fixed ids, so they number nothing, and product file names, so they have no
    sequence number; they could still share a product name (or product key) with an
    association of the program, or rank before a name of the same id and type: each
    is ruled out here, on the names' shape."""
    if dropped.filter(pl.col("reason").str.starts_with("same product name")).height:
        return "a product-name clash in the program"
    renamed = pl.col("product_template").str.replace_all(
        ACID_PLACEHOLDER, pl.col("asn_id"), literal=True
    )
    if associations.filter(pl.col("product_name") != renamed).height:
        return "a product-name clash in the program"
    if not sky:
        return None
    drid = options.data_release_id
    program = combined["program"].drop_nulls().first()
    shapes = [_name_shape(name, rules, program, drid) for name in sorted(sky)]
    full = "^(?s:" + "|".join(f"(?:{shape})" for shape in shapes) + ")$"
    plain = combined.filter(~pl.col("rule").is_in(list(sky)))
    written = associations.filter(~pl.col("rule").is_in(list(sky)))
    names = pl.concat([plain["product_key"], written["product_name"]])
    if names.str.contains(full).any():
        return "a product name that could also be a sky-cell product's"
    cell = re.compile(f"(?=({SKYCELL_NAME}))")
    for name, skycell in (
        combined.filter(pl.col("rule").is_in(list(sky)))
        .select("product_key", "skycell")
        .iter_rows()
    ):
        if {m.group(1) for m in cell.finditer(name)} != {skycell}:
            return f"sky-cell product name {name} holds another sky cell's name"
    # a DMS file name numbers the names of one id and type; sky-cell products of that
    # id and type rank after it only if its name sorts after their common prefix
    mine = associations.filter(pl.col("rows").list.contains(row) & ~pl.col("rule").is_in(list(sky)))
    for asn_id, asn_type, name in mine.select("asn_id", "asn_type", "product_name").iter_rows():
        for rule_name in sky:
            rule = rules[rule_name]
            if rule.asn_id != asn_id or rule.asn_type not in (None, asn_type):
                continue
            prefix = _literal_prefix(rule_name, rules, program, drid)
            if name.startswith(prefix) or name > prefix:
                return f"the sequence number of {name} counts sky-cell products"
    return None


def _pieces(template: str) -> list[tuple[str, str | None, str, str | None]]:
    return list(string.Formatter().parse(template))


def _rendered_program(program: object, spec: str) -> str:
    """The program as a template writes it (``{program:05d}``: zero-padded)."""
    width = int(spec.rstrip("d") or 0) if spec else 0
    return str(program).zfill(width)


def _literal_prefix(
    name: str, rules: dict[str, Rule], program: object, drid: str, template: str | None = None
) -> str:
    """What every product name of rule ``name`` in ``program`` starts with: its
    template's text up to the first field that varies."""
    rule = rules[name]
    out = ""
    for literal, field_name, spec, conversion in _pieces(template or rule.product_name):
        out += literal
        if field_name is None:
            continue
        if field_name == "program":
            out += _rendered_program(program, spec)
        elif field_name == "drid":
            out += drid if conversion == "s" else drid.lower()
        elif field_name == "product_root" and rule.second_stage:
            roots = [
                _literal_prefix(s, rules, program, drid, rules[s].product_root)
                for s in rule.source_rules
            ]
            return out + os.path.commonprefix(roots)
        else:
            return out
    return out


def _name_shape(
    name: str, rules: dict[str, Rule], program: object, drid: str, template: str | None = None
) -> str:
    """A regular expression every product name of rule ``name`` in ``program``
    matches: its literal text, the program, the sky cell's name, anything else."""
    rule = rules[name]
    out = ""
    for literal, field_name, spec, conversion in _pieces(template or rule.product_name):
        out += re.escape(literal)
        if field_name is None:
            continue
        if field_name == "program":
            out += re.escape(_rendered_program(program, spec))
        elif field_name == "drid":
            out += re.escape(drid if conversion == "s" else drid.lower())
        elif field_name == rule.skycell_column:
            out += SKYCELL_NAME
        elif field_name == "product_root" and rule.second_stage:
            roots = [
                _name_shape(s, rules, program, drid, rules[s].product_root)
                for s in rule.source_rules
            ]
            out += "(?:" + "|".join(roots) + ")"
        else:
            out += ".*"
    return out


__all__ = ["Joined", "RowExplanation", "explain", "explain_row", "find_rows", "near_rows"]


def near_rows(table: pl.DataFrame, row: int) -> pl.Series:
    """The rows of ``table`` whose footprint may share a sky cell with the row's.

    Two footprints touching one cell are within that cell's width of each other, so
    their caps' centres are at most the two radii plus the cell's diagonal apart; the
    margin used (twice the matcher's MARGIN_DEG, 0.23 deg) is more than twice that
    diagonal (0.11 deg). Rows with all four corners are measured from them (as the
    sky-cell hook uses them first); the others through the hook's own footprints."""
    from roman_asn.generator.skycell_rules import has_footprint_columns
    from roman_asn.skycells import footprints_from_table
    from roman_asn.skycells.footprints import DEC_CORNERS, RA_CORNERS
    from roman_asn.skycells.lookup import MARGIN_DEG, footprint_caps

    if not has_footprint_columns(table.columns):
        return _one(row)
    ra, dec, _ = footprints_from_table(table.filter(pl.col(ROW_COLUMN) == row))
    c_ra, c_dec, radius = (float(x[0]) for x in footprint_caps(ra, dec))
    if not np.isfinite(radius):
        return _one(row)
    lower = {c.lower(): c for c in table.columns}
    n = table.height
    centre_ra, centre_dec, radii = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    corners = np.zeros(n, dtype=bool)
    if all(c in lower for c in (*RA_CORNERS, *DEC_CORNERS)):

        def floats(names: tuple[str, ...]) -> np.ndarray:
            columns = [pl.col(lower[c]).cast(pl.Float64, strict=False) for c in names]
            return table.select(columns).fill_null(np.nan).to_numpy()

        cr, cd = floats(RA_CORNERS), floats(DEC_CORNERS)
        corners = np.all(np.isfinite(cr) & np.isfinite(cd), axis=1)
        caps = footprint_caps(cr[corners], cd[corners])
        centre_ra[corners], centre_dec[corners], radii[corners] = caps
    if not corners.all():
        rest = np.flatnonzero(~corners)
        ra, dec, _ = footprints_from_table(table[rest])
        centre_ra[rest], centre_dec[rest], radii[rest] = footprint_caps(ra, dec)
    separation = _separation(c_ra, c_dec, centre_ra, centre_dec)
    near = separation <= radius + radii + 2 * MARGIN_DEG + 1e-6
    rows = table[ROW_COLUMN].filter(pl.Series(near))
    return pl.concat([rows, _one(row)]).unique().sort()


def _separation(ra0: float, dec0: float, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Angles (deg) from one point to many (NaN where the point is NaN)."""
    r0, d0, r, d = np.radians(ra0), np.radians(dec0), np.radians(ra), np.radians(dec)
    cos = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(r - r0)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
