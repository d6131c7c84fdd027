"""Sky-cell rules: the hook behind ``expand = "skycells"``.

The ``skycells`` expander matches every row's footprint (corners, S_REGION, or the
pointing and the detector; :func:`roman_asn.skycells.footprints_from_table`) to the
sky cells it touches (:func:`roman_asn.skycells.match_footprints`, vectorized) and
emits one row per (row, cell) with a ``skycell`` column, plus ``visit_token``
(``v`` + 14 digits), ``pass_token`` (``p`` + CC AAA) and ``daily_token`` (``d`` +
CC AAA SSS) made by the same
:func:`roman_asn.skycells.associations.group_token` as ``roman-asn skycell``. A row
with no footprint, or one touching no cell, stays as one row with a null ``skycell``
and its reason in ``expand_failure`` (reported by ``explain`` and the orphans); so
does an exposure-level row (detector ``WFI``), whose file no Level 2 step makes.

Rules that group by ``skycell`` name it as ``target_column`` and ``skycell_column``
to take the cell as ``target`` and get its ``skycell_wcs_info`` (written by the
writer from :mod:`roman_asn.skycells.wcs`). The multiband rule is a second-stage
rule of the engine (``source_rules``): it groups the products of the sky-cell rules
by their ``product_root`` and ``skycell``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from roman_asn.rules.hooks import EXPAND_FAILURE, ExpanderSkip, register_expander
from roman_asn.skycells.associations import token_expr
from roman_asn.skycells.footprints import (
    DEC_CORNERS,
    POINTING_COLUMNS,
    RA_CORNERS,
    SREGION_COLUMN,
)
from roman_asn.skycells.lookup import MAX_FOOTPRINT_RADIUS_DEG, CellMatches
from roman_asn.skycells.skymap import SkyMap, get_skymap
from roman_asn.visit_id import is_visit_id

FOOTPRINT_COLUMNS = (*RA_CORNERS, *DEC_CORNERS, SREGION_COLUMN, *POINTING_COLUMNS[:3])
NO_FOOTPRINT = "no footprint (no ra_corn/dec_corn corners, s_region, or pointing with detector)"
NO_DETECTOR = "no footprint: its pointing places detectors WFI01..WFI18, and its detector is {}"
NO_CELL = "footprint touches no sky cell"
TOO_BIG = (
    f"footprint wider than {MAX_FOOTPRINT_RADIUS_DEG:g} deg in radius "
    "(a detector's is about 0.1 deg): bad corners or S_REGION"
)
NO_COLUMNS = "the pool has no footprint or pointing columns"
EXPOSURE_LEVEL = (
    "exposure-level row (detector WFI): its detector files have no footprints of their "
    "own in the pool, and the exposure's file is no sky-cell member"
)
# The column the expander adds: the name of the sky cell.
SKYCELL_COLUMN = "skycell"


def has_footprint_columns(columns: list[str]) -> bool:
    names = {c.lower() for c in columns}
    corners = all(c in names for c in (*RA_CORNERS, *DEC_CORNERS))
    pointing = all(c in names for c in POINTING_COLUMNS)
    return corners or SREGION_COLUMN in names or pointing


def _tokens(visit_ids: pl.Series) -> pl.DataFrame:
    """visit, pass and daily token of each distinct 19-digit visit id (others: null)."""
    distinct = [v for v in visit_ids.unique().to_list() if is_visit_id(v)]
    ids = pl.col("visit_id")
    return pl.DataFrame({"visit_id": distinct}, schema={"visit_id": pl.Utf8}).with_columns(
        token_expr(ids, "visit").alias("visit_token"),
        token_expr(ids, "pass").alias("pass_token"),
        token_expr(ids, "daily").alias("daily_token"),
    )


@dataclass
class RowCells:
    """The sky cells of each row of a frame (CSR ``matches``) and, for a row with none,
    why (``failures``, null where the row has cells)."""

    matches: CellMatches
    failures: pl.Series

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(row index, cell index) of every match, in row then cell order."""
        return self.matches.row_of_match(), self.matches.cells


