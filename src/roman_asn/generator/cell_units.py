"""The sky-cell rules, a range of sky cells at a time: memory bounded at survey scale.

A *cell-local* rule makes each association from the rows of one sky cell and names it
without counting other associations: it expands rows per sky cell and groups by
``skycell`` (or, second stage, groups products of cell-local rules by ``skycell``), has
a fixed ``asn_id`` and files named after the product. The default sky-cell rules
(visit, pass, full, multiband) are. Its associations over a set of whole cells are
therefore the same as over the whole pool, duplicates and name clashes included
(the cell is in every product name; ``_NameGuard`` proves it per run).

:func:`generate_by_cells` yields, for one pool: the associations of the other rules
(over the whole pool, as ``generate`` makes them), then those of the cell-local rules
one unit of cells after another (each unit about ``unit_pairs`` (row, cell) matches),
then the orphans (rows in no association, with every rule's reason). Peak memory is
set by the pool's narrow columns and one unit, not by the sky-cell expansion of the
whole pool (about 9 rows per detector file, and their associations).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from roman_asn.errors import RomanAsnError
from roman_asn.generator.engine import (
    ORPHAN_SCHEMA,
    GenerationResult,
    Prepared,
    _frame_columns,
    build_associations,
    find_orphans,
    prepare,
    with_rule_columns,
)
from roman_asn.generator.naming import template_fields
from roman_asn.generator.options import GenerateOptions
from roman_asn.generator.skycell_rules import (
    SKYCELL_COLUMN,
    RowCells,
    expand_matched,
    has_footprint_columns,
    match_rows,
)
from roman_asn.pool import Pool
from roman_asn.pool.columns import ROW_COLUMN
from roman_asn.rules.hooks import EXPAND_FAILURE
from roman_asn.rules.loader import Rule
from roman_asn.skycells.lookup import CellMatches
from roman_asn.skycells.skymap import get_skymap

if TYPE_CHECKING:
    from distributed import Client

SKYCELL_HOOK = "skycells"
BY_CELLS_FROM_ROWS = 100_000  # smaller pools fit in memory whole (about 3 GB at this size)
UNIT_PAIRS = 400_000  # (row, cell) matches grouped at a time: about 0.5 GB of work


def cell_local_rules(rules: list[Rule]) -> list[Rule]:
    """The rules whose associations can be made one set of whole sky cells at a time:
    grouped by sky cell, the cell in the product name, a fixed asn_id, product-named
    files (nothing numbered across cells)."""

    def alone(rule: Rule) -> bool:
        return (
            SKYCELL_COLUMN in rule.keys
            and rule.asn_id is not None
            and rule.asn_file_name == "product"
        )

    def names_cell(template: str | None) -> bool:
        return template is not None and SKYCELL_COLUMN in template_fields(template)

    by_name = {r.name: r for r in rules}
    local = {
        r.name
        for r in rules
        if not r.second_stage
        and r.expand == SKYCELL_HOOK
        and alone(r)
        and names_cell(r.product_name)
    }
    for rule in rules:
        if not (rule.second_stage and alone(rule) and set(rule.source_rules) <= local):
            continue
        # its name may take the cell from the sources' product names or roots
        fields = template_fields(rule.product_name)
        sources = [by_name[name] for name in rule.source_rules]
        via_root = "product_root" in fields and all(names_cell(s.product_root) for s in sources)
        via_name = "product_name" in fields and all(names_cell(s.product_name) for s in sources)
        if SKYCELL_COLUMN in fields or via_root or via_name:
            local.add(rule.name)
    return [r for r in rules if r.name in local]


def partitionable(table_columns: list[str], rules: list[Rule]) -> bool:
    """Whether :func:`generate_by_cells` applies: cell-local rules and footprints."""
    return bool(cell_local_rules(rules)) and has_footprint_columns(table_columns)


def generate_by_cells(
    source: Pool | pl.DataFrame,
    rules: list[Rule],
    options: GenerateOptions | None = None,
    *,
    unit_pairs: int = UNIT_PAIRS,
    progress: Callable[[str], None] | None = None,
    client: Client | None = None,
) -> Iterator[GenerationResult]:
    """The associations of ``source`` in parts (see the module docstring); together they
    are exactly ``generate(source, rules, options)``. The last part carries the orphans
    and no associations; every part carries the skipped rules and notes. ``progress``
    is told, unit by unit, how far the sky-cell work is. With ``client``, units are
    made on its Dask workers (a few at a time, results taken in unit order)."""
    options = options or GenerateOptions()
    if isinstance(source, Pool):
        table, pool_name, lines = source.table, source.name, source.lines
    else:
        table, pool_name, lines = source, "none", None
        if ROW_COLUMN not in table.columns:
            table = table.with_row_index(ROW_COLUMN)
    asn_pool = options.asn_pool or pool_name
    order = {r.name: i for i, r in enumerate(rules)}
    local = cell_local_rules(rules)
    local_names = {r.name for r in local}
    others = [r for r in rules if r.name not in local_names]
    used = np.zeros(_row_bound(table), dtype=bool)
    names = _NameGuard()

    def part(prepared: Prepared, associations, dropped, started: float) -> GenerationResult:
        return GenerationResult(
            associations=associations,
            dropped=dropped,
            orphans=_no_orphans(),
            options=options,
            asn_pool=asn_pool,
            rules=list(rules),
            n_rows=0,
            skipped_rules=prepared.skipped,
            notes=prepared.notes,
            seconds=time.perf_counter() - started,
        )

    started = time.perf_counter()
    rest = prepare(table, others, require_runnable=False) if others else None
    local_prepared = _local_prepared(table, local, order)
    if not (rest.runnable if rest else []) + local_prepared.runnable:
        prepare(table, rules)  # raises the engine's own "no rule can run" error
    last: GenerationResult | None = None
    if rest is not None and rest.runnable:
        rest = replace(rest, order=order)
        associations, dropped = build_associations(rest, others, options)
        rest.frames.clear()
        _mark(used, associations)
        names.add(associations, first=True)
        last = part(rest, associations, dropped, started)
        yield last
        del associations, dropped
    if local_prepared.runnable:
        narrow = with_rule_columns(table, rules)
        narrow = narrow.select(_frame_columns(narrow, local, SKYCELL_HOOK))
        rank = _file_order_rank(narrow)
        rows, cell_index = match_rows(narrow, get_skymap()).pairs()
        del narrow
        units = _Units(rows, cell_index, rank, unit_pairs)
        inputs = (_unit_input(table, unit_rows, unit_cells) for unit_rows, unit_cells in units)
        if client is None:
            made = (unit_associations(*unit, rules, options) for unit in inputs)
        else:
            from roman_asn.generator.distributed import run_windowed, to_ipc

            shipped = ((to_ipc(t), offsets, cells) for t, offsets, cells in inputs)
            made = run_windowed(
                client, unit_associations_ipc, shipped, rules=rules, options=options
            )
        for number, (associations, dropped) in enumerate(made, start=1):
            _mark(used, associations)
            names.add(associations)
            last = part(local_prepared, associations, dropped, started)
            if progress is not None:
                progress(
                    f"sky cells: unit {number} of {len(units)} "
                    f"({associations.height:,} associations)"
                )
            yield last
            del associations, dropped
            started = time.perf_counter()
    names.check()
    started = time.perf_counter()
    orphans, prepared = _orphans(table, rules, options, used, lines)
    final = part(prepared, last.associations.head(0), last.dropped.head(0), started)
    final.orphans, final.n_rows = orphans, table.height
    yield final


def _row_bound(table: pl.DataFrame) -> int:
    return int(table[ROW_COLUMN].max()) + 1 if table.height else 0


def _no_orphans() -> pl.DataFrame:
    return pl.DataFrame(schema=ORPHAN_SCHEMA)


def _mark(used: np.ndarray, associations: pl.DataFrame) -> None:
    rows = associations["rows"].explode().drop_nulls().to_numpy()
    used[rows] = True


def _local_prepared(table: pl.DataFrame, local: list[Rule], order: dict[str, int]) -> Prepared:
    """Which cell-local rules can run on the pool (columns, sources), from its first row."""
    if not local:
        return Prepared(table.head(0), {}, [], {}, order)
    sample = table.head(1)
    prepared = prepare(sample, local, require_runnable=False)
    return replace(prepared, table=table.head(0), frames={}, order=order)


def _file_order_rank(narrow: pl.DataFrame) -> np.ndarray:
    """Each row's place in (file name, pool_row) order, the order the engine groups in."""
    order = narrow.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).sort_by(["filename", ROW_COLUMN], nulls_last=True)
    ).to_series()
    rank = np.empty(narrow.height, dtype=np.int64)
    rank[order.to_numpy()] = np.arange(narrow.height)
    return rank


