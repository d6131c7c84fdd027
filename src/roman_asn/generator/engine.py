"""The association engine: a pure function from a pool table and rules to associations.

``generate(pool_or_table, rules, options)`` groups rows with polars group-bys (no
row x association matching), drops identical associations, assigns discovered
ids, names products and files, and lists orphans with reasons. It writes nothing
(see :mod:`roman_asn.generator.writer`) and depends only on the rows of one
program for that program's output, so a caller may run it per program partition
and concatenate the results (:meth:`GenerationResult.concat`): the files are the
same as one run over the whole pool.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from roman_asn.errors import RomanAsnError
from roman_asn.generator.candidates import candidate_id_lists, mark_duplicates
from roman_asn.generator.checks import first_failure, passes, rule_checks, with_derived
from roman_asn.generator.naming import (
    ACID_PLACEHOLDER,
    UNSAFE_PRODUCT_NAME,
    asn_file_name,
    discovered_constraints,
    discovered_ids,
    render,
    unsafe_product_name,
)
from roman_asn.generator.options import GenerateOptions
from roman_asn.pool import Pool
from roman_asn.pool.columns import CANDIDATE_DTYPE, ROW_COLUMN
from roman_asn.rules.hooks import (
    EXPAND_FAILURE,
    ExpanderSkip,
    expanders,
    identity_files,
    member_name,
    with_file_fields,
)
from roman_asn.rules.loader import Rule

GROUP_SEPARATOR = "\x1f"

# The orphans frame: pool row, file name, text line (null for other formats), reasons.
ORPHAN_SCHEMA = {
    ROW_COLUMN: pl.UInt32,
    "filename": pl.Utf8,
    "line": pl.Int64,
    "reasons": pl.List(pl.Utf8),
}

# Columns every association frame has, in this order.
ASSOCIATION_COLUMNS = (
    "file_name",
    "rule",
    "level",
    "asn_type",
    "program",
    "asn_id",
    "product_name",
    "target",
    "skycell",
    "constraints",
    "exptype",
    "members",
    "exposerr",
    "degraded",
    "rows",
    "group",
    "product_template",
)
_OPTIONAL_COLUMNS = {
    "candidates": CANDIDATE_DTYPE,
    "exposerr": pl.Utf8,
    "target": pl.Utf8,
    "detector": pl.Utf8,
}


# the one reason of a row that names no file (orphan report and explain)
NAMELESS = "no file name: the filename is empty or NULL, so no association can list it"


def drop_reasons(dropped: pl.DataFrame) -> Counter:
    """How many of the ``dropped`` associations went, by reason (the text before " of ")."""
    reasons = dropped["reason"].str.split(" of ").list.first()
    return Counter(dict(reasons.value_counts().iter_rows()))


@dataclass
class GenerationResult:
    """Associations (one row each), dropped duplicates, orphans, and counts.

    ``associations`` columns: see ASSOCIATION_COLUMNS (``rows`` are the pool rows
    that made it). ``dropped``: rule, asn_type, program, asn_id, product_name,
    rows, duplicate_of (file name or null), reason. ``orphans``: pool_row,
    filename, reasons (list of text).
    """

    associations: pl.DataFrame
    dropped: pl.DataFrame
    orphans: pl.DataFrame
    options: GenerateOptions
    asn_pool: str
    rules: list[Rule]
    n_rows: int
    skipped_rules: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def drop_reasons(self) -> Counter:
        """How many associations were not written, by reason (the text before " of ")."""
        return drop_reasons(self.dropped)

    def asn_ids(self) -> set[str]:
        """Every asn_id the run wrote."""
        return set(self.associations["asn_id"].to_list())

    @property
    def rows_used(self) -> int:
        return self.n_rows - self.orphans.height

    def counts(self) -> list[tuple[str, str, int]]:
        """(rule, asn_type, number of associations), in rule order."""
        order = {rule.name: i for i, rule in enumerate(self.rules)}
        counted = Counter(
            zip(
                self.associations["rule"].to_list(),
                self.associations["asn_type"].to_list(),
                strict=True,
            )
        )
        return sorted(
            ((r, t, n) for (r, t), n in counted.items()), key=lambda x: (order.get(x[0], 99), x[1])
        )

    @classmethod
    def concat(cls, parts: list[GenerationResult]) -> GenerationResult:
        """Join results of runs over disjoint program partitions of one pool."""
        if not parts:
            raise ValueError("no results to concatenate")
        first = parts[0]
        skipped: dict[str, str] = {}
        for part in parts:
            skipped.update(part.skipped_rules)
        return cls(
            associations=pl.concat([p.associations for p in parts]).sort("file_name"),
            dropped=pl.concat([p.dropped for p in parts]),
            orphans=pl.concat([p.orphans for p in parts]).sort(ROW_COLUMN),
            options=first.options,
            asn_pool=first.asn_pool,
            rules=first.rules,
            n_rows=sum(p.n_rows for p in parts),
            skipped_rules=skipped,
            notes=list(dict.fromkeys(n for p in parts for n in p.notes)),
            seconds=sum(p.seconds for p in parts),
        )


@dataclass
class Prepared:
    """The pool expanded once per hook, and which rules can run on it."""

    table: pl.DataFrame
    frames: dict[str | None, pl.DataFrame]
    runnable: list[Rule]
    skipped: dict[str, str]
    order: dict[str, int]
    notes: list[str] = field(default_factory=list)  # e.g. sky-cell rules skipped, and why
    # each hook's own output, before file fields (``prepare(keep_made=True)``)
    made: dict[str, pl.DataFrame] = field(default_factory=dict)

    @property
    def row_rules(self) -> list[Rule]:
        """First stage: the rules grouping (expanded) pool rows."""
        return [r for r in self.runnable if not r.second_stage]

    @property
    def product_rules(self) -> list[Rule]:
        """Second stage: the rules grouping the products of row rules."""
        return [r for r in self.runnable if r.second_stage]


# Columns every expanded frame keeps (besides those the rules name).
_BASE_COLUMNS = (ROW_COLUMN, "filename", "exposerr", "candidates", "target")


def _frame_columns(table: pl.DataFrame, rules: list[Rule], expand: str | None) -> list[str]:
    """The pool columns the rules using ``expand`` read: the expander is given only
    those (a sky-cell expansion repeats every row per cell)."""
    wanted: dict[str, None] = dict.fromkeys(_BASE_COLUMNS)
    for rule in rules:
        if rule.expand == expand:
            wanted.update(dict.fromkeys(rule.required))
            wanted.update(dict.fromkeys(c for s in rule.selections for c in s.columns))
            wanted.update(dict.fromkeys(rule.derived_inputs))
            wanted.update(dict.fromkeys(rule.fields))
            wanted[rule.target_column] = None
    if expand:
        wanted.update(dict.fromkeys(expanders()[expand].inputs))
    lower = {c.lower(): c for c in table.columns}
    return [lower[c.lower()] for c in wanted if c.lower() in lower]


def with_rule_columns(table: pl.DataFrame, rules: list[Rule]) -> pl.DataFrame:
    """The table with the optional columns rules read (null or empty where absent)."""
    additions = [
        pl.lit(None if dtype != CANDIDATE_DTYPE else [], dtype=dtype).alias(name)
        for name, dtype in _OPTIONAL_COLUMNS.items()
        if name not in table.columns
    ]
    # a selection on several columns holds when any holds: absent ones are just null
    for rule in rules:
        for selection in rule.selections:
            present = [c for c in selection.columns if c in table.columns]
            if present and len(present) < len(selection.columns):
                additions += [
                    pl.lit(None, dtype=pl.Utf8).alias(c)
                    for c in selection.columns
                    if c not in table.columns and c not in {a.meta.output_name() for a in additions}
                ]
    if additions:
        table = table.with_columns(additions)
    return table


def prepare(
    table: pl.DataFrame,
    rules: list[Rule],
    rows_by_rule: Mapping[str, pl.Series] | None = None,
    *,
    expanded: Mapping[str | None, pl.DataFrame] | None = None,
    made_before: Mapping[str, pl.DataFrame] | None = None,
    keep_made: bool = False,
    require_runnable: bool = True,
) -> Prepared:
    """Add the optional columns rules read, expand rows per hook, find unusable rules.

    ``rows_by_rule``: expand only the pool rows some rule of each hook is given.
    ``expanded``: frames a hook already made (the sky-cell units), used as they are.
    ``made_before``: a hook's output for some rows of this table (numbered as here):
    only the other rows are expanded (hooks expand row by row, keeping row order).
    ``keep_made``: keep each hook's output (``Prepared.made``) for such a later use.
    ``require_runnable``: raise when no rule can run (else return none runnable)."""
    table = with_rule_columns(table, rules)
    # grouping relies on (file, pool_row) order: see _rule_groups
    ordered = _in_file_order(table, "filename")
    frames: dict[str | None, pl.DataFrame] = {}
    unusable: dict[str | None, str] = {}
    notes: list[str] = []
    kept: dict[str, pl.DataFrame] = {}
    runnable, skipped = [], {}
    for rule in rules:
        if rule.second_stage:
            continue
        if rule.expand not in frames and rule.expand not in unusable:
            hook = expanders()[rule.expand] if rule.expand else None
            expand = hook or identity_files
            fields = {f for r in rules if r.expand == rule.expand for f in r.fields}
            narrow = ordered.select(_frame_columns(ordered, rules, rule.expand))
            if rows_by_rule is not None:
                wanted = [rows_by_rule.get(r.name) for r in rules if r.expand == rule.expand]
                if all(w is not None for w in wanted):
                    union = pl.concat(wanted).unique() if wanted else pl.Series([], dtype=pl.UInt32)
                    narrow = narrow.filter(pl.col(ROW_COLUMN).is_in(union.implode()))
            try:
                if expanded is not None and rule.expand in expanded:
                    made = expanded[rule.expand]
                elif made_before and rule.expand in made_before:
                    made = _expand_the_rest(expand, narrow, made_before[rule.expand])
                else:
                    made = expand(narrow)
            except ExpanderSkip as why:
                unusable[rule.expand] = str(why)
                notes.append(f"{hook.label if hook else 'rules'} skipped: {why}")
            else:
                if keep_made and rule.expand:
                    kept[rule.expand] = made
                frames[rule.expand] = with_file_fields(_in_file_order(made), fields)
        if rule.expand in unusable:
            skipped[rule.name] = f"rule skipped: {unusable[rule.expand]}"
            continue
        columns = set(frames[rule.expand].columns)
        derived = {d.name for d in rule.derive}  # made from other columns (absent: null)
        needed = [c for c in rule.required if c not in derived]
        needed += [c for s in rule.selections for c in s.columns]
        missing = sorted({c for c in needed if c not in columns})
        schema = frames[rule.expand].schema
        used = {
            c for c in (*rule.keys, *rule.fields, *needed, *rule.derived_inputs) if c in columns
        }
        nested = sorted(c for c in used if schema[c].is_nested())
        if missing:
            plural = "s" if len(missing) > 1 else ""
            skipped[rule.name] = (
                f"rule skipped: the pool has no column{plural} {', '.join(missing)}"
            )
        elif nested:  # selections, groups and names are made of plain values
            skipped[rule.name] = (
                f"rule skipped: it selects, groups by or names with {', '.join(nested)},"
                " which hold lists or structures, not plain values"
            )
        else:
            runnable.append(rule)
    can_run = {r.name: r for r in runnable}
    for rule in rules:
        if not rule.second_stage:
            continue
        absent = [name for name in rule.source_rules if name not in can_run]
        lacking = [
            f"{name} has no {', '.join(missing)}"
            for name in rule.source_rules
            if name in can_run
            and (missing := [k for k in rule.keys if k not in product_columns(can_run[name])])
        ]
        if absent:
            skipped[rule.name] = (
                f"rule skipped: its source rule{'s' if len(absent) > 1 else ''} "
                f"{', '.join(absent)} cannot run"
            )
        elif lacking:
            skipped[rule.name] = f"rule skipped: source rule {'; '.join(lacking)}"
        else:
            runnable.append(rule)
    if not runnable and require_runnable:
        details = "; ".join(
            f"{name}: {why.removeprefix('rule skipped: ')}" for name, why in skipped.items()
        )
        raise RomanAsnError(f"no rule can run on this pool ({details})")
    order = {r.name: i for i, r in enumerate(rules)}
    runnable.sort(key=lambda r: order[r.name])
    return Prepared(table, frames, runnable, skipped, order, notes, kept)


def _expand_the_rest(expand, narrow: pl.DataFrame, before: pl.DataFrame) -> pl.DataFrame:
    """``expand(narrow)``, taking the rows ``before`` holds from it: the same frame, as a
    hook's output for a row depends on that row only and follows the rows' order."""
    rows = pl.col(ROW_COLUMN)
    done = before[ROW_COLUMN].unique()
    rest = narrow.filter(~rows.is_in(done.implode()))
    reused = before.filter(rows.is_in(narrow[ROW_COLUMN].implode()))
    if rest.height == 0:
        return reused
    made = expand(rest)
    if reused.height == 0:
        return made
    return pl.concat([reused, made.select(reused.columns)]).sort(ROW_COLUMN, maintain_order=True)


def _in_file_order(frame: pl.DataFrame, column: str = "file") -> pl.DataFrame:
    """The frame sorted by (file, pool_row), sorting only when it is not already."""
    file, row = pl.col(column), pl.col(ROW_COLUMN)
    in_order = (file > file.shift(1)) | ((file == file.shift(1)) & (row >= row.shift(1)))
    if frame.height > 1 and not frame.select(in_order.fill_null(True).all()).item():
        frame = frame.sort([column, ROW_COLUMN], nulls_last=True)
    return frame


def generate(
    source: Pool | pl.DataFrame,
    rules: list[Rule],
    options: GenerateOptions | None = None,
    *,
    rows_by_rule: Mapping[str, pl.Series] | None = None,
    amend: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    made_before: Mapping[str, pl.DataFrame] | None = None,
) -> GenerationResult:
    """Every association the rules make from the pool (nothing is written).

    ``rows_by_rule`` (rule name -> pool rows) gives a rule only those rows (all when a
    rule is not named): the catalog regenerates each rule's touched groups only.
    ``amend`` may change the associations made before duplicates are dropped and ids
    given: the catalog completes the groups it did not read back. ``made_before``: hooks'
    output for some rows, as for :func:`prepare`."""
    started = time.perf_counter()
    options = options or GenerateOptions()
    if isinstance(source, Pool):
        table, pool_name = source.table, source.name
    else:
        table, pool_name = source, "none"
        if ROW_COLUMN not in table.columns:
            table = table.with_row_index(ROW_COLUMN)
    prepared = prepare(table, rules, rows_by_rule, made_before=made_before)
    undeduplicated = undeduplicated_associations(prepared, options, rows_by_rule)
    lines = source.lines if isinstance(source, Pool) else None
    return finish(
        prepared,
        undeduplicated,
        rules,
        options,
        asn_pool=options.asn_pool or pool_name,
        lines=lines,
        amend=amend,
        started=started,
    )


def finish(
    prepared: Prepared,
    undeduplicated: pl.DataFrame,
    rules: list[Rule],
    options: GenerateOptions,
    *,
    asn_pool: str,
    lines: np.ndarray | None = None,
    amend: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    started: float | None = None,
) -> GenerationResult:
    """The result of ``generate`` from its prepared rules and every association they
    made: the catalog first looks at which groups a delta makes (``group_identity`` of
    the undeduplicated frame), and finishes only when that was all there was to do."""
    if amend is not None:
        undeduplicated = amend(undeduplicated)
    associations, dropped = finalize(undeduplicated, rules, options)
    orphans = find_orphans(prepared, associations, options, lines)
    return GenerationResult(
        associations=associations,
        dropped=dropped,
        orphans=orphans,
        options=options,
        asn_pool=asn_pool,
        rules=list(rules),
        n_rows=prepared.table.height,
        skipped_rules=prepared.skipped,
        notes=prepared.notes,
        seconds=0.0 if started is None else time.perf_counter() - started,
    )


def build_associations(
    prepared: Prepared,
    rules: list[Rule],
    options: GenerateOptions,
    rows_by_rule: Mapping[str, pl.Series] | None = None,
    amend: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(associations, dropped) of the prepared frames: every rule's groups, then
    duplicates dropped, ids given and files named (``_finalize``)."""
    undeduplicated = undeduplicated_associations(prepared, options, rows_by_rule)
    if amend is not None:
        undeduplicated = amend(undeduplicated)
    return finalize(undeduplicated, rules, options)


