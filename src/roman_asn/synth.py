"""Synthetic WFI pools: realistic, deterministic, and fast enough for 10 million rows.

``synth_pool(exposures, seed=..., survey=...)`` lays out exposures the way the
surveys do and expands each to its 18 detector files:

- HLWAS: a program tiles sky regions at high galactic latitude (south galactic
  cap). A pass covers one region (passes come in pairs over the same region, the
  second rotated and shifted by half a tile); a segment is one strip of tiles; an
  observation is one optical element over the strip (the eight imaging filters,
  then GRISM or PRISM); a visit is one tile; its exposures are small dithers.
- GBTDS: seven fields in the Galactic bulge (RA 268-270, Dec -29..-30), each
  visited once per pass (one observation per field, one exposure per visit),
  revisited for many passes; F146 mostly, another filter every sixth pass, the
  prism every 25th.
- Calibration: WFI_DARK and WFI_FLAT exposures (about 2% of the total) with no
  sky position.

Every quantity comes from integer arithmetic on the exposure index plus one
``numpy`` random generator seeded with ``seed``, so the same arguments give the
same table, and all work is done on whole columns (no Python loop per row).
Footprints are approximate: a 6x3 grid of 0.125 deg square detectors around the
pointing, rotated by the position angle on the tangent plane.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

from roman_asn.errors import RomanAsnError
from roman_asn.pool.columns import CANDIDATE_DTYPE, COLUMN_TYPES, ROW_COLUMN
from roman_asn.pool.reader import Pool
from roman_asn.visit_id import visit_id_expr

Survey = Literal["hlwas", "gbtds", "mixed"]
SURVEYS: tuple[str, ...] = ("hlwas", "gbtds", "mixed")

IMAGING_FILTERS: tuple[str, ...] = (
    "F062",
    "F087",
    "F106",
    "F129",
    "F146",
    "F158",
    "F184",
    "F213",
)
N_DETECTORS = 18
DETECTOR_SIZE_DEG = 0.125
DETECTOR_PITCH_DEG = 0.135  # detector size plus the gap between detectors

HLWAS_PROGRAM = 1
GBTDS_PROGRAM = 2
CAL_PROGRAM = 9

# HLWAS layout: observations per segment (8 filters + 1 spectroscopic), segments
# (strips) per pass, visits (tiles) per strip, dithers per visit.
HLWAS_OBSERVATIONS = len(IMAGING_FILTERS) + 1
HLWAS_SEGMENTS = 20
HLWAS_TILES = 6
HLWAS_DITHERS = (3, 4)
TILE_WIDTH_DEG = 0.75  # across the 6 detector columns, with overlap
TILE_HEIGHT_DEG = 0.38  # across the 3 detector rows, with overlap

# GBTDS fields (RA, Dec) in the bulge, revisited every pass.
GBTDS_FIELDS: tuple[tuple[float, float], ...] = (
    (268.20, -29.05),
    (268.55, -29.20),
    (268.90, -29.35),
    (269.25, -29.50),
    (269.60, -29.65),
    (269.95, -29.80),
    (268.60, -29.90),
)
GBTDS_OTHER_FILTERS = tuple(f for f in IMAGING_FILTERS if f != "F146")

EXPOSURE_ERRORS: tuple[str, ...] = (
    "Guide star acquisition failed",
    "Data volume incomplete: 2 resultants missing",
    "Fine guidance lost during exposure",
)

EPOCH_MS = 1_830_297_600_000  # 2028-01-01T00:00:00Z, a notional survey start

# Columns added for romancal 1.0.3's rules (read by its image/pass/full rules
# or present in its 29-column test pools); see ``romancal_columns``.
ROMANCAL_EXTRA_COLUMNS: tuple[str, ...] = (
    "visit_grp",
    "visit_type",
    "seq_id",
    "act_id",
    "nexpsur",
    "target_id",
    "dither",
    "subpix_dither",
    "tile",
    "n_tiles",
)


def detector_layout() -> tuple[np.ndarray, np.ndarray]:
    """Focal-plane centres (x, y) in degrees of WFI01..WFI18: 6 columns x 3 rows.

    Detectors are numbered up each column, columns left to right; the outer
    columns sit a little lower, like the WFI's arc.
    """
    index = np.arange(N_DETECTORS)
    column, row = index // 3, index % 3
    x = (column - 2.5) * DETECTOR_PITCH_DEG
    y = (row - 1) * DETECTOR_PITCH_DEG - 0.012 * (column - 2.5) ** 2
    return x, y


def footprints(ra: np.ndarray, dec: np.ndarray, pa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Corner (ra, dec) arrays of shape (n, 18, 4) for pointings of shape (n,).

    Corners go (-x,-y), (+x,-y), (+x,+y), (-x,+y) in the detector frame; the
    frame is rotated by the position angle (east of north) and projected
    gnomonically around the pointing.
    """
    det_x, det_y = detector_layout()
    half = DETECTOR_SIZE_DEG / 2
    corner_x = np.array([-half, half, half, -half])
    corner_y = np.array([-half, -half, half, half])
    x = np.radians(det_x[:, None] + corner_x[None, :])[None]  # (1, 18, 4)
    y = np.radians(det_y[:, None] + corner_y[None, :])[None]
    theta = np.radians(pa)[:, None, None]
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    xi = x * cos_t + y * sin_t
    eta = -x * sin_t + y * cos_t
    ra0 = np.radians(ra)[:, None, None]
    dec0 = np.radians(dec)[:, None, None]
    cos_d, sin_d = np.cos(dec0), np.sin(dec0)
    denominator = cos_d - eta * sin_d
    corner_ra = np.degrees(ra0 + np.arctan2(xi, denominator)) % 360.0
    corner_dec = np.degrees(np.arctan2(sin_d + eta * cos_d, np.hypot(xi, denominator)))
    return corner_ra, corner_dec