def match_rows(frame: pl.DataFrame, skymap: SkyMap | None = None) -> RowCells:
    """The cells every row's footprint touches (the expensive half of the expander)."""
    from roman_asn.skycells import footprints_from_table, match_footprints
    from roman_asn.skycells.footprints import unknown_detectors
    from roman_asn.skycells.lookup import footprint_radii

    if not has_footprint_columns(frame.columns):
        raise ExpanderSkip(NO_COLUMNS)
    skymap = skymap or get_skymap()
    ra, dec, source = footprints_from_table(frame)
    # a footprint far larger than a detector's (~0.1 deg) is bad metadata: that row has
    # no cells, with the reason, and the others go on
    too_big = np.nan_to_num(footprint_radii(ra, dec), nan=0.0) > MAX_FOOTPRINT_RADIUS_DEG
    # a whole exposure's row names a file no Level 2 step makes (its 18 detector files
    # are the members, and their footprints are not the exposure's)
    whole = _exposure_level(frame)
    if too_big.any() or whole.any():
        ra, dec = ra.copy(), dec.copy()
        ra[too_big | whole], dec[too_big | whole] = np.nan, np.nan
    matches = match_footprints(ra, dec, skymap)
    # why a row has no footprint: looked into for those rows only (usually none)
    none = source == ""
    unknown = np.zeros(frame.height, dtype=bool)
    if none.any():
        unknown[none] = unknown_detectors(frame.filter(pl.Series(none)))
    failures = (
        pl.select(
            pl.when(pl.Series(whole))
            .then(pl.lit(EXPOSURE_LEVEL))
            .when(pl.Series(too_big))
            .then(pl.lit(TOO_BIG))
            .when(pl.Series(unknown))
            .then(_unknown_detector(frame) if unknown.any() else pl.lit(NO_FOOTPRINT))
            .when(pl.Series(none))
            .then(pl.lit(NO_FOOTPRINT))
            .when(pl.Series(matches.counts() == 0))
            .then(pl.lit(NO_CELL))
            .otherwise(pl.lit(None, dtype=pl.Utf8))
        )
        .to_series()
        .alias(EXPAND_FAILURE)
    )
    return RowCells(matches, failures)


def _unknown_detector(frame: pl.DataFrame) -> pl.Series:
    """Why a row with a pointing has no footprint: its detector value, quoted."""
    column = next(c for c in frame.columns if c.lower() == "detector")
    value = pl.col(column).cast(pl.Utf8, strict=False)
    quoted = pl.concat_str(pl.lit("'"), value, pl.lit("'")).fill_null(pl.lit("null"))
    return frame.select(pl.format(NO_DETECTOR, quoted)).to_series()


def _exposure_level(frame: pl.DataFrame) -> np.ndarray:
    """Which rows stand for a whole exposure (``hooks.is_exposure_level``)."""
    from roman_asn.rules.hooks import is_exposure_level

    if "filename" not in frame.columns:
        return np.zeros(frame.height, dtype=bool)
    if "detector" not in frame.columns:
        frame = frame.select("filename", pl.lit(None, dtype=pl.Utf8).alias("detector"))
    return frame.select(is_exposure_level().fill_null(False)).to_series().to_numpy()


def expand_matched(
    frame: pl.DataFrame, cells: RowCells, skymap: SkyMap | None = None
) -> pl.DataFrame:
    """One row per (row, cell) of ``cells``; a row without cells keeps one row.

    Rows keep their order (the engine relies on it): row i repeated max(count, 1) times.
    """
    skymap = skymap or get_skymap()
    matches = cells.matches
    counts = matches.counts()
    repeats = np.maximum(counts, 1)
    take = np.repeat(np.arange(frame.height), repeats)
    starts = (np.cumsum(repeats) - repeats).astype(np.int64)  # an empty frame too
    inner = np.arange(len(take)) - np.repeat(starts, repeats)
    matched = np.repeat(counts > 0, repeats)
    index = np.full(len(take), -1, dtype=np.int64)
    index[matched] = matches.cells[matches.offsets[take[matched]] + inner[matched]]
    names = pl.Series(SKYCELL_COLUMN, [None] * len(take), dtype=pl.Utf8)
    if matched.any():
        # a cell's name is made once, then gathered: a unit's 400k matches name a few
        # thousand cells, and each name made is a Python string on the way into polars
        cells_of, which = np.unique(index[matched], return_inverse=True)
        named = pl.Series(skymap.names(cells_of), dtype=pl.Utf8).gather(which.ravel())
        names = names.scatter(np.flatnonzero(matched), named)
    drop = [c for c in frame.columns if c.lower() in FOOTPRINT_COLUMNS and c != "detector"]
    out = frame.drop(drop).with_columns(cells.failures).select(pl.all().gather(take))
    out = out.with_columns(pl.col("filename").alias("file"), names)
    if "visit_id" in out.columns:
        visit = out["visit_id"].cast(pl.Utf8)
        out = out.with_columns(visit.alias("visit_id")).join(
            _tokens(visit), on="visit_id", how="left", maintain_order="left"
        )
    return out


@register_expander(
    "skycells", inputs=(*FOOTPRINT_COLUMNS, "detector", "visit_id"), label="sky-cell rules"
)
def skycells(frame: pl.DataFrame, skymap: SkyMap | None = None) -> pl.DataFrame:
    """One row per (row, sky cell its footprint touches); rows without keep one row."""
    skymap = skymap or get_skymap()
    return expand_matched(frame, match_rows(frame, skymap), skymap)
