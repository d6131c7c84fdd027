"""The pool's columns: Roman-native names, their types, and the legacy aliases.

Pools written by the JWST/romancal generators use upper-case names (FILENAME,
OPT_ELEM, ...). Reading maps them to the Roman-native lower-case names below, so
rules and tools only ever see one vocabulary. Columns not listed are kept under
their own name, lower-cased.
"""

from __future__ import annotations

import polars as pl

CANDIDATE_DTYPE = pl.List(pl.Struct({"id": pl.Utf8, "type": pl.Utf8}))

# canonical name -> polars dtype
COLUMN_TYPES: dict[str, pl.DataType] = {
    "filename": pl.Utf8,
    "program": pl.Int64,
    "execution_plan": pl.Int64,
    "pass": pl.Int64,
    "segment": pl.Int64,
    "observation": pl.Int64,
    "visit": pl.Int64,
    "visit_id": pl.Utf8,
    "exposure": pl.Int64,
    "detector": pl.Utf8,
    "exp_type": pl.Utf8,
    "optical_element": pl.Utf8,
    "instrument": pl.Utf8,
    "target": pl.Utf8,
    "candidates": CANDIDATE_DTYPE,
    "exposerr": pl.Utf8,
    "category": pl.Utf8,
    "subcategory": pl.Utf8,
    "observation_id": pl.Utf8,
    "start_time": pl.Utf8,
    "ra_corn1": pl.Float64,
    "dec_corn1": pl.Float64,
    "ra_corn2": pl.Float64,
    "dec_corn2": pl.Float64,
    "ra_corn3": pl.Float64,
    "dec_corn3": pl.Float64,
    "ra_corn4": pl.Float64,
    "dec_corn4": pl.Float64,
    "s_region": pl.Utf8,
    "pointing_ra": pl.Float64,
    "pointing_dec": pl.Float64,
    "pointing_pa": pl.Float64,
}

# Enumerated values compared by rules; stored upper-case whatever the source wrote.
UPPER_CASE_COLUMNS: frozenset[str] = frozenset(
    {"detector", "exp_type", "optical_element", "instrument"}
)

REQUIRED_COLUMNS: tuple[str, ...] = ("filename",)

# legacy (upper-case) name -> canonical name; where several name one column, the first
# is romancal's spelling, the one pools are written with (LEGACY_NAMES)
LEGACY_ALIASES: dict[str, str] = {
    "FILENAME": "filename",
    "PROGRAM": "program",
    "EX_PLAN": "execution_plan",
    "EXECUTION_PLAN": "execution_plan",
    "PASS": "pass",
    "SEQUENCE": "segment",
    "SEGMENT": "segment",
    "OBS_NUM": "observation",
    "OBSERVATION": "observation",
    "VISIT": "visit",
    "VISIT_ID": "visit_id",
    "EXPCOUNT": "exposure",
    "EXPOSURE": "exposure",
    "DETECTOR": "detector",
    "EXP_TYPE": "exp_type",
    "OPT_ELEM": "optical_element",
    "OPTICAL_ELEMENT": "optical_element",
    "FILTER": "optical_element",
    "INSTRUME": "instrument",
    "TARGNAME": "target",
    "TARGET": "target",
    "ASN_CANDIDATE": "candidates",
    "EXPOSERR": "exposerr",
    "CAT": "category",
    "SUBCAT": "subcategory",
    "OBS_ID": "observation_id",
    "EXPSTART": "start_time",
    "DATE_OBS": "start_time",
    "S_REGION": "s_region",
}

# canonical name -> the upper-case name JWST/romancal pools use (the first alias of each)
LEGACY_NAMES: dict[str, str] = {}
for _legacy, _canonical in LEGACY_ALIASES.items():
    LEGACY_NAMES.setdefault(_canonical, _legacy)
del _legacy, _canonical

# The 19-digit visit id PPPPP CC AAA SSS OOO VVV: its fields and their widths, in order.
VISIT_ID_FIELDS: tuple[tuple[str, int], ...] = (
    ("program", 5),
    ("execution_plan", 2),
    ("pass", 3),
    ("segment", 3),
    ("observation", 3),
    ("visit", 3),
)

# The pool row's position in the source (0-based data row); added by the reader.
ROW_COLUMN = "pool_row"

# Column order for output: canonical first, in this order, then the rest as found.
CANONICAL_ORDER: tuple[str, ...] = tuple(COLUMN_TYPES)


def canonical_name(name: str) -> str:
    stripped = name.strip()
    return LEGACY_ALIASES.get(stripped.upper(), stripped.lower())
