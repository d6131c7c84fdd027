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

Records are in file-name order within each program partition. The bundle is
written atomically (temporary name, renamed at the end). ``iter_bundle(path)``
reads either kind back.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import polars as pl

from roman_asn.atomic import atomic_open, atomic_path
from roman_asn.errors import RomanAsnError
from roman_asn.generator.engine import GenerationResult
from roman_asn.generator.writer import check_file_names, render_frame, wait_for

CHUNK = 20_000  # associations rendered at a time
PARQUET_SUFFIXES = (".parquet", ".pq")
JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")


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


def _json_lines(chunk: pl.DataFrame) -> str:
    """The chunk (compact texts) as JSON lines: the text has no newline (JSON escapes
    them inside strings), so each record is one line."""
    name = pl.col("file_name").str.replace_all("\\", "\\\\", literal=True)
    name = name.str.replace_all('"', '\\"', literal=True)
    line = pl.concat_str(
        [
            pl.lit('{"file_name": "'),
            name,
            pl.lit('", "association": '),
            pl.col("text"),
            pl.lit("}\n"),
        ]
    )
    return chunk.select(line.str.join("")).item()


class BundleWriter:
    """Appends results to one bundle file; the file appears only when closed cleanly.

    Each result is rendered and written by a background thread while the caller
    makes the next one (polars runs off the GIL, and rendering mostly keeps one core
    busy): at most one result waits, so memory grows by one result at most. An error
    of the background write is raised by the next ``write`` or on closing."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.kind = bundle_kind(self.path)
        self.count = 0
        self._context: Any = None
        self._handle: IO[str] | None = None
        self._parquet: Any = None
        self._executor: ThreadPoolExecutor | None = None
        self._pending: Future | None = None

    def __enter__(self) -> BundleWriter:
        if self.kind == "jsonl":
            self._context = atomic_open(self.path, "w", encoding="utf-8", newline="\n")
            self._handle = self._context.__enter__()
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            self._context = atomic_path(self.path)
            temporary = self._context.__enter__()
            schema = pa.schema(
                [("file_name", pa.large_string()), ("association", pa.large_string())]
            )
            self._parquet = pq.ParquetWriter(temporary, schema, compression="zstd")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bundle")
        self._stop = threading.Event()
        return self

    def write(self, result: GenerationResult) -> int:
        """Queue ``result`` for writing (after the previous one is written)."""
        check_file_names(result.associations)
        self._wait()
        self._pending = self._executor.submit(self._write_now, result)
        written = result.associations.height
        self.count += written
        return written

    def _write_now(self, result: GenerationResult) -> None:
        for chunk in _chunks(result, pretty=self._handle is None):
            if self._stop.is_set():  # the run failed or was interrupted: the bundle is dropped
                return
            if self._handle is not None:
                self._handle.write(_json_lines(chunk))
            else:
                table = chunk.rename({"text": "association"}).to_arrow()
                self._parquet.write_table(table)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            wait_for(pending)

    def __exit__(self, *exc: Any) -> None:
        failure: BaseException | None = None
        if exc[0] is not None:
            self._stop.set()  # Ctrl-C or an error: stop after the chunk in hand
        try:
            self._wait()
        except BaseException as error:
            failure = error
        finally:
            self._executor.shutdown()
        if self._parquet is not None:
            self._parquet.close()
        if failure is not None and exc[0] is None:
            self._context.__exit__(type(failure), failure, failure.__traceback__)
            raise failure
        self._context.__exit__(*exc)


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
