"""Generating from pools too large to hold at once: ``roman-asn generate --chunked``.

1. The pool is read in batches (Parquet row groups through pyarrow, text pools in
   blocks of whole lines with the header repeated, ECSV whole) and each batch is
   normalized as ``read_pool`` would and split by program into temporary Parquet
   pieces, keeping each row's ``pool_row`` (and text line) from the whole file.
2. Programs are gathered into units of about ``unit_rows`` rows (a program is never
   split: every rule groups within one and numbering is per program), and the
   units are generated one after another, or on a Dask cluster, each result
   handed to the caller to write before the next is read.

Peak memory is set by the largest unit (at least the largest program), not by the
pool, and the output is byte-identical to a single run over the whole pool.

Limits: a plain CSV with newlines inside quoted fields must not be split inside
such a field (blocks end at line ends); an unknown column is typed per batch
(``T``/``F`` becomes boolean only if every value of that batch is ``T``/``F``).
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

from roman_asn.errors import PoolError
from roman_asn.generator.engine import GenerationResult, generate
from roman_asn.generator.options import GenerateOptions
from roman_asn.generator.partition import balance
from roman_asn.pool.columns import ROW_COLUMN
from roman_asn.pool.reader import normalize, read_pool
from roman_asn.pool.text_table import first_content_line, read_text_table
from roman_asn.rules.loader import Rule

if TYPE_CHECKING:
    from distributed import Client

BATCH_ROWS = 1_000_000  # Parquet rows normalized at a time
BATCH_BYTES = 256 << 20  # text pool bytes parsed at a time
UNIT_ROWS = 1_000_000  # rows generated at a time (more when one program is larger)
LINE_COLUMN = "__line"


@dataclass
class SplitPool:
    """A pool split into program pieces on disk, grouped into units to generate."""

    name: str
    n_rows: int
    units: list[list[str]]
    unit_rows: list[int]
    program_rows: dict[str, int] = field(default_factory=dict)


def _batches(path: Path, batch_rows: int, batch_bytes: int) -> Iterator[tuple[pl.DataFrame, str]]:
    """(normalized table with global pool_row and LINE_COLUMN for text, format) per batch."""
    label = str(path)
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PAR1") or path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            source = pq.ParquetFile(path)
        except Exception as error:  # pyarrow raises many kinds
            raise PoolError(f"unreadable Parquet file: {error}", path=label) from None
        offset = 0
        for batch in source.iter_batches(batch_size=batch_rows):
            frame = pl.from_arrow(batch)
            try:
                table = normalize(frame, path=label, fmt="parquet", lines=None).table
            except PoolError as error:
                if error.row is not None:
                    error.row += offset
                raise
            yield table.with_columns(pl.col(ROW_COLUMN) + offset), "parquet"
            offset += frame.height
        return
    if path.suffix.lower() == ".ecsv" or _starts_ecsv(path):
        yield read_pool(path).table, "ecsv"
        return
    yield from _text_batches(path, batch_bytes)


def _starts_ecsv(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4096).lstrip().startswith(b"# %ECSV")


def _text_batches(path: Path, batch_bytes: int) -> Iterator[tuple[pl.DataFrame, str]]:
    """Blocks of whole lines, each parsed with the file's comments and header in front."""
    label = str(path)
    with path.open("rb") as handle:
        header = b""
        while True:  # comments, blank lines and the header line
            line = handle.readline()
            if not line:
                break
            header += line
            if line.strip() and not line.lstrip().startswith(b"#"):
                break
        if not first_content_line(header):
            raise PoolError("no header line: the file has only comments or blank lines", path=label)
        header_lines = header.count(b"\n")
        first_line = header_lines + 1  # file line of the block's first line
        offset = 0
        rest = b""
        while True:
            block = handle.read(batch_bytes)
            data = rest + block
            if not block:
                body, rest = data, b""
            else:
                cut = data.rfind(b"\n") + 1
                body, rest = data[:cut], data[cut:]
            if body.strip():
                try:
                    frame, lines, fmt = read_text_table(path, header + body)
                    table = normalize(frame, path=label, fmt=fmt, lines=lines).table
                except PoolError as error:
                    if error.line is not None and error.line > header_lines:
                        error.line += first_line - header_lines - 1
                    raise
                file_lines = lines + (first_line - header_lines - 1)
                yield (
                    table.with_columns(
                        pl.col(ROW_COLUMN) + offset,
                        pl.Series(LINE_COLUMN, file_lines[table[ROW_COLUMN].to_numpy()]),
                    ),
                    fmt,
                )
                offset += table.height
            first_line += body.count(b"\n")
            if not block:
                return


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
    if source.is_dir():
        raise PoolError("is a directory, not a pool file", path=str(source))
    if not source.exists():
        raise PoolError("no such file", path=str(source))
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    pieces: dict[str, list[str]] = {}
    sizes: Counter[str] = Counter()
    n_rows = 0
    for number, (table, _fmt) in enumerate(_batches(source, batch_rows, batch_bytes)):
        n_rows += table.height
        if "program" in table.columns:
            groups = table.partition_by("program", as_dict=True, maintain_order=False)
            keyed = {("null" if k[0] is None else str(k[0])): g for k, g in groups.items()}
        else:
            keyed = {"null": table}
        for key, group in keyed.items():
            piece = out / f"program{key}_b{number:05d}.parquet"
            group.write_parquet(piece, compression="lz4", statistics=False)
            pieces.setdefault(key, []).append(str(piece))
            sizes[key] += group.height
    wanted = max(parts, math.ceil(n_rows / max(1, unit_rows)))
    bins = balance(sorted(sizes.items()), wanted)
    return SplitPool(
        name=source.name,
        n_rows=n_rows,
        units=[[p for key in sorted(keys) for p in pieces[key]] for keys in bins],
        unit_rows=[sum(sizes[key] for key in keys) for keys in bins],
        program_rows=dict(sizes),
    )


