"""Association bundles: every association of a run in one file, for archive ingest.

``roman-asn generate POOL --bundle asn.jsonl`` (or ``.parquet``) writes one record
per association instead of one small file each, which matters at millions of
associations. A record holds the file name the association would have had and
its content, the same as the file's:

- JSON lines (``.jsonl``, ``.json``): one line per association,
  ``{"file_name": "<name>", "association": {...}}`` (the association compact, keys
  in the file's order);
- Parquet (``.parquet``, ``.pq``): columns ``file_name`` and ``association``, the
  latter the file's exact text.

Records are in global file-name order, whatever the parts a run hands the writer (the
whole pool, program units of ``--chunked``, ranges of sky cells), so a bundle is
byte-identical in every mode. A single part is written straight into the bundle, as
fast as ever. With several, the first part's bundle becomes a sorted run, each
further part is written to its own sorted run (a hidden temporary file beside the
bundle: file name and the record as the bundle holds it, zstd-compressed Arrow IPC,
about 30 times smaller than the JSON), and closing merges the runs block by block
(``sorted_runs.merge_sorted``: memory bounded by one block per run, MERGE_ROWS in
all). The bundle is written atomically (temporary name, renamed at the end); the
runs are removed whatever happens. ``iter_bundle(path)`` reads either kind back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from roman_asn.atomic import atomic_path, resolve_target, scratch_path
from roman_asn.errors import RomanAsnError
from roman_asn.generator.engine import GenerationResult
from roman_asn.generator.sorted_runs import merge_sorted
from roman_asn.generator.writer import check_file_names, render_frame, wait_for
from roman_asn.read_ahead import one_ahead

CHUNK = 20_000  # associations rendered at a time; a Parquet bundle's row group
PARQUET_SUFFIXES = (".parquet", ".pq")
JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
RUN_CODEC = "zstd"  # runs compress 30x at 2 GB/s (JSON), so they cost little disk or tmpfs
RUN_ROWS = 256  # a run's record batch: the merge holds one or more per run (240 runs at 10M rows)
MERGE_ROWS = 200_000  # records the merge reads at a time, shared by the runs
MERGE_BYTES = 256 << 20  # the same for the first part's JSON lines (about 1.3 kB a line)
MIN_BLOCK_BYTES = 1 << 20
_NAME_START = len('{"file_name": "')
_NAME_END = '", "association": '
_SEPARATOR = "\x01"  # a CSV separator for whole JSON lines: JSON escapes control characters


@dataclass(frozen=True)
class BundleEntry:
    """One association of a bundle: the file name it would have had, and its JSON text
    (compact for JSON lines, the file's exact text for Parquet)."""

    file_name: str
    text: str

    def data(self) -> dict[str, Any]:
        return json.loads(self.text)


def bundle_kind(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in JSON_SUFFIXES:
        return "jsonl"
    raise RomanAsnError(
        f"a bundle is .jsonl (JSON lines) or .parquet, not {suffix or 'a file without suffix'}",
        path=str(path),
    )


def _chunks(result: GenerationResult, *, pretty: bool) -> Iterator[pl.DataFrame]:
    """(file_name, text) frames of up to CHUNK associations, kept in polars: the files'
    exact text, or compacted (``pretty=False``, see writer.compact_text)."""
    total = result.associations.height
    for start in range(0, total, CHUNK):
        frame = result.associations.slice(start, min(CHUNK, total - start))
        yield render_frame(frame, result, pretty=pretty)


def _json_lines(chunk: pl.DataFrame) -> pl.DataFrame:
    """The chunk (compact texts) as JSON lines (column ``line``, without the newline):
    the text has no newline (JSON escapes them inside strings), so each record is one
    line."""
    name = pl.col("file_name").str.replace_all("\\", "\\\\", literal=True)
    name = name.str.replace_all('"', '\\"', literal=True)
    line = pl.concat_str(
        [
            pl.lit('{"file_name": "'),
            name,
            pl.lit('", "association": '),
            pl.col("text"),
            pl.lit("}"),
        ]
    )
    return chunk.select(line.alias("line"))


def _parquet_schema():
    import pyarrow as pa

    return pa.schema([("file_name", pa.large_string()), ("association", pa.large_string())])


class _JsonLinesFile:
    """The bundle as JSON lines."""

    def __init__(self, path: Path) -> None:
        self._stream = open(path, "wb", buffering=1 << 20)  # noqa: SIM115 (closed by close)

    def write(self, chunk: pl.DataFrame) -> None:
        """``chunk``: file_name and compact text."""
        self.write_lines(_json_lines(chunk)["line"])

    def write_lines(self, lines: pl.Series) -> None:
        """Each line as is, then a newline (polars' CSV writer: 4-5 times faster than
        joining them into one Python string)."""
        lines.to_frame().write_csv(
            self._stream, include_header=False, quote_style="never", separator=_SEPARATOR
        )

    def close(self) -> None:
        self._stream.close()


class _ParquetFile:
    """The bundle as Parquet: a row group per chunk written."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self._writer = pq.ParquetWriter(path, _parquet_schema(), compression="zstd")

    def write(self, chunk: pl.DataFrame) -> None:
        """``chunk``: file_name and the file's text."""
        table = chunk.select("file_name", association="text").rechunk().to_arrow()
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()


class _RunFile:
    """A sorted run: (file_name, record) in compressed Arrow IPC batches of RUN_ROWS,
    the record being what the bundle holds (the JSON line, or the file's text), so
    the merge neither parses nor renders."""

    def __init__(self, path: Path, kind: str) -> None:
        import pyarrow as pa

        self._lines = kind == "jsonl"
        self._path = path
        self._writer: Any = None
        self._options = pa.ipc.IpcWriteOptions(compression=RUN_CODEC)

    def write(self, chunk: pl.DataFrame) -> None:
        import pyarrow as pa

        record = _json_lines(chunk)["line"] if self._lines else chunk["text"]
        table = pl.DataFrame({"file_name": chunk["file_name"], "record": record}).to_arrow()
        if self._writer is None:
            self._writer = pa.ipc.new_file(str(self._path), table.schema, options=self._options)
        self._writer.write_table(table, max_chunksize=RUN_ROWS)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _run_blocks(path: Path, block_rows: int) -> Iterator[pl.DataFrame]:
    """A run (:class:`_RunFile`) as (file_name, record) frames of about ``block_rows``."""
    import pyarrow as pa

    if os.path.getsize(path) == 0:  # an empty part: nothing was written
        return
    with pa.OSFile(str(path)) as source:  # read, not mapped: mapped runs stay resident
        reader = pa.ipc.open_file(source)
        held, count = [], 0
        for index in range(reader.num_record_batches):
            batch = reader.get_batch(index)
            held.append(batch)
            count += batch.num_rows
            if count >= block_rows:
                yield pl.from_arrow(pa.Table.from_batches(held))
                held, count = [], 0
        if held:
            yield pl.from_arrow(pa.Table.from_batches(held))


def _json_lines_blocks(path: Path, block_bytes: int) -> Iterator[pl.DataFrame]:
    """The JSON lines of the first part as (file_name, record) frames of about
    ``block_bytes`` each."""
    with open(path, "rb") as stream:
        rest = b""
        while data := stream.read(block_bytes):
            cut = data.rfind(b"\n") + 1
            if cut:
                yield _parse_lines(rest + data[:cut] if rest else data[:cut])
                rest = data[cut:]
            else:
                rest += data
        if rest:
            yield _parse_lines(rest + b"\n")


def _parse_lines(data: bytes) -> pl.DataFrame:
    """(file_name, record) of whole JSON lines: polars' CSV reader splits them (a
    control character as separator: JSON text holds none unescaped), and the name is
    the text before the first '", "association": ' (a '"' in a name is escaped)."""
    lines = pl.read_csv(
        data,
        has_header=False,
        separator=_SEPARATOR,
        quote_char=None,
        schema={"record": pl.String},
    )["record"]
    end = lines.str.find(_NAME_END, literal=True)
    names = lines.str.slice(_NAME_START, end - _NAME_START)
    names = names.str.replace_all('\\"', '"', literal=True)  # a name holds no backslash
    return pl.DataFrame({"file_name": names, "record": lines})


def _parquet_blocks(path: Path, block_rows: int) -> Iterator[pl.DataFrame]:
    """The Parquet of the first part as (file_name, record) frames."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as source:
        for batch in source.iter_batches(batch_size=block_rows):
            yield pl.from_arrow(batch).rename({"association": "record"})


class BundleWriter:
    """Appends results to one bundle file; the file appears only when closed cleanly.

    Each result is rendered and written by a background thread while the caller
    makes the next one (polars runs off the GIL, and rendering mostly keeps one core
    busy): at most one result waits, so memory grows by one result at most. The
    first result goes straight into the bundle; from the second on, each becomes a
    sorted run and closing merges them (module docstring). An error of the
    background write is raised by the next ``write`` or on closing."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.kind = bundle_kind(self.path)
        self.count = 0
        self._stack = contextlib.ExitStack()
        self._temporary: Path | None = None
        self._runs: list[Path] = []
        self._parts = 0
        self._ranges: list[tuple[str, str] | None] = []  # each part's first and last name
        self._executor: ThreadPoolExecutor | None = None
        self._pending: Future | None = None
        self._stop = threading.Event()

    def __enter__(self) -> BundleWriter:
        self._temporary = self._stack.enter_context(atomic_path(self.path))
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bundle")
        return self

    def write(self, result: GenerationResult) -> int:
        """Queue ``result`` for writing (after the previous one is written)."""
        check_file_names(result.associations)
        if not result.associations["file_name"].is_sorted():
            result = dataclasses.replace(result, associations=result.associations.sort("file_name"))
        self._wait()
        if self._parts == 1:  # a second part: the first, written as the bundle, is a run now
            os.replace(self._temporary, self._new_run())
        sink = self._open(self._temporary) if self._parts == 0 else self._open(self._new_run())
        self._parts += 1
        names = result.associations["file_name"]
        self._ranges.append((names[0], names[-1]) if len(names) else None)
        self._pending = self._executor.submit(self._write_now, result, sink)
        written = result.associations.height
        self.count += written
        return written

    def _new_run(self) -> Path:
        target = resolve_target(self.path)
        run = target.with_name(f"{target.name}.run{len(self._runs)}")
        self._runs.append(self._stack.enter_context(scratch_path(run)))
        return self._runs[-1]

    def _open(self, path: Path) -> _JsonLinesFile | _ParquetFile | _RunFile:
        """The bundle itself (the first part, or the merge), or a run."""
        if path != self._temporary:
            return _RunFile(path, self.kind)
        return _JsonLinesFile(path) if self.kind == "jsonl" else _ParquetFile(path)

    def _write_now(
        self, result: GenerationResult, sink: _JsonLinesFile | _ParquetFile | _RunFile
    ) -> None:
        try:
            for chunk in _chunks(result, pretty=self.kind == "parquet"):
                if self._stop.is_set():  # the run failed or was interrupted: the bundle is dropped
                    return
                sink.write(chunk)
        finally:
            sink.close()

    def _merge(self) -> None:
        """Write the runs into the bundle in global file-name order, as one part would.
        Runs whose name ranges meet no other's (program units) are copied as they are;
        only runs whose ranges overlap are merged, together. The next block is read,
        decompressed and merged in a thread while this one is written."""
        sink = self._open(self._temporary)
        with contextlib.ExitStack() as readers:
            readers.callback(sink.close)
            merged = itertools.chain.from_iterable(
                self._merged(component, readers) for component in self._components()
            )
            # closed before the runs are: no block is in hand when a run is closed
            with contextlib.closing(one_ahead(merged, "bundle-merge")) as blocks:
                if self.kind == "jsonl":
                    for block in blocks:
                        sink.write_lines(block["record"])
                else:
                    for chunk in _rebatched(blocks, CHUNK):
                        sink.write(chunk.rename({"record": "text"}))

    def _components(self) -> list[list[int]]:
        """Runs in groups of overlapping name ranges, groups in name order."""
        spans = sorted((span[0], span[1], index) for index, span in enumerate(self._ranges) if span)
        groups: list[list[int]] = []
        reach = None
        for first, last, index in spans:
            if groups and first <= reach:
                groups[-1].append(index)
                reach = max(reach, last)
            else:
                groups.append([index])
                reach = last
        return groups

    def _merged(self, component: list[int], readers: contextlib.ExitStack):
        share = len(component)
        block_rows = max(RUN_ROWS, MERGE_ROWS // share)
        runs = []
        for index in sorted(component):
            path = self._runs[index]
            if index > 0:
                run = _run_blocks(path, block_rows)
            elif self.kind == "jsonl":
                run = _json_lines_blocks(path, max(MIN_BLOCK_BYTES, MERGE_BYTES // share))
            else:
                run = _parquet_blocks(path, block_rows)
            readers.callback(run.close)
            runs.append(run)
        return runs[0] if share == 1 else merge_sorted(runs, "file_name")

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            wait_for(pending)

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        if kind is not None:
            self._stop.set()  # Ctrl-C or an error: stop after the chunk in hand
        try:
            try:
                self._wait()
            finally:
                self._executor.shutdown()
            if kind is None and self._runs:
                self._merge()
        except BaseException as error:
            if kind is None:  # drop the bundle and the runs; a failed removal says so
                if not self._stack.__exit__(type(error), error, error.__traceback__):
                    raise
                return
        self._stack.__exit__(kind, value, traceback)


def _rebatched(blocks: Iterable[pl.DataFrame], size: int) -> Iterator[pl.DataFrame]:
    """The rows of ``blocks`` in frames of exactly ``size`` rows (the last one fewer)."""
    held: list[pl.DataFrame] = []
    count = 0
    for block in blocks:
        held.append(block)
        count += block.height
        if count < size:
            continue
        joined = pl.concat(held)
        cuts = range(0, count - count % size, size)
        for start in cuts:
            yield joined.slice(start, size)
        rest = joined.slice(count - count % size)
        held, count = ([rest], rest.height) if rest.height else ([], 0)
    if count:
        yield pl.concat(held)


def write_bundle(results: GenerationResult | Iterable[GenerationResult], path) -> int:
    """Write every association of ``results`` (one result or several program-disjoint
    ones, in order) into the bundle ``path``; return how many."""
    if isinstance(results, GenerationResult):
        results = [results]
    with BundleWriter(path) as writer:
        for result in results:
            writer.write(result)
    return writer.count


def iter_bundle(path: str | os.PathLike[str]) -> Iterator[BundleEntry]:
    """The associations of a bundle, in the order written."""
    kind = bundle_kind(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            source = pq.ParquetFile(path)
        except (OSError, ValueError) as error:
            raise RomanAsnError(f"not a readable Parquet bundle: {error}", path=str(path)) from None
        for batch in source.iter_batches(batch_size=CHUNK, columns=["file_name", "association"]):
            names = batch.column("file_name").to_pylist()
            texts = batch.column("association").to_pylist()
            for name, text in zip(names, texts, strict=True):
                yield BundleEntry(name, text)
        return
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                entry = BundleEntry(
                    record["file_name"], json.dumps(record["association"], ensure_ascii=False)
                )
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise RomanAsnError(
                    f"not a bundle record: {error}", path=str(path), line=number
                ) from None
            yield entry
