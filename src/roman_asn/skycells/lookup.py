"""Which sky cells a point or a footprint touches: exact, vectorized, fast.

A cell matches a footprint when the cell's border-inclusive square (5000 px)
and the footprint polygon overlap or touch. The test is exact and cheap:

1. candidate regions from the footprint's bounding cap: Dec bands, then RA
   indices inside each ring (regions are uniform in RA), widened by the
   furthest a region's cells reach beyond its bounds (0.106 deg), so cells of
   a neighbouring region that spill over an edge are found too; poles and RA
   0/360 need no special case;
2. the footprint's vertices are projected into each candidate region's TAN
   plane, where great-circle edges are straight lines and cells are squares of
   a regular lattice;
3. lattice cells inside the footprint's bounding box are tested exactly
   (segment/square clipping plus point-in-polygon) and kept when the region
   has a cell there.

Everything works on numpy arrays of many footprints at once, in chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from roman_asn.skycells import tessellation as tess
from roman_asn.skycells.projection import radec_to_unit, sky_to_tan
from roman_asn.skycells.skymap import SkyMap, get_skymap

# furthest a kept cell reaches outside its region: a core corner lies inside, the
# opposite border corner is sqrt(2) * 4900 px away (angles <= plane lengths in TAN)
REACH_DEG = np.sqrt(2.0) * (tess.CELL_STRIDE + tess.CELL_BORDER) * tess.PIXEL_SCALE
MARGIN_DEG = REACH_DEG + 0.01
MAX_FOOTPRINT_RADIUS_DEG = 20.0
BORDER_HALF = tess.CELL_SIZE / 2.0 / tess.CELL_STRIDE  # 2500/4800 in lattice units
CORE_HALF = 0.5  # 2400/4800


@dataclass(frozen=True)
class CellMatches:
    """Cells of many footprints in CSR form.

    ``cells[offsets[i]:offsets[i + 1]]`` are the (sorted) cell indices of row i;
    a row without footprint has none.
    """

    offsets: NDArray[np.int64]
    cells: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def counts(self) -> NDArray[np.int64]:
        return np.diff(self.offsets)

    def row_of_match(self) -> NDArray[np.int64]:
        """Row index of every entry of ``cells`` (the COO form)."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.counts())

    def cells_of(self, row: int) -> NDArray[np.int64]:
        return self.cells[self.offsets[row] : self.offsets[row + 1]]

    def names(self, skymap: SkyMap | None = None) -> NDArray[np.str_]:
        """Names aligned with ``cells``."""
        return (skymap or get_skymap()).names(self.cells)

    def to_lists(self, skymap: SkyMap | None = None) -> list[list[str]]:
        names = self.names(skymap).tolist()
        return [names[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)]


class _Bands:
    """Dec bands of a sky map: band 0 is the north cap, the last the south cap."""

    def __init__(self, skymap: SkyMap) -> None:
        reg = skymap.regions
        dec_t = reg["dec_tangent"]
        # consecutive regions with the same tangent Dec form a band
        starts = np.flatnonzero(np.r_[True, dec_t[1:] != dec_t[:-1]])
        self.first = starts.astype(np.int64)
        self.size = np.diff(np.r_[starts, len(reg)]).astype(np.int64)
        self.top = reg["dec_max"][starts].astype(np.float64)
        self.bottom = reg["dec_min"][starts].astype(np.float64)
        self.is_cap = np.abs(dec_t[starts]) == 90.0


def _bands(skymap: SkyMap) -> _Bands:
    cached = getattr(skymap, "_bands_cache", None)
    if cached is None:
        cached = _Bands(skymap)
        skymap._bands_cache = cached  # type: ignore[attr-defined]
    return cached