def generate_unit(
    pieces: list[str], rules: list[Rule], options: GenerateOptions
) -> GenerationResult:
    """Generate one unit of program pieces (also the task run on Dask workers)."""
    frames = [pl.read_parquet(p) for p in pieces]
    table = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
    del frames
    lines = None
    if LINE_COLUMN in table.columns:
        lines = table.select(ROW_COLUMN, pl.col(LINE_COLUMN).alias("__found"))
        table = table.drop(LINE_COLUMN)
    result = generate(table, rules, options)
    if lines is not None and result.orphans.height:
        orphans = result.orphans.join(lines, on=ROW_COLUMN, how="left", maintain_order="left")
        result.orphans = orphans.with_columns(
            pl.when(pl.col("__found") > 0).then(pl.col("__found")).alias("line")
        ).drop("__found")
    return result


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
    from roman_asn.generator.distributed import PARTS_PER_WORKER, run_in_order, worker_count

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
                yield generate_unit(unit, rules, options)
        else:
            yield from run_in_order(
                client, generate_unit, split.units, rules=rules, options=options
            )


@dataclass
class StreamedResult(GenerationResult):
    """What the summary needs from results already written and let go: counts per rule
    and type, orphans and drop reasons (the association table itself is not kept)."""

    tallies: Counter = field(default_factory=Counter)

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
        self.associations = 0

    def add(self, result: GenerationResult) -> None:
        counts = result.associations.group_by("rule", "asn_type").len()
        for rule, asn_type, n in counts.iter_rows():
            self.tallies[(rule, asn_type)] += n
        self.associations += result.associations.height
        slim = replace(
            result,
            associations=result.associations.head(0),
            dropped=result.dropped.select("reason"),
        )
        self.parts.append(slim)

    def result(self) -> StreamedResult:
        joined = GenerationResult.concat(self.parts)
        return StreamedResult(**{k: getattr(joined, k) for k in _FIELDS}, tallies=self.tallies)


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
