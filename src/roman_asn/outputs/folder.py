"""Output: one association file per association in a folder (``generate -o DIR``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roman_asn.generator.engine import GenerationResult


class FolderOutput:
    """Writes each result's association files into ``folder`` (atomically, file by file).

    ``on_progress(done, total)`` is told how many files of the current result are
    written, for a progress bar."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        writer_threads: int | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.where = str(folder)
        self.writer_threads = writer_threads
        self.on_progress = on_progress
        self.written = 0

    def __enter__(self) -> FolderOutput:
        return self

    def write(self, result: GenerationResult) -> int:
        from roman_asn.generator.writer import write_associations

        total = result.associations.height
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            self.on_progress(done, total)

        write_associations(
            result,
            self.folder,
            workers=self.writer_threads,
            on_progress=advance if self.on_progress else None,
        )
        self.written += total
        return total

    def __exit__(self, *exc: object) -> None:
        return None
