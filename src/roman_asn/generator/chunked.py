"""Generating from pools too large to hold at once: ``roman-asn generate --chunked``.

1. The pool is read in batches (``roman_asn.pool.batches``: Parquet row groups,
   text pools in blocks of whole lines, ECSV whole), each normalized as
   ``read_pool`` would, and split by program into temporary Parquet pieces,
   keeping each row's ``pool_row`` (and text line) from the whole file.
2. Programs are gathered into units of about ``unit_rows`` rows (a program is never
   split: every rule groups within one and numbering is per program), and the
   units are generated one after another, or on a Dask cluster, each result
   handed to the caller to write before the next is read.

Peak memory is set by the largest unit (at least the largest program), not by the
pool, and the output is byte-identical to a single run over the whole pool. Inside
a unit of 100k rows or more the sky-cell rules go a range of cells at a time
(:mod:`roman_asn.generator.cell_units`), so a survey program does not hold all its
sky-cell associations at once either.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from roman_asn.atomic import make_folder, write_error
from roman_asn.generator.engine import GenerationResult, generate
from roman_asn.generator.options import GenerateOptions
from roman_asn.pool.batches import BATCH_BYTES, BATCH_ROWS, LINE_COLUMN, read_batches
from roman_asn.pool.columns import ROW_COLUMN
from roman_asn.pool.reader import check_duplicate_files
from roman_asn.pool.writer import write_parquet_file
from roman_asn.rules.loader import Rule

if TYPE_CHECKING:
    from distributed import Client

UNIT_ROWS = 1_000_000  # rows generated at a time (more when one program is larger)


@dataclass
class SplitPool:
    """A pool split into program pieces on disk, grouped into units to generate."""

    name: str
    n_rows: int
    units: list[list[str]]
    unit_rows: list[int]
    program_rows: dict[str, int] = field(default_factory=dict)


def split_pool(
    path: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    *,
    parts: int = 1,
    batch_rows: int = BATCH_ROWS,
    batch_bytes: int = BATCH_BYTES,
    unit_rows: int = UNIT_ROWS,
) -> SplitPool:
    """Split the pool at ``path`` into program pieces under ``folder``; units of about
    ``unit_rows`` rows, and at least ``parts`` of them when there are enough programs."""
    source = Path(path)
    out = make_folder(folder)
    pieces: dict[str, list[str]] = {}
    sizes: Counter[str] = Counter()
    n_rows = 0
    for number, table in enumerate(read_batches(source, batch_rows, batch_bytes)):
        n_rows += table.height
        if "program" in table.columns:
            groups = table.partition_by("program", as_dict=True, maintain_order=False)
            keyed = {("null" if k[0] is None else str(k[0])): g for k, g in groups.items()}
        else:
            keyed = {"null": table}
        for key, group in keyed.items():
            piece = out / f"program{key}_b{number:05d}.parquet"
            try:
                write_parquet_file(group, piece, compression="lz4", statistics=False)
            except OSError as error:  # the temporary folder's disk is full
                raise write_error(error, piece) from None
            pieces.setdefault(key, []).append(str(piece))
            sizes[key] += group.height
    wanted = max(parts, math.ceil(n_rows / max(1, unit_rows)))
    bins = [keys for keys in _in_program_order(sizes, wanted) if keys]  # none: no rows
    return SplitPool(
        name=source.name,
        n_rows=n_rows,
        units=[[p for key in sorted(keys) for p in pieces[key]] for keys in bins],
        unit_rows=[sum(sizes[key] for key in keys) for keys in bins],
        program_rows=dict(sizes),
    )


def _in_program_order(sizes: Counter[str], wanted: int) -> list[list[str]]:
    """Programs cut into at most ``wanted`` runs of consecutive programs of near-equal
    rows: every file name starts with its program, so units in program order write
    name ranges that do not overlap (a bundle then copies them instead of merging)."""

    def order(key: str) -> tuple:
        return (key == "null", int(key) if key.lstrip("-").isdigit() else 0, key)

    keys = sorted(sizes, key=order)
    total = sum(sizes.values())
    bins: list[list[str]] = [[]]
    done = 0
    for key in keys:
        if bins[-1] and done >= total * len(bins) / wanted:
            bins.append([])
        bins[-1].append(key)
        done += sizes[key]
    return bins


def generate_unit(
    pieces: list[str], rules: list[Rule], options: GenerateOptions
) -> GenerationResult:
    """Generate one unit of program pieces (also the task run on Dask workers)."""
    parts = list(generate_unit_parts(pieces, rules, options, by_cells=False))
    return parts[0]


def generate_unit_parts(
    pieces: list[str],
    rules: list[Rule],
    options: GenerateOptions,
    *,
    by_cells: bool = True,
    client: Client | None = None,
) -> Iterator[GenerationResult]:
    """The results of one unit of program pieces: one, or (``by_cells``, for a unit of
    ``cell_units.BY_CELLS_FROM_ROWS`` rows or more) the sky-cell rules a range of cells
    at a time (on ``client``'s workers when given)."""
    from roman_asn.generator import cell_units

    frames = [pl.read_parquet(p) for p in pieces]
    table = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
    del frames
    check_duplicate_files(table, _locator(table, options.asn_pool))  # across batches
    lines = None
    if LINE_COLUMN in table.columns:
        lines = table.select(ROW_COLUMN, pl.col(LINE_COLUMN).alias("__found"))
        table = table.drop(LINE_COLUMN)
    big = table.height >= cell_units.BY_CELLS_FROM_ROWS
    if by_cells and big and cell_units.partitionable(table.columns, rules):
        results = cell_units.generate_by_cells(
            table, rules, options, unit_pairs=cell_units.UNIT_PAIRS, client=client
        )
    else:
        results = iter([generate(table, rules, options)])
    for result in results:
        if lines is not None and result.orphans.height:
            orphans = result.orphans.join(lines, on=ROW_COLUMN, how="left", maintain_order="left")
            result.orphans = orphans.with_columns(
                pl.when(pl.col("__found") > 0).then(pl.col("__found")).alias("line")
            ).drop("__found")
        yield result


def _locator(table: pl.DataFrame, label: str | None):
    """Where a ``pool_row`` of a unit is, for errors: its line in a text pool, else its row."""

    def locate(row: int) -> dict:
        line = None
        if LINE_COLUMN in table.columns:
            found = table.filter(pl.col(ROW_COLUMN) == row)[LINE_COLUMN]
            line = int(found[0]) if len(found) and found[0] else None
        return {"path": label, "line": line, "row": None if line else row + 1}

    return locate


def generate_chunked(
    path: str | os.PathLike[str],
    rules: list[Rule],
    options: GenerateOptions,
    *,
    client: Client | None = None,
    unit_rows: int = UNIT_ROWS,
    batch_rows: int = BATCH_ROWS,
    batch_bytes: int = BATCH_BYTES,
    temp_dir: str | os.PathLike[str] | None = None,
) -> Iterator[GenerationResult]:
    """Results of the pool at ``path`` unit by unit (program-disjoint, fixed order).

    With ``client``, units run on its workers, which must see ``temp_dir`` (true for
    a local cluster). The temporary pieces are removed when the iterator finishes.
    """
    from roman_asn.generator.distributed import PARTS_PER_WORKER, worker_count

    options = replace(options, asn_pool=options.asn_pool or Path(path).name)
    parts = PARTS_PER_WORKER * worker_count(client) if client is not None else 1
    with tempfile.TemporaryDirectory(prefix="roman-asn-chunks-", dir=temp_dir) as folder:
        split = split_pool(
            path,
            folder,
            parts=parts,
            batch_rows=batch_rows,
            batch_bytes=batch_bytes,
            unit_rows=unit_rows,
        )
        if client is None:
            for unit in split.units:
                yield from generate_unit_parts(unit, rules, options)
        else:
            yield from _units_on_cluster(split, rules, options, client)


def _units_on_cluster(
    split: SplitPool, rules: list[Rule], options: GenerateOptions, client: Client
) -> Iterator[GenerationResult]:
    """Units in order on the cluster. A unit the sky-cell rules would make big goes by
    cells, its cell ranges on the workers (memory set by a cell range, as without
    Dask); runs of the other units go whole to the workers, a few in flight at a time
    (never all at once: their results would pile up)."""
    from roman_asn.generator import cell_units
    from roman_asn.generator.distributed import run_windowed

    small: list[list[str]] = []

    def flush() -> Iterator[GenerationResult]:
        taken = list(small)
        small.clear()
        yield from run_windowed(client, generate_unit, taken, rules=rules, options=options)

    for unit, rows in zip(split.units, split.unit_rows, strict=True):
        columns = pl.read_parquet_schema(unit[0]).names()
        if rows >= cell_units.BY_CELLS_FROM_ROWS and cell_units.partitionable(columns, rules):
            yield from flush()
            yield from generate_unit_parts(unit, rules, options, client=client)
        else:
            small.append(unit)
    yield from flush()


@dataclass
class StreamedResult(GenerationResult):
    """What the summary needs from results already written and let go: counts per rule
    and type, orphans and drop reasons (the association table itself is not kept)."""

    tallies: Counter = field(default_factory=Counter)
    ids: set[str] = field(default_factory=set)
    reasons: Counter = field(default_factory=Counter)

    def drop_reasons(self) -> Counter:
        return self.reasons

    def asn_ids(self) -> set[str]:
        return self.ids

    def counts(self) -> list[tuple[str, str, int]]:
        order = {rule.name: i for i, rule in enumerate(self.rules)}
        return sorted(
            ((r, t, n) for (r, t), n in self.tallies.items()),
            key=lambda x: (order.get(x[0], 99), x[1]),
        )


class Tally:
    """Collects the summary of results as they stream past."""

    def __init__(self) -> None:
        self.parts: list[GenerationResult] = []
        self.tallies: Counter = Counter()
        self.ids: set[str] = set()
        self.reasons: Counter = Counter()
        self.associations = 0

    def add(self, result: GenerationResult) -> None:
        counts = result.associations.group_by("rule", "asn_type").len()
        for rule, asn_type, n in counts.iter_rows():
            self.tallies[(rule, asn_type)] += n
        self.associations += result.associations.height
        self.ids.update(result.associations["asn_id"].unique().to_list())
        self.reasons.update(result.drop_reasons())
        # counts only: a survey drops millions (single-filter multiband sets)
        slim = replace(
            result,
            associations=result.associations.head(0),
            dropped=result.dropped.select("reason").head(0),
        )
        self.parts.append(slim)

    def result(self) -> StreamedResult:
        joined = GenerationResult.concat(self.parts)
        return StreamedResult(
            **{k: getattr(joined, k) for k in _FIELDS},
            tallies=self.tallies,
            ids=self.ids,
            reasons=self.reasons,
        )


_FIELDS = (
    "associations",
    "dropped",
    "orphans",
    "options",
    "asn_pool",
    "rules",
    "n_rows",
    "skipped_rules",
    "seconds",
)