def _expand(counts: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """For counts per parent: (parent index, position within parent) of every child."""
    counts = np.maximum(counts, 0)
    parent = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    within = np.arange(len(parent), dtype=np.int64) - starts[parent]
    return parent, within


def _bounding_caps(ra: NDArray, dec: NDArray, valid: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Centre (RA, Dec) and angular radius (deg) of a cap holding each footprint."""
    vec = radec_to_unit(ra, dec)  # (n, k, 3)
    vec = np.where(valid[..., None], vec, 0.0)
    centre = vec.sum(axis=1)
    norm = np.linalg.norm(centre, axis=1)
    norm = np.where(norm > 0, norm, 1.0)
    centre /= norm[:, None]
    cos_dist = np.einsum("nkj,nj->nk", vec, centre)
    cos_dist = np.where(valid, cos_dist, 1.0)
    radius = np.degrees(np.arccos(np.clip(cos_dist.min(axis=1), -1.0, 1.0)))
    c_ra = np.degrees(np.arctan2(centre[:, 1], centre[:, 0])) % 360.0
    c_dec = np.degrees(np.arcsin(np.clip(centre[:, 2], -1.0, 1.0)))
    return c_ra, c_dec, radius


def footprint_caps(
    ra: ArrayLike, dec: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(centre RA, centre Dec, radius), in degrees, of a cap about its mean holding
    each footprint (n, k vertices; NaN vertices ignored; NaN for a row without a
    first vertex, which has no footprint)."""
    ra = np.atleast_2d(np.asarray(ra, dtype=np.float64))
    dec = np.atleast_2d(np.asarray(dec, dtype=np.float64))
    valid = np.isfinite(ra) & np.isfinite(dec)
    caps = _bounding_caps(np.where(valid, ra, 0.0), np.where(valid, dec, 0.0), valid)
    c_ra, c_dec, radius = (np.where(valid[:, 0], x, np.nan) for x in caps)
    return c_ra, c_dec, radius


def footprint_radii(ra: ArrayLike, dec: ArrayLike) -> NDArray[np.float64]:
    """Angular radius (deg) of the smallest cap about its mean holding each footprint
    (n, k vertices; NaN vertices ignored, NaN for a row without a first vertex)."""
    return footprint_caps(ra, dec)[2]


def _candidate_regions(
    skymap: SkyMap, c_ra: NDArray, c_dec: NDArray, rho: NDArray
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(row, region) pairs whose region lies within ``rho`` deg of the row's centre."""
    bands = _bands(skymap)
    lo, hi = c_dec - rho, c_dec + rho
    # bands are sorted north to south: first band whose bottom <= hi, last whose top >= lo
    j_first = np.searchsorted(-bands.bottom, -hi, side="left")
    j_last = np.searchsorted(-bands.top, -lo, side="right") - 1
    j_first = np.clip(j_first, 0, len(bands.first) - 1)
    row, step = _expand(j_last - j_first + 1)
    band = j_first[row] + step
    size = bands.size[band]
    width = 360.0 / size
    cos_dec = np.cos(np.radians(c_dec[row]))
    full = bands.is_cap[band] | (np.abs(c_dec[row]) + rho[row] >= 90.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = np.degrees(np.arcsin(np.clip(np.sin(np.radians(rho[row])) / cos_dec, 0.0, 1.0)))
    i_lo = np.floor((c_ra[row] - half + width / 2.0) / width).astype(np.int64)
    i_hi = np.floor((c_ra[row] + half + width / 2.0) / width).astype(np.int64)
    count = np.where(full, size, np.minimum(i_hi - i_lo + 1, size))
    i_lo = np.where(full, 0, i_lo)
    pair, k = _expand(count)
    region = bands.first[band[pair]] + np.mod(i_lo[pair] + k, size[pair])
    return row[pair], region


def _segment_hits_square(x0, y0, x1, y1, half: float) -> NDArray[np.bool_]:
    """Whether segments (x0, y0)-(x1, y1) meet the square [-half, half]^2 (touching counts)."""
    t_lo = np.zeros(np.shape(x0))
    t_hi = np.ones(np.shape(x0))
    ok = np.ones(np.shape(x0), dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for p0, p1 in ((x0, x1), (y0, y1)):
            d = p1 - p0
            flat = d == 0
            ok &= ~flat | (np.abs(p0) <= half)
            ta = (-half - p0) / d
            tb = (half - p0) / d
            t_lo = np.where(flat, t_lo, np.maximum(t_lo, np.minimum(ta, tb)))
            t_hi = np.where(flat, t_hi, np.minimum(t_hi, np.maximum(ta, tb)))
    return ok & (t_lo <= t_hi)


def _origin_in_polygon(px: NDArray, py: NDArray, qx: NDArray, qy: NDArray) -> NDArray[np.bool_]:
    """Crossing-number test of (0, 0) against polygons with vertices (m, k), each
    vertex's next one in (qx, qy)."""
    straddles = (py > 0) != (qy > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = px + (0.0 - py) * (qx - px) / (qy - py)
    return (np.count_nonzero(straddles & (x_cross > 0), axis=1) % 2) == 1


def _match_chunk(
    skymap: SkyMap, ra: NDArray, dec: NDArray, valid: NDArray, half: float
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    n, k = ra.shape
    c_ra, c_dec, radius = _bounding_caps(ra, dec, valid)
    if np.any(radius[valid[:, 0]] > MAX_FOOTPRINT_RADIUS_DEG):
        raise ValueError(f"footprints must fit in a {MAX_FOOTPRINT_RADIUS_DEG} deg radius")
    rows_ok = valid[:, 0]
    sel = np.flatnonzero(rows_ok)
    row, region = _candidate_regions(skymap, c_ra[sel], c_dec[sel], radius[sel] + MARGIN_DEG)
    row = sel[row]
    reg = skymap.regions[region]
    scale = tess.CELL_STRIDE * tess.PIXEL_SCALE  # degrees per lattice step
    xi, eta, cos_c = sky_to_tan(
        ra[row], dec[row], reg["ra_tangent"][:, None], reg["dec_tangent"][:, None]
    )
    in_front = np.all(cos_c > 0.1, axis=1)
    row, region = row[in_front], region[in_front]
    u = xi[in_front] / scale  # lattice units, cell (r, c) centred at (c, r)
    v = eta[in_front] / scale
    c_lo = np.clip(np.ceil(u.min(axis=1) - half), -tess.GRID_HALF, tess.GRID_HALF + 1)
    c_hi = np.clip(np.floor(u.max(axis=1) + half), -tess.GRID_HALF - 1, tess.GRID_HALF)
    r_lo = np.clip(np.ceil(v.min(axis=1) - half), -tess.GRID_HALF, tess.GRID_HALF + 1)
    r_hi = np.clip(np.floor(v.max(axis=1) + half), -tess.GRID_HALF - 1, tess.GRID_HALF)
    nc = np.maximum(c_hi - c_lo + 1, 0).astype(np.int64)
    nr = np.maximum(r_hi - r_lo + 1, 0).astype(np.int64)
    pair, pos = _expand(nc * nr)
    cc = (c_lo[pair] + pos % nc[pair]).astype(np.int64)
    rr = (r_lo[pair] + pos // nc[pair]).astype(np.int64)
    index = skymap.index_at(region[pair], rr, cc)
    has_cell = index >= 0
    pair, cc, rr, index = pair[has_cell], cc[has_cell], rr[has_cell], index[has_cell]
    px = u[pair] - cc[:, None]
    py = v[pair] - rr[:, None]
    qx, qy = np.roll(px, -1, axis=1), np.roll(py, -1, axis=1)
    hit = _segment_hits_square(px, py, qx, qy, half).any(axis=1)
    if k >= 3:  # no edge meets the square: it may still lie inside the footprint
        rest = np.flatnonzero(~hit)
        hit[rest] = _origin_in_polygon(px[rest], py[rest], qx[rest], qy[rest])
    return row[pair[hit]], index[hit]


def match_footprints(
    ra: ArrayLike,
    dec: ArrayLike,
    skymap: SkyMap | None = None,
    *,
    core: bool = False,
    chunk: int = 100_000,
) -> CellMatches:
    """Sky cells touched by each footprint.

    Parameters
    ----------
    ra, dec : arrays (n, k) in degrees
        The k vertices of each of n footprints, in order around the polygon
        (either direction); edges are great-circle arcs. A row whose first
        vertex is NaN has no footprint (no cells); later NaN vertices are
        ignored. k = 1 asks for the cells containing points.
    skymap : the map to use (default :func:`get_skymap`).
    core : match the cells' 4800 px cores instead of their 5000 px
        border-inclusive squares.
    chunk : footprints per vectorized batch (bounds memory).

    Returns
    -------
    CellMatches: CSR arrays (``offsets`` of length n + 1, sorted ``cells``).
    """
    skymap = skymap or get_skymap()
    ra = np.atleast_2d(np.asarray(ra, dtype=np.float64))
    dec = np.atleast_2d(np.asarray(dec, dtype=np.float64))
    if ra.shape != dec.shape or ra.ndim != 2:
        raise ValueError(f"ra and dec must have the same (n, k) shape, got {ra.shape}, {dec.shape}")
    n = ra.shape[0]
    valid = np.isfinite(ra) & np.isfinite(dec)
    # missing trailing vertices repeat the first one: a zero-length closing edge
    ra = np.where(valid, ra, ra[:, :1])
    dec = np.where(valid, dec, dec[:, :1])
    valid = valid | valid[:, :1]
    half = CORE_HALF if core else BORDER_HALF
    rows_all, cells_all = [], []
    for lo in range(0, n, chunk):
        hi = min(lo + chunk, n)
        rows, cells = _match_chunk(skymap, ra[lo:hi], dec[lo:hi], valid[lo:hi], half)
        rows_all.append(rows + lo)
        cells_all.append(cells)
    rows = np.concatenate(rows_all) if rows_all else np.zeros(0, dtype=np.int64)
    cells = np.concatenate(cells_all) if cells_all else np.zeros(0, dtype=np.int64)
    order = np.lexsort((cells, rows))
    rows, cells = rows[order], cells[order]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
    return CellMatches(offsets=offsets, cells=cells.astype(np.int64))


def cells_containing(
    ra: ArrayLike, dec: ArrayLike, skymap: SkyMap | None = None, *, core: bool = False
) -> CellMatches:
    """Cells whose border-inclusive square (or core, ``core=True``) contains each point."""
    ra = np.asarray(ra, dtype=np.float64).reshape(-1, 1)
    dec = np.asarray(dec, dtype=np.float64).reshape(-1, 1)
    return match_footprints(ra, dec, skymap, core=core)


def find_cells(ra: float, dec: float, skymap: SkyMap | None = None) -> dict[str, list[str]]:
    """Names of the cells containing one point: ``{'cells': [...], 'core': [...]}``."""
    skymap = skymap or get_skymap()
    return {
        "cells": cells_containing([ra], [dec], skymap).names(skymap).tolist(),
        "core": cells_containing([ra], [dec], skymap, core=True).names(skymap).tolist(),
    }