def _labels(template: str, values: np.ndarray) -> np.ndarray:
    """``template.format(v)`` for every value, formatting each distinct value once."""
    distinct, inverse = np.unique(values, return_inverse=True)
    return np.asarray([template.format(int(v)) for v in distinct])[inverse]


def _hlwas(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Exposure-level columns for ``n`` HLWAS exposures."""
    low, high = HLWAS_DITHERS
    counts = rng.integers(low, high + 1, size=n // low + 1)
    n_visits = int(np.searchsorted(np.cumsum(counts), n)) + 1
    counts = counts[:n_visits]
    visit_index = np.repeat(np.arange(n_visits), counts)[:n]
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    exposure = np.arange(n) - first[visit_index] + 1

    # visit index -> tile, observation, segment, pass (mixed radix, overflowing
    # into execution plan and program so any size fits the 3-digit fields)
    tile = visit_index % HLWAS_TILES
    rest = visit_index // HLWAS_TILES
    observation = rest % HLWAS_OBSERVATIONS
    rest //= HLWAS_OBSERVATIONS
    segment = rest % HLWAS_SEGMENTS
    pass_index = rest // HLWAS_SEGMENTS
    pass_number = pass_index % 999 + 1
    plan = pass_index // 999 % 99 + 1
    program = HLWAS_PROGRAM + pass_index // (999 * 99) * 10

    # one region per pair of passes; regions walk through the south galactic cap
    region = pass_index // 2
    second_pass = pass_index % 2 == 1
    region_ra = 5.0 + (region % 12) * 5.5
    region_dec = -28.0 - (region // 12 % 5) * 6.5
    shift = np.where(second_pass, 0.5, 0.0)
    tile_dec = region_dec + (segment - HLWAS_SEGMENTS / 2 + shift) * TILE_HEIGHT_DEG * 0.6
    tile_ra = region_ra + (tile - HLWAS_TILES / 2 + shift) * TILE_WIDTH_DEG / np.cos(
        np.radians(tile_dec)
    )
    dither_ra = rng.normal(0.0, 0.01, size=n)
    dither_dec = rng.normal(0.0, 0.01, size=n)
    pointing_dec = tile_dec + np.where(exposure > 1, dither_dec, 0.0)
    pointing_ra = (
        tile_ra + np.where(exposure > 1, dither_ra, 0.0) / np.cos(np.radians(pointing_dec))
    ) % 360.0
    pointing_pa = (np.where(second_pass, 72.0, 60.0) + region % 7 * 3.0) + rng.normal(
        0.0, 0.05, size=n
    )

    # observation 0..7: an imaging filter (order rotated per segment), 8: GRISM or PRISM
    spectroscopic = observation == len(IMAGING_FILTERS)
    filters = np.asarray(IMAGING_FILTERS)[(observation + segment) % len(IMAGING_FILTERS)]
    spectral_element = np.where(segment % 2 == 0, "GRISM", "PRISM")
    optical_element = np.where(spectroscopic, spectral_element, filters)
    exp_type = np.where(
        spectroscopic, np.where(segment % 2 == 0, "WFI_GRISM", "WFI_PRISM"), "WFI_IMAGE"
    )
    target = _labels("HLWAS-R{:03d}", region + 1)
    subcategory = np.where(region % 4 == 3, "DEEP", "WIDE")

    # mosaic candidates: imaging rows of every other region
    mosaic = ~spectroscopic & (region % 2 == 0)
    group_id = _labels("c1{:03d}", region // 2 % 1000)
    duration_ms = np.where(spectroscopic, 300_000, 140_000) + np.where(
        exposure == 1, 90_000, 15_000
    )
    return {
        "program": program,
        "execution_plan": plan,
        "pass": pass_number,
        "segment": segment + 1,
        "observation": observation + 1,
        "visit": tile + 1,
        "exposure": exposure,
        "exp_type": exp_type,
        "optical_element": optical_element,
        "target": target,
        "category": np.full(n, "HLWAS"),
        "subcategory": subcategory,
        "pointing_ra": pointing_ra,
        "pointing_dec": pointing_dec,
        "pointing_pa": pointing_pa,
        "group_id": np.where(mosaic, group_id, ""),
        "group_type": np.where(mosaic, "mosaic", ""),
        "duration_ms": duration_ms,
        "nexpsur": counts[visit_index],
        "tile": tile + 1,
        "n_tiles": np.full(n, HLWAS_TILES),
        "visit_type": np.full(n, "HLWAS"),
    }


def _gbtds(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Exposure-level columns for ``n`` GBTDS exposures: one per field per pass."""
    n_fields = len(GBTDS_FIELDS)
    index = np.arange(n)
    field = index % n_fields
    pass_index = index // n_fields
    pass_number = pass_index % 999 + 1
    segment = pass_index // 999 % 999 + 1
    plan = pass_index // (999 * 999) + 1

    centres = np.asarray(GBTDS_FIELDS)
    jitter = rng.normal(0.0, 0.0008, size=(n, 2))
    pointing_dec = centres[field, 1] + jitter[:, 1]
    pointing_ra = centres[field, 0] + jitter[:, 0] / np.cos(np.radians(pointing_dec))
    # the bulge season flips the roll: PA near 90 or 270, drifting slowly
    pointing_pa = np.where(pass_index // 480 % 2 == 0, 90.0, 270.0) + (pass_index % 480) * 0.01

    prism = pass_index % 25 == 24
    other = (pass_index % 6 == 5) & ~prism
    other_filter = np.asarray(GBTDS_OTHER_FILTERS)[pass_index // 6 % len(GBTDS_OTHER_FILTERS)]
    optical_element = np.where(prism, "PRISM", np.where(other, other_filter, "F146"))
    exp_type = np.where(prism, "WFI_PRISM", "WFI_IMAGE")
    target = _labels("GBTDS-F{:02d}", field + 1)
    subcategory = np.where(field == n_fields - 1, "GALCEN", "WIDE")
    duration_ms = np.where(prism, 200_000, 66_000) + 20_000
    return {
        "program": np.full(n, GBTDS_PROGRAM),
        "execution_plan": plan,
        "pass": pass_number,
        "segment": segment,
        "observation": field + 1,
        "visit": np.ones(n, dtype=np.int64),
        "exposure": np.ones(n, dtype=np.int64),
        "exp_type": exp_type,
        "optical_element": optical_element,
        "target": target,
        "category": np.full(n, "GBTDS"),
        "subcategory": subcategory,
        "pointing_ra": pointing_ra,
        "pointing_dec": pointing_dec,
        "pointing_pa": pointing_pa,
        # every field is one observer-defined group over all its passes
        "group_id": _labels("c1{:03d}", field + 1),
        "group_type": np.full(n, "group"),
        "duration_ms": duration_ms,
        "nexpsur": np.ones(n, dtype=np.int64),
        "tile": field + 1,
        "n_tiles": np.full(n, n_fields),
        "visit_type": np.full(n, "GBTDS"),
    }


def _calibration(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Exposure-level columns for ``n`` darks and flats (no sky position)."""
    index = np.arange(n)
    visit = index // 2  # two exposures per calibration visit
    dark = visit % 2 == 0
    flat_filter = np.asarray(IMAGING_FILTERS)[visit // 2 % len(IMAGING_FILTERS)]
    nothing = np.full(n, np.nan)
    return {
        "program": np.full(n, CAL_PROGRAM),
        "execution_plan": np.ones(n, dtype=np.int64),
        "pass": visit // 999 % 999 + 1,
        "segment": np.ones(n, dtype=np.int64),
        "observation": np.where(dark, 1, 2),
        "visit": visit % 999 + 1,
        "exposure": index % 2 + 1,
        "exp_type": np.where(dark, "WFI_DARK", "WFI_FLAT"),
        "optical_element": np.where(dark, "DARK", flat_filter),
        "target": np.full(n, ""),
        "category": np.full(n, "CAL"),
        "subcategory": np.where(dark, "DARK", "FLAT"),
        "pointing_ra": nothing,
        "pointing_dec": nothing,
        "pointing_pa": nothing,
        "group_id": np.full(n, ""),
        "group_type": np.full(n, ""),
        "duration_ms": np.full(n, 200_000) + rng.integers(0, 1000, size=n),
        "nexpsur": np.full(n, 2),
        "tile": np.ones(n, dtype=np.int64),
        "n_tiles": np.ones(n, dtype=np.int64),
        "visit_type": np.full(n, "CAL"),
    }


def _split(exposures: int, survey: str) -> dict[str, int]:
    """How many exposures each part gets: about 2% calibration, the rest science."""
    calibration = exposures // 50
    science = exposures - calibration
    if survey == "hlwas":
        return {"hlwas": science, "gbtds": 0, "cal": calibration}
    if survey == "gbtds":
        return {"hlwas": 0, "gbtds": science, "cal": calibration}
    gbtds = science * 2 // 5
    return {"hlwas": science - gbtds, "gbtds": gbtds, "cal": calibration}


def _exposure_frame(exposures: int, seed: int, survey: str) -> pl.DataFrame:
    """One row per exposure, ordered by start time."""
    rng = np.random.default_rng(seed)
    parts = []
    for name, make in (("hlwas", _hlwas), ("gbtds", _gbtds), ("cal", _calibration)):
        count = _split(exposures, survey)[name]
        if not count:
            continue
        columns = make(count, rng)
        # each program keeps its own clock from the epoch; sorting interleaves them
        duration = columns.pop("duration_ms")
        start = EPOCH_MS + np.cumsum(duration) - duration
        parts.append(pl.DataFrame({**columns, "start_ms": start}))
    frame = pl.concat(parts, how="vertical_relaxed")
    frame = frame.sort("start_ms", maintain_order=True)

    n = frame.height
    codes = np.full(n, -1)
    if n >= 20:
        picked = rng.choice(n, size=max(1, n // 500), replace=False)
        codes[picked] = rng.integers(0, len(EXPOSURE_ERRORS), size=picked.size)
    errors = pl.Series("exposerr", codes).replace_strict(
        dict(enumerate(EXPOSURE_ERRORS)), default=None, return_dtype=pl.Utf8
    )
    return frame.with_columns(errors)


def synth_frame(
    exposures: int, *, seed: int = 0, survey: str = "mixed", romancal_columns: bool = False
) -> pl.DataFrame:
    """The synthetic pool as a typed polars table (18 rows per exposure)."""
    if exposures < 1:
        raise RomanAsnError(f"--exposures must be at least 1 (got {exposures})")
    if survey not in SURVEYS:
        raise RomanAsnError(f"unknown survey {survey!r} (choose from {', '.join(SURVEYS)})")
    exp = _exposure_frame(exposures, seed, survey)
    n = exp.height

    visit_id = visit_id_expr()
    observation_candidate = pl.struct(
        id=pl.format("o{}", pl.col("observation").cast(pl.Utf8).str.zfill(3)),
        type=pl.lit("observation"),
    )
    group_candidate = pl.struct(id=pl.col("group_id"), type=pl.col("group_type"))
    candidates = (
        pl.when(pl.col("group_id") != "")
        .then(pl.concat_list([observation_candidate, group_candidate]))
        .otherwise(pl.concat_list([observation_candidate]))
    )
    exp = exp.with_columns(
        visit_id=visit_id,
        candidates=candidates.cast(CANDIDATE_DTYPE),
        start_time=pl.from_epoch("start_ms", time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%S%.3f"),
        instrument=pl.lit("WFI"),
        target=pl.when(pl.col("target") == "").then(None).otherwise(pl.col("target")),
    )

    # expand to detectors: 18 rows per exposure, in detector order
    rows = np.repeat(np.arange(n), N_DETECTORS)
    detector = np.tile(np.arange(1, N_DETECTORS + 1), n)
    scratch = ["group_id", "group_type", "start_ms"]
    if not romancal_columns:
        scratch += ["nexpsur", "tile", "n_tiles", "visit_type"]
    frame = exp.drop(scratch).select(pl.all().gather(rows))
    corner_ra, corner_dec = footprints(
        exp["pointing_ra"].to_numpy(), exp["pointing_dec"].to_numpy(), exp["pointing_pa"].to_numpy()
    )
    corner_ra = np.round(corner_ra.reshape(-1, 4), 6)
    corner_dec = np.round(corner_dec.reshape(-1, 4), 6)
    detector_text = pl.Series("detector_number", detector).cast(pl.Utf8).str.zfill(2)
    frame = frame.with_columns(
        detector_text,
        *(pl.Series(f"ra_corn{k + 1}", corner_ra[:, k]) for k in range(4)),
        *(pl.Series(f"dec_corn{k + 1}", corner_dec[:, k]) for k in range(4)),
    ).with_columns(
        pl.col(f"{axis}_corn{k}").fill_nan(None) for axis in ("ra", "dec") for k in range(1, 5)
    )
    exposure_text = pl.col("exposure").cast(pl.Utf8).str.zfill(4)
    polygon = pl.concat_str(
        [pl.lit("POLYGON ICRS")]
        + [
            pl.col(f"{axis}_corn{k}").round(6).cast(pl.Utf8)
            for k in range(1, 5)
            for axis in ("ra", "dec")
        ],
        separator=" ",
    )
    frame = frame.with_columns(
        filename=pl.format(
            "r{}_{}_wfi{}_uncal.asdf", pl.col("visit_id"), exposure_text, pl.col("detector_number")
        ),
        detector=pl.format("WFI{}", pl.col("detector_number")),
        observation_id=pl.format("{}P01101{}", pl.col("visit_id"), exposure_text),
        s_region=polygon,
        pointing_ra=pl.col("pointing_ra").round(7).fill_nan(None),
        pointing_dec=pl.col("pointing_dec").round(7).fill_nan(None),
        pointing_pa=pl.col("pointing_pa").round(4).fill_nan(None),
    )
    columns = [pl.col(name).cast(dtype) for name, dtype in COLUMN_TYPES.items()]
    if romancal_columns:
        columns += _romancal_columns()
    return frame.select(columns)


def _romancal_columns() -> list[pl.Expr]:
    """The extra columns of romancal 1.0.3's 29-column pools, with values its rules accept."""
    return [
        pl.lit(1, dtype=pl.Int64).alias("visit_grp"),
        pl.col("visit_type"),
        pl.lit(1, dtype=pl.Int64).alias("seq_id"),
        pl.lit(1, dtype=pl.Int64).alias("act_id"),
        pl.col("nexpsur").cast(pl.Int64),
        pl.col("observation").alias("target_id"),
        pl.when(pl.col("category") == "CAL")
        .then(pl.lit("NONE"))
        .otherwise(pl.lit("BOXGAP4"))
        .alias("dither"),
        pl.lit("NONE").alias("subpix_dither"),
        pl.col("tile").cast(pl.Int64),
        pl.col("n_tiles").cast(pl.Int64),
    ]


def synth_pool(
    exposures: int,
    *,
    seed: int = 0,
    survey: str = "mixed",
    romancal_columns: bool = False,
    path: str | None = None,
) -> Pool:
    """A synthetic pool of ``exposures`` exposures (18 detector rows each).

    ``romancal_columns`` adds the columns romancal 1.0.3's rules need besides the
    canonical ones (tile, n_tiles, nexpsur, ...), for pools written with legacy
    names and run through its generator.
    """
    frame = synth_frame(exposures, seed=seed, survey=survey, romancal_columns=romancal_columns)
    table = frame.with_row_index(ROW_COLUMN).select(pl.exclude(ROW_COLUMN), ROW_COLUMN)
    return Pool(table, path=path)
