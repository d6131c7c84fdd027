"""``explain``: which associations one pool row joined, and why not the others.

A program's associations depend only on its rows (see the engine), and an
association's members only on its group. So explain reads the row's program only
and builds:

1. exactly, with the engine, every association of a group the row is in: each rule
   is given only the rows sharing a group key with the row; the sky-cell rules the
   rows whose footprints may touch one of the row's sky cells (:func:`_near_predicate`
   in the scan, then :func:`_near_mask`), and only the groups at those cells are kept;
2. for every other group of the program's other rules, the association's keys and
   names, and where two could be identical (same type and product key) the count of
   its distinct members (:func:`_settle_duplicates` proves them equal or gathers
   them): enough for discovered ids, duplicates, clashing names and sequence
   numbers. Candidate associations identical to nothing only move sequence numbers
   (:func:`_with_the_rest`). The sky-cell rules' other groups are not built at all:
   they have fixed ids and names that hold their sky cell, which
   :func:`_fallback_reason` checks cannot touch the row's answer.

The engine's own finalize step then runs on both together. Where the shortcut
cannot be proved exact for this row (a product-name clash, too many members to
compare, a name that could be a sky-cell product's), the program is generated
whole instead and the explanation says so in its ``notes``.
"""

from __future__ import annotations

import os.path
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from roman_asn.generator.candidates import candidate_id_lists
from roman_asn.generator.checks import derivation_reasons
from roman_asn.generator.engine import (
    NAMELESS,
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
from roman_asn.generator.naming import ACID_PLACEHOLDER, asn_file_name
from roman_asn.generator.options import GenerateOptions
from roman_asn.pool import Pool
from roman_asn.pool.columns import ROW_COLUMN
from roman_asn.pool.subset import PoolRows, Predicate
from roman_asn.rules.hooks import expanders
from roman_asn.rules.loader import Rule

# The expand hook of the sky-cell rules (roman_asn.generator.skycell_rules).
SKYCELL_HOOK = "skycells"
SKYCELL_NAME = r"\d{3}[pm]\d{2}x\d{2}y\d{2}"  # a sky cell's name (270p65x48y69)
# at most this many members are gathered to tell possible duplicates apart
MAX_GATHERED = 2_000_000


@dataclass
class Joined:
    file_name: str
    rule: str
    asn_type: str
    asn_id: str
    product_name: str
    # the group's values (the association's constraints): what the row shares with
    # every other member
    constraints: str = ""
    # how the row's value of each derived group column came about ([[rule.derive]])
    derived: list[str] = field(default_factory=list)


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
    """The story of every row ``spec`` names (see :func:`find_rows`)."""
    source = pool if isinstance(pool, PoolRows) else PoolRows.of_pool(pool)
    return explain_rows(source, rules, options, source.find(spec), whole=whole)


def explain_rows(
    source: PoolRows,
    rules: list[Rule],
    options: GenerateOptions,
    rows: list[int],
    *,
    whole: bool = False,
) -> list[RowExplanation]:
    """The stories of pool rows ``rows``, each computed from the groups it can touch;
    ``whole``: from one run over the whole pool instead (slow; what the scoped answer
    must equal)."""
    if not whole:
        return [explain_row(source, rules, options, row) for row in rows]
    table = source.all_rows(pool_columns(rules))
    result = generate(table, rules, options)
    return [
        _story(table, row, source.where(row), _reasons_only(table, rules, row), result)
        for row in rows
    ]


def pool_columns(rules: list[Rule]) -> set[str]:
    """The pool columns the rules (and their expand hooks) can read."""
    wanted = {"filename", "program", "visit_id", "detector", "candidates", "exposerr", "target"}
    hooks = expanders()
    for rule in rules:
        wanted.update(rule.keys, rule.required, rule.fields, rule.fill_missing)
        wanted.update(rule.derived_inputs)
        wanted.add(rule.target_column)
        wanted.update(c for s in rule.selections for c in s.columns)
        if rule.expand:
            wanted.update(hooks[rule.expand].inputs)
    return wanted


def explain_row(
    source: PoolRows, rules: list[Rule], options: GenerateOptions, row: int
) -> RowExplanation:
    """The story of pool row ``row`` of ``source``."""
    columns = pool_columns(rules)
    record = source.rows([row], columns)
    program = record["program"][0] if "program" in record.columns else None
    spatial = [r for r in rules if r.expand == SKYCELL_HOOK and not r.second_stage]
    plain_columns = pool_columns([r for r in rules if r not in spatial and not r.second_stage])
    table = source.program_rows(program, plain_columns)
    near = record
    if spatial:
        cells = _cell_caps(record)
        if len(cells):
            # read the rows near all the cells, then keep those near one
            near = source.program_rows(program, columns, _near_predicate(_enclosing(cells)))
            near = near.filter(_near_mask(near, cells) | (pl.col(ROW_COLUMN) == row))
        extra = [c for c in near.columns if c not in table.columns]
        if extra:
            table = table.join(near.select(ROW_COLUMN, *extra), on=ROW_COLUMN, how="left")
    scoped = _scoped(table, rules, options, row, near[ROW_COLUMN].unique().sort())
    where = source.where(row)
    if isinstance(scoped, str):
        table = source.program_rows(program, columns)
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
    from roman_asn.generator.writer import check_file_names

    check_file_names(joined)  # names generate would refuse are refused here too
    by_name = {r.name: r for r in result.rules}
    for item in joined.select(
        "file_name", "rule", "asn_type", "asn_id", "product_name", "constraints"
    ).iter_rows():
        story.joined.append(Joined(*item, derived=_derivations(prepared, by_name[item[1]], row)))
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
    if not (record["filename"] or "").strip():  # as the orphan report says it
        story.filename = "(no file name)"
        story.not_joined = [(rule, NAMELESS) for rule, _ in story.not_joined]
    return story


def _derivations(prepared: Prepared, rule: Rule, row: int) -> list[str]:
    """How the row's values of the rule's derived group columns came about."""
    if not rule.derive or rule.expand not in prepared.frames:
        return []
    frame = prepared.frames[rule.expand].filter(pl.col(ROW_COLUMN) == row)
    return derivation_reasons(rule, frame)["reason"].unique(maintain_order=True).to_list()


def _one(row: int) -> pl.Series:
    return pl.Series(ROW_COLUMN, [row], dtype=pl.UInt32)


def _scoped(
    table: pl.DataFrame, rules: list[Rule], options: GenerateOptions, row: int, near: pl.Series
) -> tuple[Prepared, GenerationResult] | str:
    """(prepared, result) with the row's associations and drops as the full run has
    them, or why that cannot be done here. ``table``: the program's rows (footprints
    only where ``near``: the rows that may share a sky cell with the row)."""
    spatial = [r for r in rules if r.expand == SKYCELL_HOOK and not r.second_stage]
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
    rule_rows_of = {}
    for rule in plain:
        # an `each` rule's member names are counted below: make them once
        counted = rule.candidates == "each"
        rows = rule_rows(rule, prepared.frames[rule.expand], options, members=counted)
        group = ["asn_type", *rule.keys]
        own = rows.filter(pl.col(ROW_COLUMN) == row).select(group).unique()
        mates = rows.join(own, on=group, how="semi")[ROW_COLUMN]
        rows_by_rule[rule.name] = pl.concat([mates, _one(row)]).unique()
        rule_rows_of[rule.name] = rows
    cells: list[str] = []
    if SKYCELL_HOOK in prepared.frames:
        # groups away from the row's cells are not wanted (and incomplete)
        frame = prepared.frames[SKYCELL_HOOK]
        if "skycell" in frame.columns:
            mine = frame.filter(pl.col(ROW_COLUMN) == row)
            cells = mine["skycell"].drop_nulls().unique().to_list()
            wanted = pl.col("skycell").is_in(cells) | (pl.col(ROW_COLUMN) == row)
            prepared.frames[SKYCELL_HOOK] = frame.filter(wanted)
    exact = undeduplicated_associations(prepared, options, rows_by_rule)
    exact = exact.filter(
        pl.col("rows").list.contains(row)
        | (pl.col("rule").is_in(list(sky)) & pl.col("skycell").is_in(cells))
    )
    # exact ones carry their members (and their count, as the others' fingerprint)
    exact = exact.drop("idx").with_columns(
        pl.col("members")
        .list.eval(_fingerprint(pl.element().drop_nulls()))
        .list.first()
        .alias("__fp"),
        pl.lit(None, dtype=pl.UInt32).alias("__k"),
        pl.lit(True).alias("__built"),
    )
    # 2. every other group of the program, by its keys
    identity = ["rule", "asn_type", "constraints", "acid"]
    same = ["program", "asn_type", "product_key"]
    with_members: dict[str, pl.DataFrame] = {}

    def member_rows(rule: Rule) -> pl.DataFrame:
        if "member" in rule_rows_of[rule.name].columns:
            return rule_rows_of[rule.name]
        if rule.name not in with_members:
            frame = prepared.frames[rule.expand]
            with_members[rule.name] = rule_rows(rule, frame, options)
        return with_members[rule.name]

    # an `each` rule's discovered and candidate associations of one group share a
    # product key: count their members at once
    built = {
        r.name: _key_level(r, prepared, member_rows(r), options, members=True)
        if r.candidates == "each"
        else _key_level(r, prepared, rule_rows_of[r.name], options)
        for r in plain
    }
    keys_of = {name: keys for name, (_, keys) in built.items()}
    parts = [frame for frame, _ in built.values()]
    others = pl.concat(parts, how="vertical") if parts else exact.head(0).drop("__built")
    others = others.join(exact.select(identity), on=identity, how="anti", nulls_equal=True)
    # those that may be identical to another need their members' count
    keys = pl.concat([exact.select(same), others.select(same)], how="vertical")
    shared = keys.filter(pl.len().over(same) > 1).unique().with_columns(pl.lit(True).alias("__s"))
    others = others.join(shared, on=same, how="left", nulls_equal=True)
    for rule in plain:
        if rule.candidates == "each":
            continue
        if others.filter((pl.col("rule") == rule.name) & pl.col("__s")).height:
            rows = member_rows(rule)
            counted, keys_of[rule.name] = _key_level(rule, prepared, rows, options, members=True)
            counted = counted.join(
                exact.select(identity), on=identity, how="anti", nulls_equal=True
            )
            others = pl.concat(
                [
                    others.filter(pl.col("rule") != rule.name),
                    counted.join(shared, on=same, how="left", nulls_equal=True),
                ],
                how="vertical",
            )
    # discovered ones are numbered together; fixed-id rules share ids with them
    fixed = [r.name for r in plain if r.asn_id]
    context = (
        pl.col("acid").is_null() | pl.col("rule").is_in(fixed) | pl.col("__s").fill_null(False)
    )
    rest = others.filter(~context).drop("__s")
    combined = pl.concat(
        [exact, others.filter(context).drop("__s").with_columns(pl.lit(False).alias("__built"))],
        how="vertical",
    )
    combined = _settle_duplicates(combined, by_name, options, member_rows, keys_of)
    if isinstance(combined, str):
        return combined
    combined = combined.drop("__fp", "__k", "__built").with_row_index("idx")
    associations, dropped = finalize(combined, rules, options)
    why = _fallback_reason(associations, dropped, combined, rest, by_name, sky, row, options)
    if why:
        return why
    associations, dropped = _with_the_rest(associations, dropped, rest, by_name, options)
    return prepared, GenerationResult(
        associations, dropped, dropped.head(0), options, "none", rules, table.height
    )


def _with_the_rest(
    associations: pl.DataFrame,
    dropped: pl.DataFrame,
    rest: pl.DataFrame,
    rules: dict[str, Rule],
    options: GenerateOptions,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """File names counting the associations left out of the finalize step: candidate
    associations identical to nothing, each kept (when written) under its own name,
    which only moves the sequence numbers of the DMS file names of its id and type."""
    dms = [n for n, r in rules.items() if r.asn_file_name == "dms"]
    written = rest.filter(pl.col("emit")).select(
        "program", pl.col("acid").alias("asn_id"), "asn_type", pl.col("product_name").alias("__n")
    )
    if written.height == 0 or associations.height == 0:
        return associations, dropped
    numbered = associations.with_row_index("__i").filter(pl.col("rule").is_in(dms))
    class_ = ["program", "asn_id", "asn_type"]
    sequence = pl.col("product_name").rank("ordinal").over(class_)
    before = (
        numbered.select("__i", *class_, "product_name")
        .join(written, on=class_, how="inner")
        .filter(pl.col("__n") < pl.col("product_name"))
        .group_by("__i")
        .agg(pl.len().alias("__before"))
    )
    numbered = numbered.with_columns(sequence.alias("sequence")).join(before, on="__i", how="left")
    numbered = numbered.with_columns(
        (pl.col("sequence") + pl.col("__before").fill_null(0)).alias("sequence")
    ).with_columns(asn_file_name(options.version_id).alias("__file"))
    renamed = dict(zip(numbered["file_name"].to_list(), numbered["__file"].to_list(), strict=True))
    renamed = {old: new for old, new in renamed.items() if old != new}
    if not renamed:
        return associations, dropped
    mapping = pl.col("file_name").replace(renamed)
    associations = associations.with_columns(mapping).sort("file_name")
    old = pl.col("duplicate_of")
    new = old.replace(renamed)
    dropped = dropped.with_columns(
        new.alias("duplicate_of"),
        pl.when(old.is_in(list(renamed)))
        .then(pl.concat_str([pl.lit("dropped as duplicate of "), new]))
        .otherwise(pl.col("reason"))
        .alias("reason"),
    )
    return associations, dropped


def _key_level(
    rule: Rule,
    prepared: Prepared,
    rows: pl.DataFrame,
    options: GenerateOptions,
    *,
    members: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The association frame of every group of ``rule`` in ``rows`` (its
    :func:`rule_rows`), without members and rows, each numbered ``__k`` (and with
    ``__fp``, the count of distinct members, if ``members``); and the group values
    and id of each ``__k``. A group makes one association per id its rows carry (the
    engine's candidate split): exploding each row's ids and grouping by (keys, id)
    gives the same."""
    ids, emit_ids = candidate_id_lists(rule, options)
    group = ["asn_type", *rule.keys]
    # the name fields (not the target: these associations are not written)
    columns = prepared.frames[rule.expand].columns
    extras = [f for f in name_fields(rule, columns) if f in rule.fields]
    member = ["member"] if members else []
    ids = ids.list.unique(maintain_order=True)  # an id listed twice makes one association
    pairs = rows.select(*group, *extras, *member, ids.alias("acid")).explode("acid")
    if "file" in rule.keys and not rows.select(pl.col("file").is_duplicated().any()).item():
        # one row per group (the engine's single-row groups): nothing to group
        groups = pairs.with_columns(pl.lit("1" if members else None, dtype=pl.Utf8).alias("__fp"))
    else:
        printed = _fingerprint(pl.col("member")) if members else pl.lit(None, pl.Utf8)
        groups = pairs.group_by([*group, "acid"]).agg(
            printed.alias("__fp"), *[pl.col(f).drop_nulls().min() for f in extras]
        )
    groups = groups.with_columns(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("__k"),
        (pl.col("acid").is_null() | pl.lit(emit_ids)).alias("emit"),
        pl.lit([None], dtype=pl.List(pl.Utf8)).alias("members"),
        pl.lit([None], dtype=pl.List(pl.Utf8)).alias("exposerr"),
        pl.lit([], dtype=pl.List(pl.UInt32)).alias("rows"),
    )
    frame = association_frame(rule, prepared.order[rule.name], groups, options)
    return frame.with_columns(groups["__fp"], groups["__k"]), groups.select("__k", *group, "acid")


def _fingerprint(members: pl.Expr) -> pl.Expr:
    """The number of distinct member names, as text (see :func:`_settle_duplicates`)."""
    return members.n_unique().cast(pl.Utf8)


def _settle_duplicates(
    combined: pl.DataFrame,
    rules: dict[str, Rule],
    options: GenerateOptions,
    member_rows: Callable[[Rule], pl.DataFrame],
    keys_of: dict[str, pl.DataFrame],
) -> pl.DataFrame | str:
    """Members that let the engine's duplicate check decide as the full run would.

    Associations built exactly carry theirs; the others stand for theirs by a token
    of their count, unique to them unless another of the same program, type and
    product key has the same count. Such a set is settled: in one group of an
    ``each`` rule with discovery on, the discovered association holds every row of
    the group and so the members of the candidate ones, and equal counts mean equal
    sets (all get the same members); otherwise the members are gathered, if they
    are not too many."""
    identity = ["program", "asn_type", "product_key", "__fp"]
    token = pl.concat_list(pl.lit("\x00") + pl.col("__fp"))
    combined = combined.with_columns(
        pl.when(pl.col("__built")).then(pl.col("members")).otherwise(token).alias("members"),
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("__i"),
    )
    shared = combined.filter(pl.col("__fp").is_not_null() & (pl.len().over(identity) > 1))
    if shared.height == 0:
        return combined.drop("__i")
    suffix = pl.col("constraints").str.len_chars() - pl.col("acid").str.len_chars() - 16
    group = (
        pl.when(pl.col("acid").is_null())
        .then(pl.col("constraints"))
        .otherwise(pl.col("constraints").str.head(suffix))
    )
    discovering = [n for n, r in rules.items() if r.candidates == "each" and options.discover]
    one_group = (
        (pl.col("rule").n_unique() == 1)
        & (group.n_unique() == 1)
        & pl.col("acid").is_null().any()
        & pl.col("rule").first().is_in(discovering)
    )
    shared = shared.with_columns(one_group.over(identity).alias("__one"))
    # one group: every association of the set gets the members of a built one, if any
    settled = shared.filter(pl.col("__one")).with_columns(
        pl.col("members").sort_by(~pl.col("__built")).first().over(identity).alias("members")
    )
    gather = shared.filter(~pl.col("__one") & ~pl.col("__built"))
    if (gather.select(pl.col("__fp").cast(pl.Int64).sum()).item() or 0) > MAX_GATHERED:
        return "too many members to compare for possible duplicates"
    gathered = [settled.select("__i", "members")]
    for name, wanted in gather.group_by("rule"):
        rule = rules[name[0]]
        real = _members_of(rule, member_rows(rule), options, keys_of[rule.name], wanted["__k"])
        gathered.append(wanted.select("__i", "__k").join(real, on="__k").select("__i", "members"))
    replaced = pl.concat(gathered, how="vertical")
    combined = combined.join(replaced, on="__i", how="left", suffix="_new")
    return combined.with_columns(pl.coalesce("members_new", "members").alias("members")).drop(
        "members_new", "__i"
    )


def _members_of(
    rule: Rule, rows: pl.DataFrame, options: GenerateOptions, keys: pl.DataFrame, wanted: pl.Series
) -> pl.DataFrame:
    """(__k, members): the sorted distinct members of the groups ``wanted`` of ``rule``
    in ``rows`` (its rule rows; ``keys``: group values and id, from :func:`_key_level`)."""
    ids, _ = candidate_id_lists(rule, options)
    group = ["asn_type", *rule.keys]
    keys = keys.filter(pl.col("__k").is_in(wanted.implode()))
    rows = rows.join(keys.select(group).unique(), on=group, how="semi", nulls_equal=True)
    pairs = rows.select(*group, "member", ids.alias("acid")).explode("acid")
    pairs = pairs.join(keys, on=[*group, "acid"], how="inner", nulls_equal=True)
    return pairs.group_by("__k").agg(pl.col("member").unique().sort().alias("members"))


def _fallback_reason(
    associations: pl.DataFrame,
    dropped: pl.DataFrame,
    combined: pl.DataFrame,
    rest: pl.DataFrame,
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
    # the associations left out are kept under their own names: no name may repeat
    written = rest.filter(pl.col("emit")).select("program", "product_name")
    names = pl.concat([written, associations.select("program", "product_name")])
    if names.is_duplicated().any():
        return "a product-name clash in the program"
    if not sky:
        return None
    drid = options.data_release_id
    program = combined["program"].drop_nulls().first()
    shapes = [_name_shape(name, rules, program, drid) for name in sorted(sky)]
    full = "^(?s:" + "|".join(f"(?:{shape})" for shape in shapes) + ")$"
    plain = combined.filter(~pl.col("rule").is_in(list(sky)))
    written = associations.filter(~pl.col("rule").is_in(list(sky)))
    names = pl.concat(
        [plain["product_key"], written["product_name"], rest["product_key"], rest["product_name"]]
    )
    if names.str.contains(full).any():
        return "a product name that could also be a sky-cell product's"
    wrong = _foreign_cell_names(combined.filter(pl.col("rule").is_in(list(sky))))
    if wrong:
        return f"sky-cell product name {wrong[0]} holds another sky cell's name"
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


def _foreign_cell_names(products: pl.DataFrame) -> list[str]:
    """The ``product_key`` values of ``products`` that hold a sky-cell name other than
    their row's ``skycell`` (or none at all), overlapping names included.

    Every cell name starts with three digits and p or m, and two such starts never
    overlap: where each of them begins an occurrence of the row's own (well-formed) cell
    name, the name holds that one only (the common case, in one pass); the rest are searched
    one by one."""
    key = pl.col("product_key")
    own = key.str.count_matches(pl.col("skycell"), literal=True)
    certain = (
        pl.col("skycell").str.contains(f"^{SKYCELL_NAME}$")
        & (own >= 1)
        & (key.str.count_matches(r"\d{3}[pm]") == own)
    ).fill_null(False)
    cell = re.compile(f"(?=({SKYCELL_NAME}))")
    return [
        name
        for name, skycell in products.filter(~certain).select("product_key", "skycell").iter_rows()
        if {m.group(1) for m in cell.finditer(name)} != {skycell}
    ]


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


__all__ = ["Joined", "RowExplanation", "explain", "explain_row", "explain_rows", "find_rows"]


def _cell_caps(record: pl.DataFrame) -> np.ndarray:
    """(n, 3): centre RA, centre Dec and radius (deg) of a cap holding each sky cell
    the row's footprint touches, as the sky-cell hook finds them (none without)."""
    from roman_asn.generator.skycell_rules import SKYCELL_COLUMN, has_footprint_columns, skycells
    from roman_asn.skycells.lookup import footprint_caps
    from roman_asn.skycells.skymap import get_skymap

    if not has_footprint_columns(record.columns):
        return np.zeros((0, 3))
    names = skycells(record)[SKYCELL_COLUMN].drop_nulls().unique().to_list()
    if not names:
        return np.zeros((0, 3))
    skymap = get_skymap()
    cells = skymap.records([skymap.index_of(name) for name in names])
    ra = np.stack([cells[f"ra_corn{i}"] for i in range(1, 5)], axis=1)
    dec = np.stack([cells[f"dec_corn{i}"] for i in range(1, 5)], axis=1)
    return np.stack(footprint_caps(ra, dec), axis=1)


def _enclosing(caps: np.ndarray) -> np.ndarray:
    """(1, 3): a cap holding every cap of ``caps`` (centre at their mean)."""
    from roman_asn.skycells.lookup import footprint_caps

    c_ra, c_dec, _ = footprint_caps(caps[None, :, 0], caps[None, :, 1])
    reach = _separation(float(c_ra[0]), float(c_dec[0]), caps[:, 0], caps[:, 1]) + caps[:, 2]
    return np.array([[float(c_ra[0]), float(c_dec[0]), float(reach.max())]])


# A cell (the square between its corners, edges great circles) lies in the cap of its
# corners; a footprint touching it comes within the cap's radius of its centre. The
# margin (over 300 pixels) covers rounding and the matcher's border-inclusive test.
_MARGIN_DEG = 0.005


def _near_predicate(cells: np.ndarray) -> Predicate:
    """A cheap filter every row whose footprint may touch one of ``cells`` passes
    (rows without all four corners pass: the hook measures them another way).

    A footprint touching a cell has a point within the cell's radius of its centre,
    and its first corner is within its diameter of that point; the diameter is at
    most ``span``, the largest |dDec| + |dRA| between two corners. So the first corner
    lies within ``bound`` = radius + span of the cell's centre, which bounds its Dec
    difference and, by the haversine formula
    (sin^2(d/2) >= cos(dec1) cos(dec2) sin^2(dRA/2)), its RA difference."""
    from roman_asn.skycells.footprints import DEC_CORNERS, RA_CORNERS

    def ra_gap(a: pl.Expr, b: pl.Expr | float) -> pl.Expr:
        gap = (a - b).abs() % 360.0
        return pl.min_horizontal(gap, 360.0 - gap)

    def predicate(column) -> pl.Expr:
        found = [column(c) for c in (*RA_CORNERS, *DEC_CORNERS)]
        if any(c is None for c in found):
            return pl.lit(True)
        values = [c.cast(pl.Float64, strict=False) for c in found]
        ra, dec = values[:4], values[4:]
        complete = pl.all_horizontal([v.is_not_null() & v.is_finite() for v in values])
        span = pl.max_horizontal(
            [
                (dec[i] - dec[j]).abs() + ra_gap(ra[i], ra[j])
                for i in range(4)
                for j in range(i + 1, 4)
            ]
        )
        near = pl.lit(False)
        for c_ra, c_dec, radius in cells.tolist():
            bound = radius + _MARGIN_DEG + span
            theta = pl.max_horizontal(dec[0].abs(), pl.lit(abs(c_dec))).radians()
            half = (bound.clip(upper_bound=180.0) / 2).radians()
            gap = (ra_gap(ra[0], c_ra) / 2).radians()
            near = near | (
                ((dec[0] - c_dec).abs() <= bound)
                & ((bound >= 180.0) | (theta.cos() * gap.sin() <= half.sin() + 1e-12))
            )
        return ~complete.fill_null(False) | near.fill_null(True)

    return predicate


def _near_mask(table: pl.DataFrame, cells: np.ndarray) -> pl.Series:
    """Rows of ``table`` whose footprint cap meets the cap of one of ``cells`` (a
    footprint touching a cell does). Rows with all four corners are measured from
    them (the hook uses them first), the others through the hook's own footprints."""
    from roman_asn.skycells import footprints_from_table
    from roman_asn.skycells.footprints import DEC_CORNERS, RA_CORNERS
    from roman_asn.skycells.lookup import footprint_caps

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
    near = np.zeros(n, dtype=bool)
    for c_ra, c_dec, radius in cells.tolist():
        separation = _separation(c_ra, c_dec, centre_ra, centre_dec)
        near |= separation <= radius + radii + _MARGIN_DEG
    return pl.Series(near)


def _separation(ra0: float, dec0: float, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Angles (deg) from one point to many (NaN where the point is NaN)."""
    r0, d0, r, d = np.radians(ra0), np.radians(dec0), np.radians(ra), np.radians(dec)
    cos = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(r - r0)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
