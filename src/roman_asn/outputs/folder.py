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
    written, for a progress bar. The folder is held for the run
    (:class:`~roman_asn.generator.writer.OutputFolder`: a lock against a second
    run, and ``existing`` -- ``"refuse"``, ``"clean"`` or ``"force"`` -- for
    association files already there that this run does not write). When the
    results come in parts (``expect_parts``, a chunked run), the names are not
    known in advance, so any association file already there counts."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        writer_threads: int | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        existing: str = "refuse",
    ) -> None:
        from roman_asn.generator.writer import OutputFolder

        self.folder = Path(folder)
        self._held = OutputFolder(folder, existing)
        self._parts = False
        self._checked = False
        self.where = str(folder)
        self.writer_threads = writer_threads
        self.on_progress = on_progress
        self.written = 0

    def __enter__(self) -> FolderOutput:
        self._held.__enter__()
        return self

    @property
    def takes_parts(self) -> bool:
        """Parts are fine unless files are here that the run must compare with all its
        names before writing (``existing="refuse"``)."""
        return not (self._held.existing_mode == "refuse" and self._held.existing)

    def expect_parts(self) -> None:
        """Results will come in several parts (a chunked run): no bar per part (the run
        shows its own progress)."""
        self._parts = True
        self.on_progress = None

    def write(self, result: GenerationResult) -> int:
        from roman_asn.generator.writer import write_associations

        total = result.associations.height
        names = result.associations["file_name"].to_list()
        if not self._checked:
            self._held.check(None if self._parts else names)
            self._checked = True
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
        self._held.wrote(names)
        self.written += total
        return total

    def __exit__(self, *exc: object) -> None:
        self._held.__exit__(*exc)
