"""Where a run's associations go: one small protocol, several implementations.

Every output is a context manager that takes program-disjoint results one after
another (one for a whole run, one per unit for ``--chunked``) and says how many
associations it kept. ``open_output`` picks the implementation from what the
user named, as daf_butler picks a datastore from configuration; a caller may also
pass any object that follows :class:`Output` (the catalog does).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from roman_asn.generator.engine import GenerationResult


@runtime_checkable
class Output(Protocol):
    """Receives results; ``written`` counts what it kept; ``where`` names it for people."""

    written: int
    where: str

    def __enter__(self) -> Output: ...

    def write(self, result: GenerationResult) -> int: ...

    def __exit__(self, *exc: object) -> None: ...


def open_output(
    output_dir: str | os.PathLike[str] | None = None,
    *,
    bundle: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    writer_threads: int | None = None,
    on_progress=None,
    existing: str = "refuse",
) -> Output:
    """The output a run's options name: nothing (dry run), a bundle, or a folder."""
    if dry_run:
        from roman_asn.outputs.dry_run import DryRun

        return DryRun()
    if bundle is not None:
        from roman_asn.outputs.bundle import BundleOutput

        return BundleOutput(bundle)
    from roman_asn.outputs.folder import FolderOutput

    return FolderOutput(
        output_dir if output_dir is not None else ".",
        writer_threads=writer_threads,
        on_progress=on_progress,
        existing=existing,
    )


__all__ = ["Output", "open_output"]
