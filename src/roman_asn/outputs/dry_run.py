"""Output: keep nothing (``generate --dry-run``): generate and report only."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roman_asn.generator.engine import GenerationResult


class DryRun:
    where = "nowhere (dry run)"
    takes_parts = True

    def __init__(self) -> None:
        self.written = 0

    def __enter__(self) -> DryRun:
        return self

    def expect_parts(self) -> None:
        return None

    def write(self, result: GenerationResult) -> int:
        return 0

    def __exit__(self, *exc: object) -> None:
        return None
