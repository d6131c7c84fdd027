"""The Roman sky-cell tessellation computed from its four parameters.

romancal reads the table from a reference file (reftype SKYCELLS) that is ~1 GB
and not always at hand. Its geometry follows from NSIDE, the pixel scale, the
cell stride and the border, so this module recomputes it, field for field
(names, order, centres, corners, orientat, tangent pixels), with numpy.

Layout (see docs/skycells.md):

* 4058 projection regions: a north cap, 51 HEALPix-like Dec rings of 8k / 104 /
  8(52-k) regions, a south cap. Each has its own TAN projection (LONPOLE 180,
  PC = identity, +x towards increasing RA, +y north).
* Inside a region, cells sit on a lattice of 4800-px steps around the tangent
  pixel, indexed by row ``r`` (north) and column ``c`` (east) in [-35, 35]. A
  lattice cell is kept when one of its four *core* corners (centre +- 2400 px)
  lies inside the region's RA/Dec bounds. The stored cell is 5000 px wide
  (100 px border), so neighbours overlap.

The kept lattice positions of all regions form the *grid*: an int16 array
``(n_regions, 71, 71)`` of the cell's index inside its region (-1 where there is
no cell). It is all that is needed to map (region, r, c) to a global cell index;
cell records are computed from (region, r, c) on demand.
"""

from __future__ import annotations

from functools import reduce

import numpy as np
from numpy.typing import NDArray

NSIDE = 13
PIXEL_SCALE_ARCSEC = 0.055
PIXEL_SCALE = PIXEL_SCALE_ARCSEC / 3600.0  # degrees per pixel
CELL_STRIDE = 4800  # pixels between neighbouring cell centres (the "core" size)
CELL_BORDER = 100  # pixels added on each side of the core
CELL_SIZE = CELL_STRIDE + 2 * CELL_BORDER  # 5000: stored cell width in pixels
GRID_HALF = 35  # lattice indices r, c run over [-GRID_HALF, GRID_HALF]
GRID_SIZE = 2 * GRID_HALF + 1
N_REGIONS = 2 + 24 * NSIDE**2
CELL_CENTER_PIXEL = (CELL_SIZE - 1) / 2.0  # 2499.5, 0-based

REGION_DTYPE = np.dtype(
    [
        ("index", "<i4"),
        ("ra_tangent", "<f8"),
        ("dec_tangent", "<f8"),
        ("ra_min", "<f8"),
        ("ra_max", "<f8"),
        ("dec_min", "<f8"),
        ("dec_max", "<f8"),
        ("orientat", "<f4"),
        ("x_tangent", "<f8"),
        ("y_tangent", "<f8"),
        ("nx", "<i4"),
        ("ny", "<i4"),
        ("skycell_start", "<i4"),
        ("skycell_end", "<i4"),
    ]
)

CELL_DTYPE = np.dtype(
    [
        ("name", "<U16"),
        ("ra_center", "<f8"),
        ("dec_center", "<f8"),
        ("orientat", "<f4"),
        ("x_tangent", "<f8"),
        ("y_tangent", "<f8"),
        ("ra_corn1", "<f8"),
        ("dec_corn1", "<f8"),
        ("ra_corn2", "<f8"),
        ("dec_corn2", "<f8"),
        ("ra_corn3", "<f8"),
        ("dec_corn3", "<f8"),
        ("ra_corn4", "<f8"),
        ("dec_corn4", "<f8"),
    ]
)

# corners of the border-inclusive square relative to the cell centre, in pixels,
# in the reference order: (-,-), (+,-), (+,+), (-,+)
_HALF = CELL_SIZE / 2.0
CORNER_OFFSETS = np.array([(-_HALF, -_HALF), (_HALF, -_HALF), (_HALF, _HALF), (-_HALF, _HALF)])


def _sin_dec_of(y: NDArray[np.float64]) -> NDArray[np.float64]:
    """HEALPix-like latitude function f(y) in degrees."""
    ay = np.abs(y)
    s = np.where(ay <= 0.25, 8.0 * y / 3.0, np.sign(y) * (1.0 - (2.0 - 4.0 * ay) ** 2 / 3.0))
    return np.degrees(np.arcsin(s))


def ring_tangent_decs(nside: int = NSIDE) -> NDArray[np.float64]:
    """d_k, k = 0..4N: tangent declination of ring k (d_0 = +90, d_4N = -90)."""
    k = np.arange(4 * nside + 1)
    return _sin_dec_of((2 * nside - k) / (4 * nside))


def band_edges(nside: int = NSIDE) -> NDArray[np.float64]:
    """b_j, j = 0..4N-1: Dec of the edges between bands, north to south."""
    j = np.arange(4 * nside)
    return _sin_dec_of((2 * nside - j - 0.5) / (4 * nside))


