"""Exposure footprints: from a Level 2 file's gwcs, from pool columns, or from the
pointing and the WFI detector layout of the Roman SIAF.

The generator's entry point is :func:`footprints_from_table`: one call for a
whole pool (a polars DataFrame), returning (n, 4) corner arrays with NaN rows
where a row has no footprint, ready for
:func:`roman_asn.skycells.lookup.match_footprints`.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from roman_asn.errors import RomanAsnError
from roman_asn.rejects import RejectedInput

# (ra, dec) column of each of the four corners of a footprint, in vertex order
CORNER_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (f"ra_corn{i}", f"dec_corn{i}") for i in range(1, 5)
)
RA_CORNERS = tuple(ra for ra, _ in CORNER_COLUMNS)
DEC_CORNERS = tuple(dec for _, dec in CORNER_COLUMNS)
POINTING_COLUMNS = ("pointing_ra", "pointing_dec", "pointing_pa", "detector")
SREGION_COLUMN = "s_region"
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
# POLYGON, an optional frame word (ICRS, J2000, ...), then pairs of numbers. Every
# number is its own token between spaces, so a failing match cannot backtrack through
# the ways to split digits among numbers (exponential in their count: a hostile row)
_PAIRS = rf"{_NUMBER}\s+{_NUMBER}(?:\s+{_NUMBER}\s+{_NUMBER})*"
_SREGION = re.compile(rf"^\s*POLYGON\s+(?:[A-Za-z][A-Za-z0-9]*\s+)?({_PAIRS})\s*$", re.IGNORECASE)


def wrap_ra(ra) -> NDArray:
    """RA in [0, 360): ``% 360`` alone gives 360.0 for a tiny negative angle."""
    out = np.asarray(ra, dtype=float) % 360.0
    return np.where(out >= 360.0, 0.0, out)


# ---- gwcs -----------------------------------------------------------------------
def pixel_box(wcs, data_shape: tuple[int, ...] | None = None) -> tuple[tuple[float, ...], str]:
    """(x0, x1, y0, y1) of the pixels a WCS covers, and where that came from.

    The bounding box when the WCS has one; else the WCS ``pixel_shape`` (as
    romancal does), else the shape of the data array (``data_shape``, numpy order),
    as the outer pixel edges -0.5 .. n - 0.5. Raises ValueError when none is known.
    """
    try:
        box = wcs.bounding_box
    except (AttributeError, NotImplementedError, ValueError, TypeError):
        box = None
    if box is not None:
        try:
            # a ModelBoundingBox; a plain tuple is already in x, y order in gwcs
            intervals = box.bounding_box(order="F") if hasattr(box, "intervals") else box
            (x0, x1), (y0, y1) = (tuple(map(float, interval)) for interval in intervals)
            return (x0, x1, y0, y1), "bounding box"
        except (TypeError, ValueError):
            pass  # compound or malformed boxes: fall back to the shapes
    shape = getattr(wcs, "pixel_shape", None)
    if shape is not None and len(shape) >= 2 and all(n for n in shape[:2]):
        nx, ny = int(shape[0]), int(shape[1])
        return (-0.5, nx - 0.5, -0.5, ny - 0.5), "no bounding box: used the WCS pixel_shape"
    if data_shape is not None and len(data_shape) >= 2:
        ny, nx = (int(n) for n in data_shape[-2:])
        return (-0.5, nx - 0.5, -0.5, ny - 0.5), "no bounding box: used the data array shape"
    raise ValueError("the WCS has no bounding box, no pixel_shape and there is no data array")


# samples per edge of a gwcs footprint, corners included once, to follow distortion:
# romancal's sky-cell match takes 4 (find_skycell_matches, extra_vertices_per_edge=3),
# so the same file gives the same polygon in both
EDGE_SAMPLES = 4
# an edge whose samples stray further than this from the great circle through its
# corners is bowed by distortion: 1 mas, a hundredth of a WFI pixel
BOWED_EDGE_DEG = 1e-3 / 3600.0


def footprint_from_wcs(
    wcs, points_per_edge: int = EDGE_SAMPLES, data_shape: tuple[int, ...] | None = None
) -> tuple[NDArray, NDArray]:
    """(ra, dec) vertices of a gwcs footprint, sampled along its pixel box.

    ``points_per_edge`` samples per edge (corners included once) follow
    distortion; 1 gives the four corners (x0, y0), (x1, y0), (x1, y1), (x0, y1).
    The box is :func:`pixel_box`'s. Raises ValueError when the WCS covers no
    known pixels or gives non-finite coordinates.
    """
    return footprint_and_source(wcs, points_per_edge, data_shape)[:2]


def footprint_and_source(
    wcs, points_per_edge: int = EDGE_SAMPLES, data_shape: tuple[int, ...] | None = None
) -> tuple[NDArray, NDArray, str]:
    """:func:`footprint_from_wcs` and where its pixel box came from."""
    (x0, x1, y0, y1), box_source = pixel_box(wcs, data_shape)
    t = np.linspace(0.0, 1.0, points_per_edge, endpoint=False)
    xs = np.concatenate(
        [x0 + (x1 - x0) * t, np.full_like(t, x1), x1 - (x1 - x0) * t, np.full_like(t, x0)]
    )
    ys = np.concatenate(
        [np.full_like(t, y0), y0 + (y1 - y0) * t, np.full_like(t, y1), y1 - (y1 - y0) * t]
    )
    ra, dec = wcs(xs, ys, with_bounding_box=False)
    ra, dec = np.asarray(ra, dtype=float), np.asarray(dec, dtype=float)
    if not (np.all(np.isfinite(ra)) and np.all(np.isfinite(dec))):
        raise ValueError("the WCS gives non-finite sky coordinates on its pixel box")
    return wrap_ra(ra), dec, box_source


def unit_vectors(ra, dec) -> NDArray:
    """(..., 3) unit vectors of RA/Dec in degrees."""
    ra, dec = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def edge_bow(ra: NDArray, dec: NDArray, points_per_edge: int) -> float:
    """Largest angle (deg) between a sample of a footprint's edges and the great
    circle through that edge's two corners: 0 for a distortion-free TAN WCS, whose
    edges are great circles, so the four corners say all of it."""
    v = unit_vectors(ra, dec)
    ends = np.roll(v, -points_per_edge, axis=0)  # the next corner of each sample's edge
    corner = np.repeat(v[::points_per_edge], points_per_edge, axis=0)
    ends = np.repeat(ends[::points_per_edge], points_per_edge, axis=0)
    normal = np.cross(corner, ends)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    return float(np.degrees(np.max(np.abs(np.arcsin(np.clip(np.sum(v * normal, axis=1), -1, 1))))))


def outline_of_wcs(
    wcs, data_shape: tuple[int, ...] | None = None
) -> tuple[tuple[NDArray, NDArray], tuple[NDArray, NDArray] | None]:
    """The four corners of a gwcs footprint, and its outline sampled along the edges
    when distortion bows them beyond BOWED_EDGE_DEG (else None: the corners say it
    all). A pool then carries the same footprint as :func:`read_level2` samples."""
    ra, dec = footprint_from_wcs(wcs, EDGE_SAMPLES, data_shape)
    corners = (ra[::EDGE_SAMPLES], dec[::EDGE_SAMPLES])
    bowed = edge_bow(ra, dec, EDGE_SAMPLES) > BOWED_EDGE_DEG
    return corners, ((ra, dec) if bowed else None)


def read_level2(path: str | os.PathLike[str]) -> dict:
    """Metadata and footprint of a Level 2 file, without loading pixel data.

    Returns ``{'ra', 'dec', 'footprint_source', 'filter', 'observation': {...},
    'exposure_type'}``; ``footprint_source`` says which pixel box the footprint
    was sampled on (:func:`pixel_box`). Raises RomanAsnError naming the file and
    the reason when it cannot be used; a file that is no exposure file is refused
    by :func:`roman_asn.exposure_file.open_exposure`, with make-pool's reasons.
    """
    from roman_asn.exposure_file import open_exposure

    label = str(path)
    p = Path(path)
    if not p.exists():
        raise RomanAsnError("no such file", path=label)
    if p.is_dir():
        raise RomanAsnError("is a directory", path=label)
    try:
        with open_exposure(p) as exposure:
            return _level2_info(exposure.roman, exposure.meta)
    except RejectedInput as why:
        raise RomanAsnError(str(why), path=label) from None


def _level2_info(roman: Mapping[str, Any], meta: Mapping[str, Any]) -> dict:
    """:func:`read_level2`'s answer from an exposure's roman tree and its meta."""
    wcs = _get(meta, "wcs")
    if wcs is None:
        raise RejectedInput("no WCS (meta.wcs) in the file")
    data = _get(roman, "data")
    try:
        ra, dec, box_source = footprint_and_source(wcs, data_shape=getattr(data, "shape", None))
    except ValueError as error:
        raise RejectedInput(str(error)) from None
    except Exception as error:  # a broken transform
        raise RejectedInput(f"cannot evaluate the WCS: {error}") from None
    instrument = _get(meta, "instrument") or {}
    observation = _get(meta, "observation") or {}
    exposure = _get(meta, "exposure") or {}
    obs = {}
    for key in ("program", "execution_plan", "pass", "segment", "observation", "visit"):
        value = _get(observation, key)
        if value is not None:
            obs[key] = value
    return {
        "ra": ra,
        "dec": dec,
        "footprint_source": box_source,
        "filter": _str_or_none(_get(instrument, "optical_element")),
        "observation": obs,
        "exposure_type": _str_or_none(_get(exposure, "type")),
    }


def _get(node, key):
    try:
        return node[key]
    except (KeyError, TypeError, AttributeError):
        return getattr(node, key, None)


def _str_or_none(value) -> str | None:
    return None if value is None else str(value)


# ---- pool columns ---------------------------------------------------------------
def s_region_vertices(text: str) -> tuple[NDArray, NDArray]:
    """(ra, dec) vertices of ``POLYGON [frame] ra dec ra dec ...`` (3 or more).

    RA is wrapped into [0, 360); Dec must lie in [-90, 90] and every number be
    finite. Raises ValueError saying what is wrong otherwise.
    """
    match = _SREGION.match(text)
    if match is None:
        raise ValueError(f"not a POLYGON S_REGION: {text[:60]!r}")
    values = np.array(match.group(1).split(), dtype=float)
    if len(values) < 6:
        raise ValueError(f"a polygon needs 3 or more vertices, found {len(values) // 2}")
    if not np.all(np.isfinite(values)):
        raise ValueError("a polygon vertex is not a finite number")
    ra, dec = values[0::2], values[1::2]
    if np.any(np.abs(dec) > 90.0):
        raise ValueError(f"Dec {dec[np.abs(dec) > 90.0][0]} is outside [-90, 90]")
    if np.any(np.abs(ra) > 720.0):
        raise ValueError(f"RA {ra[np.abs(ra) > 720.0][0]} is not an angle in degrees")
    return wrap_ra(ra), dec


def parse_s_region(text: str | None) -> tuple[NDArray, NDArray] | None:
    """:func:`s_region_vertices`, or None when ``text`` is not a usable polygon."""
    if text is None:
        return None
    try:
        return s_region_vertices(text)
    except ValueError:
        return None


# _SREGION for ASCII text in the Rust regex dialect polars speaks: Python's \\s also
# takes \\x1c-\\x1f, and Python's \\d and float() take other scripts' digits
_SPACE = r"[ \t\n\r\f\v\x1c-\x1f]"
_ASCII_NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_ASCII_PREFIX = rf"^{_SPACE}*(?i:POLYGON){_SPACE}+(?:[A-Za-z][A-Za-z0-9]*{_SPACE}+)?"
_ASCII_PAIR = rf"{_ASCII_NUMBER}{_SPACE}+{_ASCII_NUMBER}"
_ASCII_SREGION = rf"{_ASCII_PREFIX}{_ASCII_PAIR}(?:{_SPACE}+{_ASCII_PAIR})*{_SPACE}*$"


def s_region_arrays(texts) -> tuple[NDArray, NDArray]:
    """:func:`parse_s_region` of a whole column (a polars Series) at once.

    Returns (n, k) RA/Dec arrays, NaN-padded to the longest polygon (k >= 4); a row
    that is no usable polygon is all NaN. A pool's s_region is parsed on every run
    and a distorted footprint has 16 vertices, so a loop in Python would dominate.
    Text with other than ASCII goes through :func:`parse_s_region` itself.
    """
    import polars as pl

    texts = texts.cast(pl.Utf8, strict=False)
    n = len(texts)
    ascii_ = (texts.str.len_bytes() == texts.str.len_chars()).fill_null(False).to_numpy()
    polygon = ascii_ & texts.str.contains(_ASCII_SREGION).fill_null(False).to_numpy()
    rows = np.flatnonzero(polygon)
    # only numbers and spaces follow the prefix of a matching row; runs of other
    # spaces are rare, and replacing them on every row would take most of the time
    body = texts.gather(rows).str.replace(_ASCII_PREFIX, "")
    odd = np.flatnonzero(body.str.contains(r"[\t\n\r\f\v\x1c-\x1f]| {2}").to_numpy())
    if len(odd):
        body = body.scatter(odd, body.gather(odd).str.replace_all(rf"{_SPACE}+", " "))
    numbers = body.str.strip_chars(" ").str.split(" ").cast(pl.List(pl.Float64), strict=False)
    counts = numbers.list.len().to_numpy().astype(np.int64)
    flat = numbers.explode().to_numpy().astype(float)  # NaN where float() would fail
    owner = np.repeat(np.arange(len(rows)), counts)
    position = np.arange(len(flat)) - np.repeat(np.cumsum(counts) - counts, counts)
    is_dec = position % 2 == 1
    bad = ~np.isfinite(flat) | np.where(is_dec, np.abs(flat) > 90.0, np.abs(flat) > 720.0)
    usable = (counts >= 6) & (np.bincount(owner[bad], minlength=len(rows)) == 0)
    width = max(4, int(counts[usable].max(initial=0)) // 2)
    slow_polygons = {}
    # other scripts' digits, and numbers polars reads otherwise than float(), the slow way
    for i in [*np.flatnonzero(~ascii_), *rows[~usable]]:
        poly = parse_s_region(texts[int(i)])
        if poly is not None:
            slow_polygons[int(i)] = poly
            width = max(width, len(poly[0]))
    ra = np.full((n, width), np.nan)
    dec = np.full((n, width), np.nan)
    keep = usable[owner]
    where, column = rows[owner[keep]], position[keep] // 2
    values, declination = flat[keep], is_dec[keep]
    ra[where[~declination], column[~declination]] = wrap_ra(values[~declination])
    dec[where[declination], column[declination]] = values[declination]
    for i, (pra, pdec) in slow_polygons.items():
        ra[i, : len(pra)], dec[i, : len(pdec)] = pra, pdec
    return ra, dec


@lru_cache(maxsize=1)
def wfi_layout() -> dict[str, object]:
    """Detector corners (V2, V3 in arcsec, shape (18, 4)) and the WFI_CEN reference."""
    import pysiaf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        siaf = pysiaf.Siaf("Roman")
    centre = siaf["WFI_CEN"]
    v2 = np.empty((18, 4))
    v3 = np.empty((18, 4))
    for i in range(18):
        v2[i], v3[i] = siaf[f"WFI{i + 1:02d}_FULL"].corners("tel")
    return {
        "v2": v2,
        "v3": v3,
        "v2_ref": float(centre.V2Ref),
        "v3_ref": float(centre.V3Ref),
        "v3_idl_y_angle": float(centre.V3IdlYAngle),
        # (V2Ref, V3Ref, V3IdlYAngle) of every aperture, for pointings of another one
        "apertures": {
            name: (float(ap.V2Ref), float(ap.V3Ref), float(ap.V3IdlYAngle))
            for name, ap in siaf.apertures.items()
        },
    }


def pointing_of_wfi_cen(
    ra: float, dec: float, pa_aperture: float, aperture: str
) -> tuple[float, float, float]:
    """(RA, Dec, aperture PA) of WFI_CEN for a pointing of another SIAF aperture.

    A file's ``meta.pointing`` places ``target_aperture`` on the target, and the
    pool's pointing columns mean WFI_CEN's (as :func:`detector_footprints` takes
    them). Raises KeyError for an aperture the Roman SIAF does not have.
    """
    from pysiaf.utils import rotations

    if aperture == "WFI_CEN":  # the usual case: no SIAF to read
        return ra, dec, pa_aperture
    apertures = wfi_layout()["apertures"]
    (attitude,) = attitude_matrices([ra], [dec], [pa_aperture], reference=apertures[aperture])
    v2_cen, v3_cen, y_angle_cen = apertures["WFI_CEN"]
    ra_cen, dec_cen = rotations.pointing(attitude, v2_cen, v3_cen)
    pa_cen = rotations.posangle(attitude, v2_cen, v3_cen) + y_angle_cen
    return float(wrap_ra(ra_cen)), float(dec_cen), float(pa_cen % 360.0)


def _rotations(axis: int, angle_deg: NDArray) -> NDArray:
    """Batched pysiaf ``rotate(axis, angle)`` matrices, (n, 3, 3)."""
    a = np.radians(angle_deg)
    c, s = np.cos(a), np.sin(a)
    m = np.zeros((len(a), 3, 3))
    ax0 = axis - 1
    ax1, ax2 = (ax0 + 1) % 3, (ax0 + 2) % 3  # cyclic order, right-handed
    m[:, ax0, ax0] = 1.0
    m[:, ax1, ax1] = c
    m[:, ax2, ax2] = c
    m[:, ax1, ax2] = -s
    m[:, ax2, ax1] = s
    return m


def attitude_matrices(
    ra: NDArray,
    dec: NDArray,
    pa_aperture: NDArray,
    reference: tuple[float, float, float] | None = None,
) -> NDArray:
    """Attitude matrices (n, 3, 3) putting a reference point at (ra, dec) with aperture
    PA: WFI_CEN's, else ``reference`` = (V2Ref, V3Ref arcsec, V3IdlYAngle).

    The batched form of ``pysiaf.utils.rotations.attitude`` (same rotations in the
    same order); the V3 position angle is the aperture's minus V3IdlYAngle.
    """
    lay = wfi_layout()
    v2_ref, v3_ref, y_angle = reference or (lay["v2_ref"], lay["v3_ref"], lay["v3_idl_y_angle"])
    n = len(ra)
    pa_v3 = np.asarray(pa_aperture, dtype=float) - y_angle
    mv2 = _rotations(3, np.full(n, -v2_ref / 3600.0))
    mv3 = _rotations(2, np.full(n, v3_ref / 3600.0))
    mra = _rotations(3, np.asarray(ra, dtype=float))
    mdec = _rotations(2, -np.asarray(dec, dtype=float))
    mpa = _rotations(1, -pa_v3)
    return mra @ mdec @ mpa @ mv3 @ mv2


def detector_footprints(
    ra: NDArray, dec: NDArray, pa_aperture: NDArray, detector: NDArray
) -> tuple[NDArray, NDArray]:
    """(n, 4) corner RA/Dec of WFI detectors (1..18) for pointings of WFI_CEN."""
    return _detectors_on_sky(attitude_matrices(ra, dec, pa_aperture), detector)


def detector_footprint_from_wcsinfo(
    wcsinfo: dict[str, float], detector: int
) -> tuple[NDArray, NDArray]:
    """The 4 corner RA/Dec of WFI detector ``detector`` (1..18) placed by a file's
    ``meta.wcsinfo``: ``ra_ref``/``dec_ref`` at ``v2_ref``/``v3_ref`` (arcsec) with the
    V3 position angle ``roll_ref`` there. This is romancal's assign_wcs telescope-to-sky
    rotation (``v23tosky``) on the detector's SIAF corners: the footprint its WCS
    will have, without the distortion reference file.
    """
    # roll_ref is a V3 position angle: no V3IdlYAngle to take off
    attitude = attitude_matrices(
        [wcsinfo["ra_ref"]],
        [wcsinfo["dec_ref"]],
        [wcsinfo["roll_ref"]],
        reference=(wcsinfo["v2_ref"], wcsinfo["v3_ref"], 0.0),
    )
    ra, dec = _detectors_on_sky(attitude, np.asarray([detector]))
    return ra[0], dec[0]


def _detectors_on_sky(attitudes: NDArray, detector: NDArray) -> tuple[NDArray, NDArray]:
    """(n, 4) RA/Dec of the SIAF corners of detectors (1..18) under attitude matrices."""
    lay = wfi_layout()
    det = np.asarray(detector, dtype=np.int64) - 1
    tel = unit_vectors(lay["v2"][det] / 3600.0, lay["v3"][det] / 3600.0)
    sky = np.einsum("nij,nkj->nki", attitudes, tel)
    out_ra = wrap_ra(np.degrees(np.arctan2(sky[..., 1], sky[..., 0])))
    out_dec = np.degrees(np.arcsin(np.clip(sky[..., 2], -1.0, 1.0)))
    return out_ra, out_dec


def _detector_numbers(values) -> NDArray[np.float64]:
    """WFI01 / wfi1 / 1 -> 1.0; anything else NaN (vectorized: a pool has millions)."""
    import polars as pl

    values = values if isinstance(values, pl.Series) else pl.Series(values, strict=False)
    text = values.cast(pl.Utf8, strict=False)
    number = text.str.extract(r"^\s*(?i:wfi)?([0-9]{1,2})\s*$", 1).cast(pl.Int64, strict=False)
    valid = number.is_between(1, 18).fill_null(False)
    return np.where(valid.to_numpy(), number.fill_null(0).to_numpy(), np.nan).astype(np.float64)


def unknown_detectors(table) -> NDArray[np.bool_]:
    """Rows whose pointing is whole but whose ``detector`` is none of WFI01..WFI18, so
    the pointing cannot place them (a row for a whole exposure, ``WFI``, included)."""
    import polars as pl

    cols = {c.lower(): c for c in table.columns}
    if not all(c in cols for c in POINTING_COLUMNS):
        return np.zeros(table.height, dtype=bool)
    whole = np.ones(table.height, dtype=bool)
    for name in POINTING_COLUMNS[:3]:
        values = table.get_column(cols[name]).cast(pl.Float64, strict=False)
        whole &= np.isfinite(values.fill_null(np.nan).to_numpy())
    return whole & np.isnan(_detector_numbers(table.get_column(cols["detector"])))


def footprints_from_table(table) -> tuple[NDArray, NDArray, NDArray[np.str_]]:
    """Footprints of every row of a pool table (a polars DataFrame).

    Per row, the first source that is complete wins: the four corners
    ``ra_corn1..4`` / ``dec_corn1..4``, then ``s_region`` (``POLYGON ICRS ...``),
    then the pointing ``pointing_ra``, ``pointing_dec``, ``pointing_pa`` (aperture
    PA) with ``detector`` (WFI01..WFI18) through the SIAF layout. Column names
    match case-insensitively.

    Returns ``(ra, dec, source)``: (n, k) arrays (k = 4, more when an S_REGION has
    more vertices; NaN-padded; all-NaN rows have no footprint) and the source
    used per row (``corners``, ``s_region``, ``pointing`` or ``""``). Pass ra/dec
    straight to :func:`roman_asn.skycells.lookup.match_footprints`.
    """
    import polars as pl

    cols = {c.lower(): c for c in table.columns}
    n = table.height
    ra = np.full((n, 4), np.nan)
    dec = np.full((n, 4), np.nan)
    source = np.full(n, "", dtype=object)
    done = np.zeros(n, dtype=bool)

    def floats(name: str) -> NDArray | None:
        col = cols.get(name)
        if col is None:
            return None
        return table.get_column(col).cast(pl.Float64, strict=False).fill_null(np.nan).to_numpy()

    ras = [floats(c) for c in RA_CORNERS]
    decs = [floats(c) for c in DEC_CORNERS]
    if all(a is not None for a in ras + decs):
        cr = np.stack(ras, axis=1)
        cd = np.stack(decs, axis=1)
        ok = np.all(np.isfinite(cr) & np.isfinite(cd), axis=1)
        ra[ok], dec[ok] = wrap_ra(cr[ok]), cd[ok]
        source[ok] = "corners"
        done |= ok

    if SREGION_COLUMN in cols and not done.all():
        rows = np.flatnonzero(~done)
        texts = table.get_column(cols[SREGION_COLUMN]).gather(rows)
        sra, sdec = s_region_arrays(texts)
        if sra.shape[1] > ra.shape[1]:
            pad = np.full((n, sra.shape[1] - ra.shape[1]), np.nan)
            ra, dec = np.hstack([ra, pad]), np.hstack([dec, pad])
        found = ~np.isnan(sra[:, 0])
        rows = rows[found]
        ra[rows, : sra.shape[1]], dec[rows, : sra.shape[1]] = sra[found], sdec[found]
        source[rows] = "s_region"
        done[rows] = True

    pra, pdec, ppa = (floats(c) for c in POINTING_COLUMNS[:3])
    pointing = pra is not None and pdec is not None and ppa is not None and "detector" in cols
    if pointing and not done.all():
        det = _detector_numbers(table.get_column(cols["detector"]))
        ok = ~done & np.isfinite(pra) & np.isfinite(pdec) & np.isfinite(ppa) & np.isfinite(det)
        if ok.any():
            r4, d4 = detector_footprints(pra[ok], pdec[ok], ppa[ok], det[ok])
            ra[ok, :4], dec[ok, :4] = r4, d4
            source[ok] = "pointing"
    return ra, dec, source.astype(str)
