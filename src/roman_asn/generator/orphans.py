"""The orphan report: every pool row that joined no association, and why."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

from roman_asn.atomic import atomic_write_text
from roman_asn.pool.columns import ROW_COLUMN

ORPHAN_COLUMNS = ("filename", ROW_COLUMN, "line", "reasons")


def write_orphans(orphans: pl.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write the orphans as JSON (``.json``) or CSV (anything else), atomically.

    CSV joins the reasons with ``"; "``; JSON keeps them as a list.
    """
    target = Path(path)
    frame = orphans.select(ORPHAN_COLUMNS)
    if target.suffix.lower() == ".json":
        text = json.dumps(frame.to_dicts(), indent=2, ensure_ascii=False) + "\n"
    else:
        text = frame.with_columns(pl.col("reasons").list.join("; ")).write_csv()
    atomic_write_text(target, text)
    return target


class OrphansFirst:
    """An output that writes the orphan report before handing a whole run's result to
    ``output``: the report is complete as soon as the rows are grouped, so a run
    stopped while writing its association files (Ctrl-C, a full disk) still has it.
    A run in parts (chunked) knows its orphans only at the end: ``finish`` writes
    them then."""

    def __init__(self, output, path: str | os.PathLike[str]) -> None:
        folder = getattr(output, "folder", None)  # a folder of association files
        if folder is not None:
            _refuse_a_name_the_run_writes(path, folder)
        self.output = output
        self.path = path
        self.parts = False
        self.done = False

    @property
    def written(self) -> int:
        return self.output.written

    @property
    def where(self) -> str:
        return self.output.where

    @property
    def takes_parts(self) -> bool:
        return getattr(self.output, "takes_parts", False)

    def expect_parts(self) -> None:
        self.parts = True
        if hasattr(self.output, "expect_parts"):
            self.output.expect_parts()

    def __enter__(self) -> OrphansFirst:
        self.output.__enter__()
        return self

    def write(self, result) -> int:
        if not self.parts:
            write_orphans(result.orphans, self.path)
            self.done = True
        return self.output.write(result)

    def finish(self, orphans: pl.DataFrame) -> None:
        if not self.done:
            write_orphans(orphans, self.path)
            self.done = True

    def __exit__(self, *exc: object) -> None:
        self.output.__exit__(*exc)


def _refuse_a_name_the_run_writes(path: str | os.PathLike[str], folder: Path) -> None:
    """The orphan report must not be one of the files the run itself makes in its
    output folder (an association file, the lock): it would be replaced or removed."""
    import fnmatch

    from roman_asn.errors import RomanAsnError
    from roman_asn.generator.writer import ASN_PATTERN, LOCK_NAME

    name = os.path.basename(path)
    same_folder = os.path.realpath(os.path.dirname(path) or ".") == os.path.realpath(folder)
    if same_folder and (name == LOCK_NAME or fnmatch.fnmatch(name, ASN_PATTERN)):
        raise RomanAsnError(
            f"--orphans names a file this run writes in {folder} (association files "
            f"{ASN_PATTERN} and its lock {LOCK_NAME}); give the orphan report another name",
            path=str(path),
        )