class _Units:
    """(rows, cells) matches in units of whole cells of about ``unit_pairs`` matches,
    each unit in (file order, cell) order, as the expander makes it from ordered rows."""

    def __init__(self, rows: np.ndarray, cells: np.ndarray, rank: np.ndarray, unit_pairs: int):
        self.rows, self.cells, self.rank = rows, cells, rank
        self.by_cell = np.argsort(cells, kind="stable")
        sorted_cells = cells[self.by_cell]
        # a unit may end only where the cell changes
        boundaries = np.flatnonzero(np.diff(sorted_cells)) + 1
        cuts, start = [], 0
        for boundary in boundaries.tolist():
            if boundary - start >= unit_pairs:
                cuts.append(boundary)
                start = boundary
        self.edges = [0, *cuts, len(cells)] if len(cells) else [0]

    def __len__(self) -> int:
        return len(self.edges) - 1

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for lo, hi in zip(self.edges[:-1], self.edges[1:], strict=True):
            picked = self.by_cell[lo:hi]
            unit_rows, unit_cells = self.rows[picked], self.cells[picked]
            in_order = np.lexsort((unit_cells, self.rank[unit_rows]))
            yield unit_rows[in_order], unit_cells[in_order]


def _unit_input(
    table: pl.DataFrame, rows: np.ndarray, cells: np.ndarray
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """One unit's pool rows (in file order) and their cells in CSR form."""
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    offsets = np.append(starts, len(rows)).astype(np.int64)
    return table[rows[starts]], offsets, cells.astype(np.int64)


def unit_associations(
    table: pl.DataFrame,
    offsets: np.ndarray,
    cells: np.ndarray,
    rules: list[Rule],
    options: GenerateOptions,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(associations, dropped) of the cell-local rules over one unit: its pool rows,
    each expanded to its cells in the unit only (``cells[offsets[i]:offsets[i+1]]``)."""
    local = cell_local_rules(rules)
    narrow = with_rule_columns(table, rules)
    narrow = narrow.select(_frame_columns(narrow, local, SKYCELL_HOOK))
    matched = RowCells(
        CellMatches(offsets=offsets, cells=cells),
        pl.Series(EXPAND_FAILURE, [None] * table.height, dtype=pl.Utf8),
    )
    expanded = expand_matched(narrow, matched, get_skymap())
    del narrow
    prepared = prepare(table, local, expanded={SKYCELL_HOOK: expanded})
    del expanded
    order = {r.name: i for i, r in enumerate(rules)}
    return build_associations(replace(prepared, order=order), local, options)


def unit_associations_ipc(
    payload: tuple[bytes, np.ndarray, np.ndarray], rules: list[Rule], options: GenerateOptions
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Run on a Dask worker: :func:`unit_associations` of a unit sent as Arrow IPC bytes."""
    from roman_asn.generator.distributed import from_ipc

    table, offsets, cells = payload
    return unit_associations(from_ipc(table), offsets, cells, rules, options)


def _orphans(table, rules, options, used, lines) -> tuple[pl.DataFrame, Prepared]:
    """The rows no association holds, with every rule's reason (the engine's own)."""
    free = np.flatnonzero(~used)
    orphan_rows = table.filter(pl.col(ROW_COLUMN).is_in(pl.Series(free, dtype=pl.UInt32).implode()))
    if orphan_rows.height == 0:
        return _no_orphans(), Prepared(orphan_rows, {}, [], {}, {})
    prepared = prepare(orphan_rows, rules)
    return find_orphans(prepared, _NO_ASSOCIATIONS, options, lines), prepared


_NO_ASSOCIATIONS = pl.DataFrame(schema={"rows": pl.List(pl.UInt32)})


class _NameGuard:
    """Proves, per run, what makes the units exact: no two associations of different
    parts share a program and product name (the engine would have compared them).
    Holds 64-bit hashes only (8 bytes an association)."""

    def __init__(self) -> None:
        self.first: np.ndarray = np.zeros(0, dtype=np.uint64)
        self.seen: list[np.ndarray] = []

    def add(self, associations: pl.DataFrame, *, first: bool = False) -> None:
        if associations.height == 0:
            return
        hashes = associations.select(pl.struct("program", "product_name").hash(7).alias("h"))[
            "h"
        ].to_numpy()
        if first:
            self.first = np.sort(hashes)
            return
        if len(self.first):
            probes = np.sort(hashes)  # sorted, the search walks the table once: 6x faster
            at = np.searchsorted(self.first, probes).clip(max=len(self.first) - 1)
            if np.any(self.first[at] == probes):
                raise _clash(associations, probes[self.first[at] == probes][0])
        self.seen.append(hashes)

    def check(self) -> None:
        if not self.seen:
            return
        every = np.sort(np.concatenate(self.seen))
        if np.any(every[1:] == every[:-1]):
            raise RomanAsnError(
                "two sky-cell associations of different sky cells share a product name: "
                "the rules' names must include the sky cell"
            )


def _clash(associations: pl.DataFrame, digest: int) -> RomanAsnError:
    hashes = associations.select(pl.struct("program", "product_name").hash(7))
    name = associations.filter(hashes.to_series() == digest)["product_name"][0]
    return RomanAsnError(
        f"a sky-cell rule names an association {name!r} as another rule does: "
        "the rules' product names must tell them apart"
    )
