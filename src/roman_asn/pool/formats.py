"""The registry of pool formats: one record per format, modelled on astropy's io.registry.

A format says how to recognise a file (``identify``: from its first bytes and
name), how to read it whole, how to read it in batches of rows (for
``generate --chunked``) and how to write it. ``read_pool``, ``write_pool``,
``generate --chunked``, ``pool convert`` and ``synth-pool`` all go through here,
so a new format is one :func:`register_format` call. Registering a name twice is
refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from roman_asn.errors import PoolError

if TYPE_CHECKING:
    import polars as pl

    from roman_asn.pool.reader import Pool, PoolSource


@dataclass(frozen=True)
class PoolFormat:
    """One pool format.

    - ``identify(head, suffix)``: whether a file starting with ``head`` (its first
      bytes, a UTF-8 BOM removed) and named with ``suffix`` is in this format;
    - ``read(source)``: the whole file as a :class:`Pool`;
    - ``batches(source, batch_rows, batch_bytes)``: normalized tables of consecutive
      rows, with ``pool_row`` (and ``__line`` for text) counted over the whole file;
    - ``write(pool, path)``: the pool written atomically.
    """

    name: str
    identify: Callable[[bytes, str], bool]
    read: Callable[[PoolSource], Pool]
    batches: Callable[[PoolSource, int, int], Iterator[pl.DataFrame]]
    write: Callable[[Pool, Path], None]
    suffixes: tuple[str, ...] = field(default=())
    description: str = ""


_FORMATS: dict[str, PoolFormat] = {}


def register_format(fmt: PoolFormat) -> PoolFormat:
    """Add ``fmt``; a second format of the same name is refused (no silent overwrite)."""
    if fmt.name in _FORMATS:
        raise ValueError(f"pool format {fmt.name!r} is already registered")
    _FORMATS[fmt.name] = fmt
    return fmt


def _builtin() -> dict[str, PoolFormat]:
    if not _FORMATS:
        import roman_asn.pool.builtin_formats  # noqa: F401  (registers the built-in formats)
    return _FORMATS


def format_names() -> tuple[str, ...]:
    return tuple(_builtin())


def get_format(name: str) -> PoolFormat:
    formats = _builtin()
    if name not in formats:
        raise PoolError(f"unknown pool format {name!r} (choose from {', '.join(formats)})")
    return formats[name]


def identify_format(head: bytes, suffix: str, label: str) -> PoolFormat:
    """The format of a file from its first bytes and suffix: the first format (in
    registration order) that claims it."""
    for fmt in _builtin().values():
        if fmt.identify(head, suffix.lower()):
            return fmt
    raise PoolError("not a pool in any known format", path=label)


def format_for_path(path: str | Path, name: str | None = None) -> PoolFormat:
    """The format to write ``path`` in: ``name`` if given, else by suffix (legacy otherwise)."""
    if name:
        return get_format(name)
    suffix = Path(path).suffix.lower()
    for fmt in _builtin().values():
        if suffix in fmt.suffixes:
            return fmt
    return get_format("legacy")
