"""Candidate cells: the (id, type) pairs a pool row belongs to.

Accepted forms (whitespace and quotes free):
- ``[('o001', 'observation'), ('c1000', 'mosaic')]``  JWST pools: a list of pairs
- ``[('o001'),('OBSERVATION')]``  romancal pools: parenthesised strings, read as
  consecutive (id, type) pairs, so this is ONE candidate (o001, observation)
- ``('o001', 'observation')``  a single pair
- empty, ``NULL`` or ``[]``: no candidates

Ids and types are lower-cased (file names are lower case, so ``O001`` and ``o001``
are one candidate); both are letters, digits, ``_`` and ``-``.
"""

from __future__ import annotations

import ast
import re

from roman_asn.errors import shown

Candidate = tuple[str, str]

CANDIDATE_ID = r"^[A-Za-z0-9_\-]+$"  # ids and types: they become parts of file names
_ID_PATTERN = re.compile(CANDIDATE_ID)


# Python's parser, which reads a cell, holds some 500 bytes a character of a list: a
# 2 MB cell took 1 GB and 25 s. Rows belong to a few candidates (25 characters each).
MAX_CELL_CHARACTERS = 1 << 16


class CandidateSyntaxError(ValueError):
    pass


def parse_candidates(cell: str | None) -> list[Candidate]:
    """Parse one candidate cell; raise CandidateSyntaxError with a reason."""
    if cell is None:
        return []
    text = cell.strip()
    if text in ("", "NULL", "[]"):
        return []
    if len(text) > MAX_CELL_CHARACTERS:
        raise CandidateSyntaxError(
            f"candidate cell of {len(text):,} characters (at most {MAX_CELL_CHARACTERS:,}): "
            f"no row belongs to that many candidates: {shown(cell)}"
        )
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise CandidateSyntaxError(f"cannot parse candidate list {shown(cell)}") from None
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
        value = [value]
    if not isinstance(value, list):
        raise CandidateSyntaxError(f"candidate cell is not a list: {shown(cell)}")
    pairs: list[Candidate]
    if all(isinstance(v, tuple) for v in value):
        if not all(len(v) == 2 and all(isinstance(x, str) for x in v) for v in value):
            raise CandidateSyntaxError(f"every candidate must be an (id, type) pair: {shown(cell)}")
        pairs = [(a, b) for a, b in value]
    elif all(isinstance(v, str) for v in value):
        if len(value) % 2:
            raise CandidateSyntaxError(f"odd number of id/type strings in {shown(cell)}")
        pairs = list(zip(value[::2], value[1::2], strict=True))
    else:
        raise CandidateSyntaxError(f"mixed candidate forms in {shown(cell)}")
    out = []
    for cid, ctype in pairs:
        cid, ctype = cid.strip().lower(), ctype.strip().lower()
        if not _ID_PATTERN.match(cid) or not _ID_PATTERN.match(ctype):
            raise CandidateSyntaxError(
                f"bad candidate ({shown(cid)}, {shown(ctype)}) in {shown(cell)}"
            )
        out.append((cid, ctype))
    return out


def format_candidates(pairs: list[Candidate] | None) -> str:
    """The JWST-style cell text, which :func:`parse_candidates` reads back."""
    if not pairs:
        return "[]"
    return "[" + ", ".join(f"('{cid}', '{ctype}')" for cid, ctype in pairs) + "]"


def candidate_ids(candidates) -> list[str]:
    """The distinct candidate ids of a pool's ``candidates`` column (a polars Series of
    (id, type) lists), sorted."""
    ids = candidates.explode().drop_nulls().struct.field("id").unique().sort()
    return ids.to_list()


def is_candidate_id(text: str) -> bool:
    """Letters, digits, ``_`` and ``-``: what a candidate id in a pool may hold."""
    return bool(_ID_PATTERN.match(text))