def undeduplicated_associations(
    prepared: Prepared,
    options: GenerateOptions,
    rows_by_rule: Mapping[str, pl.Series] | None = None,
) -> pl.DataFrame:
    """Every association the prepared rules make, before duplicates are dropped and
    ids given (``idx``: its position); ``explain`` adds its own before finalizing."""
    order = prepared.order
    groups = {
        rule.name: _rule_groups(rule, _rows_of(rule, prepared, rows_by_rule), options)
        for rule in prepared.row_rules
    }
    for rule in prepared.product_rules:
        sources = [r for r in prepared.row_rules if r.name in rule.source_rules]
        groups[rule.name] = _product_groups(rule, sources, groups, options)
    parts = [
        association_frame(rule, order[rule.name], groups.pop(rule.name), options)
        for rule in [*prepared.row_rules, *prepared.product_rules]
    ]
    # every association before duplicates are dropped
    undeduplicated = pl.concat(parts, how="vertical").with_row_index("idx")
    del parts
    return undeduplicated


def finalize(
    undeduplicated: pl.DataFrame, rules: list[Rule], options: GenerateOptions
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(associations, dropped) from every association made: see :func:`_finalize`."""
    fixed_ids = {rule.name: rule.asn_id for rule in rules if rule.asn_id}
    unwritten = {rule.name: rule.unwritten_reason for rule in rules if rule.unwritten_reason}
    return _finalize(undeduplicated, options, fixed_ids, unwritten)


def _rows_of(
    rule: Rule, prepared: Prepared, rows_by_rule: Mapping[str, pl.Series] | None
) -> pl.DataFrame:
    frame = prepared.frames[rule.expand]
    if rows_by_rule is None or rule.name not in rows_by_rule:
        return frame
    return frame.filter(pl.col(ROW_COLUMN).is_in(rows_by_rule[rule.name].implode()))


def _rule_groups(rule: Rule, frame: pl.DataFrame, options: GenerateOptions) -> pl.DataFrame:
    """The groups ``rule`` makes of the rows of ``frame``, one row per association
    before duplicates are dropped: acid, emit, asn_type, the group columns, the
    other name fields, members, exposerr and rows.

    ``frame`` is in (file, pool_row) order (see ``prepare``), so each group's
    members come out sorted by gathering positions in ascending order: groups are
    formed on integer positions and the strings are gathered once at the end.
    """
    keys = list(rule.keys)
    extras = name_fields(rule, frame.columns)
    rows = _in_member_order(rule_rows(rule, frame, options))
    group = ["asn_type", *keys]
    if "file" in keys and _strictly_increasing(rows, "file"):
        return _single_row_groups(rows, rule, options)
    positions = _grouped_positions(rows.with_row_index("__pos"), rule, options, group)
    flat = _flat_members(rows, positions, extras)
    return positions.drop("__pos").with_columns(flat["members", "exposerr", "rows", *extras])


def name_fields(rule: Rule, columns: list[str]) -> list[str]:
    """The columns besides the keys an association of ``rule`` takes a value of
    (the smallest of its rows'): product-name fields and the target."""
    keys = rule.keys
    extras = [f for f in rule.fields if f not in keys and f in columns]
    if rule.target_column not in keys and rule.target_column in columns:
        extras.append(rule.target_column)
    return extras


def rule_rows(
    rule: Rule, frame: pl.DataFrame, options: GenerateOptions, *, members: bool = True
) -> pl.DataFrame:
    """The rows of ``frame`` that pass ``rule``'s checks, with the columns it groups and
    names by (empty values filled), ``asn_type`` and (if ``members``) ``member``."""
    keys = list(rule.keys)
    extras = name_fields(rule, frame.columns)
    needed = dict.fromkeys(
        [ROW_COLUMN, "file", "candidates", "exposerr", *keys, *extras, *rule.require]
        + ([EXPAND_FAILURE] if EXPAND_FAILURE in frame.columns else [])
        + [c for s in rule.selections for c in s.columns]
    )
    frame = with_derived(rule, frame)
    needed = [c for c in needed if c in frame.columns or c == EXPAND_FAILURE]
    if rule.fill_missing:
        frame = frame.with_columns(
            _filled(c, v) for c, v in rule.fill_missing.items() if c in frame.columns
        )
    rows = frame.select(list(needed)).filter(passes(rule_checks(rule, options, frame.columns)))
    if rule.asn_type_column:
        asn_type = (
            pl.col(rule.asn_type_column)
            .cast(pl.Utf8)
            .str.strip_chars()
            .str.to_uppercase()
            .replace_strict(rule.asn_type_map, default=None)
        )
    else:
        asn_type = pl.lit(rule.asn_type, dtype=pl.Utf8)
    rows = rows.with_columns(asn_type.alias("asn_type"))
    return rows.with_columns(member_name(rule.member_suffix).alias("member")) if members else rows


def product_columns(rule: Rule) -> set[str]:
    """The columns each product of ``rule`` carries into the second stage."""
    root = {"product_root"} if rule.product_root else set()
    return {"program", "product_name", *root, *rule.keys}


def _product_groups(
    rule: Rule, sources: list[Rule], groups: dict[str, pl.DataFrame], options: GenerateOptions
) -> pl.DataFrame:
    """The groups of a second-stage rule: its rows are the products of its source
    rules (their group columns, ``product_name``, ``product_root`` and member
    ``<product>_<member_suffix>.asdf``), grouped by its keys; ``rows`` are the pool
    rows of the products it combines."""
    constants = {"drid": options.data_release_id}
    products = []
    for source in sources:
        made = groups[source.name].filter(pl.col("emit"))
        root = source.product_root
        products.append(
            made.select(
                "rows",
                *source.keys,
                render(source.product_name, made.schema, constants).alias("product_name"),
                (render(root, made.schema, constants) if root else pl.lit(None, pl.Utf8)).alias(
                    "product_root"
                ),
            )
        )
    return group_products(rule, pl.concat(products, how="diagonal_relaxed"))


def group_products(rule: Rule, products: pl.DataFrame) -> pl.DataFrame:
    """The groups a second-stage rule makes of ``products`` (one row per product: its
    ``rows``, ``product_name``, ``product_root`` and group columns), as the generator
    and ``roman-asn multiband`` both make them."""
    keys = list(rule.keys)
    suffix = f"_{rule.member_suffix or 'coadd'}.asdf"
    rows = products.with_columns((pl.col("product_name") + suffix).alias("member")).sort("member")
    # a multiband association of one filter combines nothing (romancal: min_filters = 1):
    # such groups are made but not written (emit false), so they are reported and an
    # incremental catalog still knows their rows
    filters = (
        pl.col("optical_element").n_unique() >= rule.min_filters
        if "optical_element" in rows.columns
        else pl.lit(True)
    )
    return (
        rows.group_by(keys, maintain_order=True)
        .agg(
            pl.col("member").alias("members"),
            pl.col("rows").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
            filters.alias("emit"),
        )
        .with_columns(
            pl.lit(rule.asn_type, dtype=pl.Utf8).alias("asn_type"),
            pl.lit(None, dtype=pl.Utf8).alias("acid"),
            # coadds carry no exposure error: a null per member
            pl.col("members")
            .list.eval(pl.when(pl.element().is_null()).then(pl.element()))
            .alias("exposerr"),
        )
    )


def association_frame(
    rule: Rule, rule_order: int, groups: pl.DataFrame, options: GenerateOptions
) -> pl.DataFrame:
    """The association frame of one rule's groups (the only place it is built):
    names rendered, constraints written, target and sky cell from the rule's columns."""
    schema = groups.schema
    constraint_parts = [
        pl.concat_str([pl.lit(f"{c}="), pl.col(c).cast(pl.Utf8)]) for c in rule.keys
    ]
    constraints = pl.concat_str(constraint_parts, separator=", ")
    with_candidate = pl.concat_str([constraints, pl.lit(", asn_candidate="), pl.col("acid")])
    constants = {"drid": options.data_release_id}
    target = rule.target_column
    return groups.select(
        pl.lit(rule.name).alias("rule"),
        pl.lit(rule_order, dtype=pl.Int64).alias("rule_order"),
        pl.lit(rule.level, dtype=pl.Int64).alias("level"),
        pl.col("asn_type").cast(pl.Utf8),
        pl.col("program").cast(pl.Int64),
        pl.col("acid").cast(pl.Utf8),
        pl.col("emit"),
        render(rule.product_name, schema, constants).alias("product_name"),
        render(rule.product_name, schema, constants, acid=False).alias("product_key"),
        pl.lit(rule.asn_file_name).alias("asn_file_name"),
        pl.when(pl.col("acid").is_null())
        .then(constraints)
        .otherwise(with_candidate)
        .alias("constraints"),
        (
            pl.lit(rule.fixed_target)
            if rule.fixed_target is not None
            else pl.col(target)
            if target in schema
            else pl.lit(None)
        )
        .cast(pl.Utf8)
        .alias("target"),
        (pl.col(rule.skycell_column) if rule.skycell_column else pl.lit(None))
        .cast(pl.Utf8)
        .alias("skycell"),
        pl.lit(rule.member_exptype).alias("exptype"),
        pl.col("members").cast(pl.List(pl.Utf8)),
        pl.col("exposerr").cast(pl.List(pl.Utf8)),
        pl.col("rows").cast(pl.List(pl.UInt32)),
    )


def _filled(column: str, value: str) -> pl.Expr:
    """Empty (null or blank) text becomes ``value``: a group of its own."""
    text = pl.col(column).cast(pl.Utf8)
    return (
        pl.when(text.str.strip_chars().fill_null("") == "")
        .then(pl.lit(value))
        .otherwise(text)
        .alias(column)
    )


def _in_member_order(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows sorted by (member, file, pool_row): two files making one member (``x_uncal``
    and ``x_rate`` both give ``x_cal``) keep the file-name order whatever the pool's row
    order. The frame comes sorted by (file, pool_row) and swapping a suffix keeps that
    order except for ties, so this rarely sorts."""
    member, file, row = pl.col("member"), pl.col("file"), pl.col(ROW_COLUMN)
    before, file_before, row_before = member.shift(1), file.shift(1), row.shift(1)
    same_file_later = (file == file_before) & (row >= row_before)
    in_order = (member > before) | ((member == before) & ((file > file_before) | same_file_later))
    if rows.height > 1 and not rows.select(in_order.fill_null(True).all()).item():
        rows = rows.sort(["member", "file", ROW_COLUMN], nulls_last=True)
    return rows


def _strictly_increasing(frame: pl.DataFrame, column: str) -> bool:
    value = pl.col(column)
    return frame.select((value > value.shift(1)).fill_null(True).all()).item()


def _single_row_groups(rows: pl.DataFrame, rule: Rule, options: GenerateOptions) -> pl.DataFrame:
    """Groups when every group is one row (grouping by distinct files): no group-by."""
    ids, emit_ids = candidate_id_lists(rule, options)
    groups = rows.with_columns(ids.alias("acid")).explode("acid")
    return groups.with_columns(
        (pl.col("acid").is_null() | pl.lit(emit_ids)).alias("emit"),
        pl.concat_list("member").alias("members"),
        pl.concat_list("exposerr").alias("exposerr"),
        pl.concat_list(ROW_COLUMN).alias("rows"),
    )


def _grouped_positions(
    rows: pl.DataFrame, rule: Rule, options: GenerateOptions, group: list[str]
) -> pl.DataFrame:
    """(acid, emit, *group, __pos): the ascending row positions of each association.

    Rows agreeing on the group values usually carry the same candidate list, so
    groups are formed once and exploded per candidate id; only groups whose rows
    carry different lists are split by list and merged per id (the mosaic rule)."""
    ids, emit_ids = candidate_id_lists(rule, options)
    rows = rows.with_columns(ids.alias("__ids"))
    rows = rows.with_columns(pl.col("__ids").list.join("\x1f").fill_null("").alias("__set"))
    base = rows.group_by(group, maintain_order=True).agg(
        pl.col("__pos"), pl.col("__ids").first(), pl.col("__set").n_unique().alias("__sets")
    )
    plain = base.filter(pl.col("__sets") == 1).drop("__sets").explode("__ids")
    mixed = base.filter(pl.col("__sets") > 1)
    parts = [plain]
    if mixed.height:
        mixed = mixed.select(*group, pl.int_range(pl.len(), dtype=pl.UInt32).alias("__g"), "__pos")
        members = mixed.select("__g", "__pos").explode("__pos")
        members = members.join(
            rows.select("__pos", "__set", "__ids"), on="__pos", how="left", maintain_order="left"
        )
        split = members.group_by(["__g", "__set"], maintain_order=True).agg(
            pl.col("__pos"), pl.col("__ids").first()
        )
        split = (
            split.explode("__ids")
            .group_by(["__g", "__ids"], maintain_order=True)
            .agg(pl.col("__pos").list.explode(keep_nulls=False, empty_as_null=False).sort())
        )
        merged = mixed.drop("__pos").join(split, on="__g", maintain_order="right").drop("__g")
        parts.append(merged.select(plain.columns))
    grouped = pl.concat(parts, how="vertical")
    emit = pl.col("acid").is_null() | pl.lit(emit_ids)
    grouped = grouped.rename({"__ids": "acid"}).with_columns(emit.alias("emit"))
    return grouped.select("acid", "emit", *group, "__pos")


def _flat_members(rows: pl.DataFrame, positions: pl.DataFrame, extras: list[str]) -> pl.DataFrame:
    """members, exposerr, rows and extras of each association, aligned with ``positions``.

    A member listed twice in one association (the same file in two pool rows) is
    kept once, with the first non-null exposure error; ``rows`` keeps every pool row."""
    lengths = positions["__pos"].list.len()
    index = pl.Series("__g", np.repeat(np.arange(len(lengths), dtype=np.uint32), lengths))
    pos = positions["__pos"].explode()
    gathered = ["member", "exposerr", ROW_COLUMN, *extras]
    flat = pl.DataFrame([index, *(rows[c].gather(pos) for c in gathered)])
    g, member = pl.col("__g"), pl.col("member")
    starts = (g != g.shift(1)) | (member != member.shift(1))
    flat = flat.with_columns(starts.fill_null(True).alias("__first"))
    pool_rows = pl.col(ROW_COLUMN)
    repeated = flat.select(
        (g.cast(pl.UInt64) * (1 << 32) + pool_rows.cast(pl.UInt64)).is_duplicated().any()
    ).item()
    source = pool_rows.unique(maintain_order=True) if repeated else pool_rows
    if flat["__first"].all():
        out = flat.group_by("__g", maintain_order=True).agg(
            member.alias("members"),
            pl.col("exposerr"),
            source.alias("rows"),
            *[pl.col(f).drop_nulls().min() for f in extras],
        )
        return out
    run = pl.col("__first").cum_sum()
    firsts = flat.with_columns(
        pl.col("exposerr").drop_nulls().first().over(run).alias("exposerr")
    ).filter(pl.col("__first"))
    out = firsts.group_by("__g", maintain_order=True).agg(
        member.alias("members"),
        pl.col("exposerr"),
        *[pl.col(f).drop_nulls().min() for f in extras],
    )
    every_row = flat.group_by("__g", maintain_order=True).agg(source.alias("rows"))
    return out.with_columns(every_row["rows"])


def group_identity() -> pl.Expr:
    """A group's identity across runs (the catalog keys groups by it): its rule, type and
    group values, the candidate id included for candidate associations, not a
    discovered one (an ``undeduplicated_associations`` frame has what it reads)."""
    return pl.concat_str(["rule", "asn_type", "constraints"], separator=GROUP_SEPARATOR)


def _finalize(
    undeduplicated: pl.DataFrame,
    options: GenerateOptions,
    fixed_ids: dict[str, str] | None = None,
    unwritten_reasons: dict[str, str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Drop duplicates, give discovered ids (or a rule's fixed ``asn_id``), resolve
    name clashes, name the files. Discovered groups made but not written (emit
    false) are dropped with their rule's ``unwritten_reasons``."""
    fixed_ids = fixed_ids or {}
    unwritten_reasons = unwritten_reasons or {}
    # the group's identity across runs (the catalog's key): rule, type and group values,
    # the candidate id included for candidate associations, not the discovered one
    undeduplicated = undeduplicated.with_columns(
        group_identity().alias("group"), pl.col("product_name").alias("product_template")
    )
    # a pool value that makes a product name romancal cannot write a file under (a
    # visit_id of '../x') costs that group, with the reason, not the whole run
    unsafe = unsafe_product_name(pl.col("product_name"))
    unnamable = undeduplicated.filter(unsafe).with_columns(
        pl.lit(None, dtype=pl.Utf8).alias("duplicate_of"),
        pl.concat_str(
            [
                pl.lit("product name "),
                pl.col("product_name")
                .str.replace_all(ACID_PLACEHOLDER, "(discovered)", literal=True)
                .str.slice(0, 80)
                .map_elements(repr, return_dtype=pl.Utf8),
                pl.lit(
                    f" is not a plain file name ({UNSAFE_PRODUCT_NAME}), from the pool's values"
                ),
            ]
        ).alias("reason"),
    )
    if unnamable.height:
        undeduplicated = undeduplicated.filter(~unsafe)
    marked = mark_duplicates(undeduplicated)
    winners = marked.filter(pl.col("idx") == pl.col("winner"))
    losers = marked.filter(pl.col("idx") != pl.col("winner"))
    kept = winners.filter(pl.col("emit"))
    unwritten = winners.filter(~pl.col("emit"))

    # discovered ids: deterministic per program, in order of (rule, group values)
    discovered = (
        kept.filter(pl.col("acid").is_null() & ~pl.col("rule").is_in(list(fixed_ids)))
        .sort(["program", "rule", "constraints"])
        .select(
            "idx",
            discovered_ids(pl.int_range(pl.len()).over("program")).alias("__id"),
        )
    )
    fixed = pl.col("rule").replace_strict(fixed_ids, default=None, return_dtype=pl.Utf8)
    kept = kept.join(discovered, on="idx", how="left").with_columns(
        pl.coalesce("acid", "__id", fixed).alias("asn_id")
    )
    kept = kept.with_columns(
        pl.col("product_name").str.replace_all(ACID_PLACEHOLDER, pl.col("asn_id"), literal=True),
        pl.when(pl.col("__id").is_not_null())
        .then(discovered_constraints(pl.col("constraints"), pl.col("__id")))
        .otherwise(pl.col("constraints"))
        .alias("constraints"),
    ).drop("__id")
    kept, renamed_away = _resolve_name_clashes(kept)

    # NNN numbers only the files named by number: a product-named (sky-cell) association
    # sharing asn_id a3001 with a discovered one must not shift its file name
    kept = kept.with_columns(
        pl.col("product_name")
        .rank("ordinal")
        .over(["program", "asn_id", "asn_type", "asn_file_name"])
        .alias("sequence")
    )
    kept = kept.with_columns(
        pl.when(pl.col("asn_file_name") == "product")
        .then(pl.col("product_name") + "_asn.json")
        .otherwise(asn_file_name(options.version_id))
        .alias("file_name"),
        pl.col("exposerr").list.eval(pl.element().is_not_null()).list.any().alias("degraded"),
    )
    associations = kept.select(ASSOCIATION_COLUMNS).sort("file_name")

    # what was dropped, and why (for explain and the summary)
    files = kept.select(pl.col("idx").alias("winner"), pl.col("file_name").alias("duplicate_of"))
    unwritten_ids = unwritten.select(
        pl.col("idx").alias("winner"), pl.col("acid").alias("__winner_id")
    )
    losers = losers.join(files, on="winner", how="left").join(
        unwritten_ids, on="winner", how="left"
    )
    losers = losers.with_columns(
        pl.when(pl.col("duplicate_of").is_not_null())
        .then(pl.concat_str([pl.lit("dropped as duplicate of "), pl.col("duplicate_of")]))
        .otherwise(
            pl.concat_str(
                [
                    pl.lit("dropped as duplicate of candidate association "),
                    pl.col("__winner_id"),
                    pl.lit(", which is not written (candidate associations are off)"),
                ]
            )
        )
        .alias("reason")
    )
    unwritten = unwritten.with_columns(
        pl.lit(None, dtype=pl.Utf8).alias("duplicate_of"),
        pl.when(pl.col("acid").is_null())
        .then(pl.col("rule").replace_strict(unwritten_reasons, default=None, return_dtype=pl.Utf8))
        .otherwise(pl.lit("candidate association not written (candidate associations are off)"))
        .alias("reason"),
    )
    dropped_columns = [
        "group",
        "rule",
        "asn_type",
        "program",
        "acid",
        "product_name",
        "rows",
        "duplicate_of",
        "reason",
    ]
    dropped = pl.concat(
        [
            losers.select(dropped_columns),
            unwritten.select(dropped_columns),
            renamed_away.select(dropped_columns),
            unnamable.select(dropped_columns),
        ],
        how="vertical",
    ).with_columns(
        pl.col("product_name").str.replace_all(ACID_PLACEHOLDER, "(discovered)", literal=True)
    )
    return associations, dropped


def _resolve_name_clashes(kept: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Product names must tell associations apart: of one name and the same members
    only one is kept; different members under one name get -2, -3, ... in a fixed
    order. Rare (e.g. targets 'NGC 3603' and 'ngc-3603'), so done in Python."""
    clash = pl.len().over(["program", "product_name"]) > 1
    clashing = kept.filter(clash)
    empty = kept.head(0).with_columns(
        pl.lit(None, dtype=pl.Utf8).alias("duplicate_of"),
        pl.lit(None, dtype=pl.Utf8).alias("reason"),
    )
    if clashing.height == 0:
        return kept, empty
    clashing = clashing.with_columns(pl.col("members").list.join("\n").alias("__text")).sort(
        ["program", "product_name", "__text", "rule_order", "asn_id"]
    )
    taken = set(zip(kept["program"].to_list(), kept["product_name"].to_list(), strict=True))
    renames: dict[int, str] = {}
    drops: dict[int, int] = {}
    for (program, name), block in clashing.group_by(
        ["program", "product_name"], maintain_order=True
    ):
        first_of_text: dict[str, int] = {}
        n = 1
        for idx, text in zip(block["idx"].to_list(), block["__text"].to_list(), strict=True):
            if text in first_of_text:
                drops[idx] = first_of_text[text]
                continue
            first_of_text[text] = idx
            if len(first_of_text) > 1:
                n += 1
                while (program, f"{name}-{n}") in taken:
                    n += 1
                renames[idx] = f"{name}-{n}"
                taken.add((program, renames[idx]))
    if renames:
        mapping = pl.DataFrame(
            {"idx": list(renames), "__new": list(renames.values())},
            schema={"idx": pl.UInt32, "__new": pl.Utf8},
        )
        kept = (
            kept.join(mapping, on="idx", how="left")
            .with_columns(pl.coalesce("__new", "product_name").alias("product_name"))
            .drop("__new")
        )
    dropped = kept.filter(pl.col("idx").is_in(list(drops))).with_columns(
        pl.lit(None, dtype=pl.Utf8).alias("duplicate_of"),
        pl.concat_str(
            [
                pl.lit("same product name and members as another association: "),
                pl.col("product_name"),
            ]
        ).alias("reason"),
    )
    dropped = dropped.with_columns(pl.col("asn_id").alias("acid"))
    kept = kept.filter(~pl.col("idx").is_in(list(drops)))
    return kept, dropped


def find_orphans(
    prepared: Prepared,
    associations: pl.DataFrame,
    options: GenerateOptions,
    lines: np.ndarray | None = None,
) -> pl.DataFrame:
    """Rows in no written association, each with the reasons every rule gave
    (and its line in a text pool, null for other formats)."""
    used = associations.select(pl.col("rows").explode().unique()).to_series()
    orphan_rows = prepared.table.filter(~pl.col(ROW_COLUMN).is_in(used.implode()))
    schema = ORPHAN_SCHEMA
    if orphan_rows.height == 0:
        return pl.DataFrame(schema=schema)
    wanted = orphan_rows[ROW_COLUMN].implode()
    long = rule_reasons(prepared, options, wanted)
    reasons = (
        long.with_columns(
            pl.col("reason").fill_null(
                "accepted, but its association was dropped (see roman-asn explain)"
            )
        )
        .group_by([ROW_COLUMN, "reason"])
        .agg(pl.col("rule_order").min(), pl.col("rule").sort_by("rule_order"))
        .sort([ROW_COLUMN, "rule_order"])
        .group_by(ROW_COLUMN, maintain_order=True)
        .agg(
            pl.concat_str(
                [pl.col("reason"), pl.lit(" ["), pl.col("rule").list.join(", "), pl.lit("]")]
            ).alias("reasons")
        )
    )
    if lines is not None:
        positions = orphan_rows[ROW_COLUMN].to_numpy()
        line = pl.Series("line", lines[positions], dtype=pl.Int64)
        orphan_rows = orphan_rows.with_columns(pl.when(line > 0).then(line).alias("line"))
    else:
        orphan_rows = orphan_rows.with_columns(pl.lit(None, dtype=pl.Int64).alias("line"))
    nameless = pl.lit([NAMELESS])
    return (
        orphan_rows.select(ROW_COLUMN, "filename", "line")
        .join(reasons, on=ROW_COLUMN, how="left")
        .with_columns(
            pl.when(pl.col("filename").is_null() | (pl.col("filename").str.strip_chars() == ""))
            .then(nameless)
            .otherwise(pl.col("reasons"))
            .alias("reasons")
        )
        .sort(ROW_COLUMN)
        .select(list(schema))
    )


def rule_reasons(prepared: Prepared, options: GenerateOptions, rows: pl.Series) -> pl.DataFrame:
    """Long table (pool_row, rule, rule_order, reason): each rule's first failing check
    for the given pool rows; reason null where the row passes the rule."""
    parts = []
    for name, why in prepared.skipped.items():
        parts.append(
            pl.DataFrame({ROW_COLUMN: rows.explode()}, schema={ROW_COLUMN: pl.UInt32}).with_columns(
                pl.lit(name).alias("rule"),
                pl.lit(prepared.order[name], dtype=pl.Int64).alias("rule_order"),
                pl.lit(why).alias("reason"),
            )
        )
    for rule in prepared.product_rules:
        why = (
            f"groups the products of {', '.join(rule.source_rules)}, and the row is in none of them"
        )
        parts.append(
            pl.DataFrame({ROW_COLUMN: rows.explode()}, schema={ROW_COLUMN: pl.UInt32}).with_columns(
                pl.lit(rule.name).alias("rule"),
                pl.lit(prepared.order[rule.name], dtype=pl.Int64).alias("rule_order"),
                pl.lit(why).alias("reason"),
            )
        )
    for rule in prepared.row_rules:
        order = prepared.order[rule.name]
        frame = prepared.frames[rule.expand].filter(pl.col(ROW_COLUMN).is_in(rows))
        frame = with_derived(rule, frame)
        checks = rule_checks(rule, options, frame.columns)
        part = (
            frame.select(pl.col(ROW_COLUMN), first_failure(checks).alias("reason"))
            .group_by(ROW_COLUMN)
            .agg(pl.col("reason").drop_nulls().min())
            .with_columns(
                pl.lit(rule.name).alias("rule"), pl.lit(order, dtype=pl.Int64).alias("rule_order")
            )
        )
        parts.append(part.select(ROW_COLUMN, "rule", "rule_order", "reason"))
    return pl.concat(parts, how="vertical")