def ring_sizes(nside: int = NSIDE) -> NDArray[np.int64]:
    """M_k, the number of regions of ring k = 1..4N-1 (index 0 is ring 1)."""
    k = np.arange(1, 4 * nside)
    return np.where(
        k <= nside - 1, 8 * k, np.where(k >= 3 * nside + 1, 8 * (4 * nside - k), 8 * nside)
    )


def _evenfloor(v: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.floor(v / 2.0) * 2.0


def compute_regions(nside: int = NSIDE) -> NDArray:
    """The projection-region table (REGION_DTYPE); skycell_start/end left at 0.

    Fill them with :func:`compute_grid`.
    """
    decs = ring_tangent_decs(nside)
    edges = band_edges(nside)
    sizes = ring_sizes(nside)
    n = 2 + int(sizes.sum())
    out = np.zeros(n, dtype=REGION_DTYPE)
    out["index"] = np.arange(n)

    # ring regions, north to south, RA increasing
    ring_of = np.repeat(np.arange(1, 4 * nside), sizes)  # k for every ring region
    pos = np.concatenate([np.arange(m) for m in sizes])  # i within the ring
    m = sizes[ring_of - 1].astype(np.float64)
    width = 360.0 / m
    ra_t = pos * width
    ra_lo = -width / 2.0 + pos * width
    ra_hi = width / 2.0 + pos * width
    dec_hi = edges[ring_of - 1]
    dec_lo = edges[ring_of]
    rings = out[1:-1]
    rings["ra_tangent"] = ra_t
    rings["dec_tangent"] = decs[ring_of]
    rings["ra_min"] = np.where(ra_lo < 0, ra_lo + 360.0, ra_lo)
    rings["ra_max"] = ra_hi
    rings["dec_min"] = dec_lo
    rings["dec_max"] = dec_hi
    dec_edge = np.minimum(np.abs(dec_lo), np.abs(dec_hi))  # the edge nearer the equator
    ny = _evenfloor(np.abs(dec_lo - dec_hi) / PIXEL_SCALE)
    nx = _evenfloor(np.abs(ra_hi - ra_lo) * np.cos(np.radians(dec_edge)) / PIXEL_SCALE)
    rings["nx"] = nx
    rings["ny"] = ny
    rings["x_tangent"] = (nx - 1) / 2.0
    rings["y_tangent"] = (ny - 1) / 2.0

    cap_n = int(_evenfloor(np.abs(edges[0] - 90.0) / PIXEL_SCALE * 2.0))
    for idx, (ra0, dec0, lo, hi) in (
        (0, (135.0, 90.0, edges[0], 90.0)),
        (n - 1, (225.0, -90.0, -90.0, edges[-1])),
    ):
        out[idx]["ra_tangent"] = ra0
        out[idx]["dec_tangent"] = dec0
        out[idx]["ra_min"] = 0.0
        out[idx]["ra_max"] = 360.0
        out[idx]["dec_min"] = lo
        out[idx]["dec_max"] = hi
        out[idx]["nx"] = out[idx]["ny"] = cap_n
        out[idx]["x_tangent"] = out[idx]["y_tangent"] = (cap_n - 1) / 2.0
    return out


def _native_vectors(xi: NDArray[np.float64], eta: NDArray[np.float64]) -> NDArray[np.float64]:
    """Unit vectors (3, N) in the native frame of standard coordinates xi/eta (deg).

    Computed with astropy's TAN (wcslib) because the lattice offsets are the same
    in every region: one projection serves all 4058 regions.
    """
    from astropy.modeling.models import Pix2Sky_TAN  # slow to import, used to build only

    phi, theta = Pix2Sky_TAN()(np.ravel(xi), np.ravel(eta))
    phi, theta = np.deg2rad(phi), np.deg2rad(theta)
    cos_t = np.cos(theta)
    return np.array([np.cos(phi) * cos_t, cos_t * np.sin(phi), np.sin(theta)])


def rotation_matrix(angle: float, axis: str) -> NDArray[np.float64]:
    """astropy's ``rotation_matrix(angle, axis, unit="rad")`` for a coordinate axis, to
    the bit (tested), without importing astropy.coordinates (half a second a command)."""
    i = "xyz".index(axis)
    a1, a2 = (i + 1) % 3, (i + 2) % 3
    s, c = np.sin(angle), np.cos(angle)
    matrix = np.zeros((3, 3))
    matrix[i, i] = 1.0
    matrix[a1, a1] = c
    matrix[a1, a2] = s
    matrix[a2, a1] = -s
    matrix[a2, a2] = c
    return matrix


def _native_to_celestial_matrix(ra0: float, dec0: float) -> NDArray[np.float64]:
    """The zxz Euler matrix of a TAN projection at (ra0, dec0) with LONPOLE 180.

    Built in the same order as astropy's ``RotateNative2Celestial`` so that points
    on the RA = 0 meridian land on the same side (0 or 360) as in the reference
    file, which was computed that way.
    """
    lon, lat, lon_pole = np.deg2rad(ra0), np.deg2rad(dec0), np.deg2rad(180.0)
    angles = (lon_pole - np.pi / 2, -(np.pi / 2 - lat), -(np.pi / 2 + lon))
    mats = [rotation_matrix(float(a), axis) for a, axis in zip(angles, "zxz", strict=True)]
    return reduce(np.matmul, mats[::-1])


def _deproject(
    regions: NDArray, native: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(RA, Dec) of shared native vectors (3, N) in each region: arrays (n_regions, N).

    RA is in [0, 360] (360 when a point on the 0 meridian rounds below zero), as
    astropy's rotation returns it.
    """
    out = np.empty((len(regions), 3, native.shape[1]))
    for i, (ra0, dec0) in enumerate(
        zip(regions["ra_tangent"], regions["dec_tangent"], strict=True)
    ):
        out[i] = np.dot(_native_to_celestial_matrix(ra0, dec0), native)
    x, y, z = out[:, 0], out[:, 1], out[:, 2]
    ra = np.rad2deg(np.arctan2(y, x))
    dec = np.rad2deg(np.arctan2(z, np.hypot(x, y)))
    ra[ra < 0] += 360.0
    return ra, dec


def _inside_regions(regions: NDArray, ra: NDArray, dec: NDArray) -> NDArray[np.bool_]:
    """Whether points (regions broadcast on the first axis) lie inside their region."""
    shape = (-1,) + (1,) * (ra.ndim - 1)
    ra_min = regions["ra_min"].reshape(shape)
    ra_max = regions["ra_max"].reshape(shape)
    dec_min = regions["dec_min"].reshape(shape)
    dec_max = regions["dec_max"].reshape(shape)
    north = (regions["dec_tangent"] == 90.0).reshape(shape)
    south = (regions["dec_tangent"] == -90.0).reshape(shape)
    wraps = ra_min > ra_max
    in_ra = np.where(wraps, (ra >= ra_min) | (ra < ra_max), (ra >= ra_min) & (ra < ra_max))
    ring = in_ra & (dec >= dec_min) & (dec < dec_max)
    return np.where(north, dec >= dec_min, np.where(south, dec < dec_max, ring))


def compute_grid(regions: NDArray, chunk: int = 256) -> NDArray[np.int16]:
    """Which lattice cells each region keeps: local cell index or -1, shape (n, 71, 71).

    Also fills ``regions['skycell_start']`` / ``['skycell_end']`` in place.
    Vectorized over chunks of regions: the 72 x 72 core-corner lattice of a region
    is deprojected once and shared by the four cells around each corner.
    """
    n = len(regions)
    grid = np.empty((n, GRID_SIZE, GRID_SIZE), dtype=np.int16)
    corner_steps = (np.arange(GRID_SIZE + 1) - GRID_HALF - 0.5) * CELL_STRIDE * PIXEL_SCALE
    eta, xi = np.meshgrid(corner_steps, corner_steps, indexing="ij")  # [row, col]
    native = _native_vectors(xi, eta)
    for lo in range(0, n, chunk):
        part = regions[lo : lo + chunk]
        ra, dec = _deproject(part, native)
        shape = (len(part), GRID_SIZE + 1, GRID_SIZE + 1)
        ra, dec = ra.reshape(shape), dec.reshape(shape)
        inside = _inside_regions(part, ra, dec)
        keep = inside[:, :-1, :-1] | inside[:, 1:, :-1] | inside[:, :-1, 1:] | inside[:, 1:, 1:]
        flat = keep.reshape(len(part), -1)
        local = np.cumsum(flat, axis=1, dtype=np.int32) - 1
        grid[lo : lo + chunk] = np.where(flat, local, -1).reshape(keep.shape)
    counts = (grid >= 0).reshape(n, -1).sum(axis=1)
    ends = np.cumsum(counts)
    regions["skycell_end"] = ends
    regions["skycell_start"] = ends - counts
    return grid


def region_name_prefixes(regions: NDArray) -> NDArray[np.bytes_]:
    """The 7-character name prefix of each region, e.g. ``b'270p65'`` (ASCII bytes).

    Python's ``round`` rounds half to even (22.5 -> 22), as the reference does.
    """
    return np.array(
        [
            f"{round(float(ra)):03d}{'m' if dec < 0 else 'p'}{round(abs(float(dec))):02d}"
            for ra, dec in zip(regions["ra_tangent"], regions["dec_tangent"], strict=True)
        ],
        dtype="S6",
    )


def cell_names(prefixes: NDArray[np.bytes_], region: NDArray, r: NDArray, c: NDArray) -> NDArray:
    """Names ``{prefix}x{50+r:02d}y{50+c:02d}`` built as bytes without a Python loop."""
    n = len(region)
    buf = np.empty((n, 12), dtype=np.uint8)
    buf[:, :6] = prefixes.view(np.uint8).reshape(-1, 6)[region]
    xx = 50 + np.asarray(r, dtype=np.int64)
    yy = 50 + np.asarray(c, dtype=np.int64)
    buf[:, 6] = ord("x")
    buf[:, 7] = ord("0") + xx // 10
    buf[:, 8] = ord("0") + xx % 10
    buf[:, 9] = ord("y")
    buf[:, 10] = ord("0") + yy // 10
    buf[:, 11] = ord("0") + yy % 10
    return buf.view("S12").reshape(n).astype("U16")


def compute_cells(
    regions: NDArray,
    prefixes: NDArray[np.bytes_],
    region: NDArray,
    r: NDArray,
    c: NDArray,
    native: NDArray[np.float64] | None = None,
) -> NDArray:
    """Cell records (CELL_DTYPE) for lattice positions (region, r, c).

    Vectorized per region: the native vectors of all 71 x 71 lattice centres and
    their corners are computed once (or given: ``native``, as from
    :func:`lattice_native_vectors`), then rotated into each region involved.
    """
    region = np.asarray(region, dtype=np.int64)
    r = np.asarray(r, dtype=np.int64)
    c = np.asarray(c, dtype=np.int64)
    out = np.empty(len(region), dtype=CELL_DTYPE)
    if len(region) == 0:
        return out
    out["name"] = cell_names(prefixes, region, r, c)
    out["x_tangent"] = CELL_CENTER_PIXEL - c * float(CELL_STRIDE)
    out["y_tangent"] = CELL_CENTER_PIXEL - r * float(CELL_STRIDE)
    if native is None:
        native = lattice_native_vectors()  # (3, 5, 71*71): centre, then corners 1..4
    flat = (r + GRID_HALF) * GRID_SIZE + (c + GRID_HALF)
    order = np.argsort(region, kind="stable")
    uniq, first = np.unique(region[order], return_index=True)
    bounds = np.append(first, len(order))
    for k, reg_index in enumerate(uniq):
        rows = order[bounds[k] : bounds[k + 1]]
        pts = native[:, :, flat[rows]].reshape(3, -1)
        ra, dec = _deproject(regions[reg_index : reg_index + 1], pts)
        ra = ra.reshape(5, len(rows))
        dec = dec.reshape(5, len(rows))
        reg = regions[reg_index]
        ra0 = float(reg["ra_tangent"])
        ra_c = ra[0]
        if reg["ra_min"] > reg["ra_max"] and abs(reg["dec_tangent"]) != 90.0:
            # a ring region straddling RA 0: the reference unwraps RA > 270 to
            # negative for orientat and stores the centre wrapped back to [0, 360)
            ra_c = np.where(ra_c > 270.0, ra_c - 360.0, ra_c)
            out["ra_center"][rows] = np.where(ra_c < 0, ra_c + 360.0, ra_c)
        else:
            out["ra_center"][rows] = ra_c
        out["orientat"][rows] = (ra0 - ra_c).astype(np.float32)
        out["dec_center"][rows] = dec[0]
        for j in range(1, 5):
            out[f"ra_corn{j}"][rows] = ra[j]
            out[f"dec_corn{j}"][rows] = dec[j]
    return out


_LATTICE_CACHE: dict[str, NDArray[np.float64]] = {}


def lattice_native_vectors() -> NDArray[np.float64]:
    """Native vectors of every lattice cell centre and its 4 border corners, (3, 5, 5041)."""
    cached = _LATTICE_CACHE.get("cells")
    if cached is None:
        steps = (np.arange(GRID_SIZE) - GRID_HALF) * float(CELL_STRIDE)
        yc, xc = np.meshgrid(steps, steps, indexing="ij")
        offsets = np.vstack([[(0.0, 0.0)], CORNER_OFFSETS])  # (5, 2)
        xs = (xc.ravel()[None, :] + offsets[:, :1]) * PIXEL_SCALE
        ys = (yc.ravel()[None, :] + offsets[:, 1:]) * PIXEL_SCALE
        cached = _native_vectors(xs, ys).reshape(3, 5, GRID_SIZE * GRID_SIZE)
        _LATTICE_CACHE["cells"] = cached
    return cached
