"""The 19-digit visit id PPPPP CC AAA SSS OOO VVV: the one place that reads and writes it.

Its fields and widths are :data:`roman_asn.pool.columns.VISIT_ID_FIELDS`; the pool
reader, ``make-pool``, ``skycell`` and the sky-cell rules all go through here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePath

import polars as pl

from roman_asn.pool.columns import VISIT_ID_FIELDS

LENGTH = sum(width for _, width in VISIT_ID_FIELDS)
_IN_NAME = re.compile(rf"^r(\d{{{LENGTH}}})_")


def is_visit_id(value: object) -> bool:
    """A text of exactly 19 digits."""
    return isinstance(value, str) and len(value) == LENGTH and value.isdigit()


def visit_id_from_fields(fields: Mapping[str, object]) -> str | None:
    """The visit id of program .. visit values (numbers or numeric text); None when
    one is missing, negative or too wide for its place."""
    parts = []
    for name, width in VISIT_ID_FIELDS:
        value = fields.get(name)
        if isinstance(value, bool):
            return None
        try:
            number = int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        if number < 0 or number >= 10**width:
            return None
        parts.append(f"{number:0{width}d}")
    return "".join(parts)


def field_end(field: str) -> int:
    """Where ``field`` ends in a visit id (``pass``: 10, after PPPPP CC AAA)."""
    end = 0
    for name, width in VISIT_ID_FIELDS:
        end += width
        if name == field:
            return end
    raise ValueError(f"no visit id field {field!r}")


def visit_id_upto(visit_id: str, field: str) -> str:
    """The digits of ``visit_id`` from the program up to and including ``field``
    (``pass``: PPPPP CC AAA)."""
    return visit_id[: field_end(field)]


def visit_id_in_name(name: str) -> str | None:
    """The visit id a Roman file name starts with (``r<visit id>_...``), if any."""
    match = _IN_NAME.match(PurePath(name).name)
    return match.group(1) if match else None


def visit_id_expr() -> pl.Expr:
    """The visit id text of each row from its program .. visit columns, vectorized."""
    return pl.concat_str(
        [pl.col(name).cast(pl.Utf8).str.zfill(width) for name, width in VISIT_ID_FIELDS]
    )


def visit_id_field_exprs(visit_id: pl.Expr) -> dict[str, pl.Expr]:
    """program .. visit as Int64 expressions from a visit id text column (null where
    the text is not a visit id), vectorized."""
    text = visit_id.str.strip_chars()
    valid = text.str.contains(rf"^\d{{{LENGTH}}}$")
    out, offset = {}, 0
    for name, width in VISIT_ID_FIELDS:
        number = text.str.slice(offset, width).cast(pl.Int64, strict=False)
        out[name] = pl.when(valid).then(number)
        offset += width
    return out
