"""The record of an input left out of a result, and why (one type for every tool)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Rejected:
    """An input file (or name) that was not used; ``reason`` is one sentence."""

    path: str
    reason: str


class RejectedInput(Exception):  # noqa: N818 - it names what happened to the input
    """Raised while reading one input that cannot be used; the message is the reason."""
