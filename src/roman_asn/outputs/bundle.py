"""Output: every association in one bundle file (``generate --bundle FILE``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from roman_asn.generator.bundle import BundleWriter, bundle_kind

if TYPE_CHECKING:
    from roman_asn.generator.engine import GenerationResult


class BundleOutput:
    """JSON lines or Parquet, by suffix; the file appears only when the run ends well."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        bundle_kind(path)  # a bad suffix is refused before any work
        self.where = f"the bundle {os.fspath(path)}"
        self._writer = BundleWriter(path)
        self.written = 0

    takes_parts = True  # records are merged into file-name order, whatever the parts

    def expect_parts(self) -> None:
        return None

    def __enter__(self) -> BundleOutput:
        self._writer.__enter__()
        return self

    def write(self, result: GenerationResult) -> int:
        written = self._writer.write(result)
        self.written += written
        return written

    def __exit__(self, *exc: Any) -> None:
        self._writer.__exit__(*exc)
