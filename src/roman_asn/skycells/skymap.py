"""The sky map: the region table plus a lattice grid, computed or read from a file.

``get_skymap()`` is what every tool calls. It returns

* the reference file's table when ``path`` is given or ``SKYMAP_PATH`` is set
  (romancal's convention), read lazily with asdf (memory-mapped, so the 8
  million cell records are not loaded until asked for), or
* the tessellation computed from its parameters, with the lattice grid cached in
  ``$XDG_CACHE_HOME/roman-asn`` (default ``~/.cache/roman-asn``) so later runs skip
  the ~2 s computation.

Both give identical answers: lookups only use the region table and the grid,
and records of the computed map match the reference to ~1e-12 deg.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import zipfile
import zlib
from functools import cached_property
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from roman_asn.errors import RomanAsnError, first_line
from roman_asn.skycells import tessellation as tess

SKYMAP_ENV = "SKYMAP_PATH"
NAME_PATTERN = re.compile(r"^(\d{3})([pm])(\d{2})x(\d{2})y(\d{2})\Z")  # \Z: no "\n" after
_CACHE_FORMAT = 3  # 2: the lattice's native vectors too (no astropy import to use the map)
# 3: a checksum of both arrays (a damaged or altered cache is computed again, not trusted)


class SkyMap:
    """Projection regions, the lattice grid and (for a reference file) the cell table.

    Cell indices are positions in the reference ``skycells`` table (int64).
    """

    def __init__(
        self,
        regions: NDArray,
        grid: NDArray[np.int16],
        *,
        cells: NDArray | None = None,
        source: str = "computed",
        handle: object | None = None,
        lattice: NDArray[np.float64] | None = None,
    ) -> None:
        self.regions = regions
        self.lattice = lattice  # tess.lattice_native_vectors(), when cached
        self.grid = grid
        self.source = source
        self._cells = cells
        self._handle = handle  # keeps a memory-mapped asdf file open

    # ---- sizes and positions ------------------------------------------
    @property
    def n_regions(self) -> int:
        return len(self.regions)

    @property
    def n_cells(self) -> int:
        return int(self.regions["skycell_end"][-1])

    @cached_property
    def prefixes(self) -> NDArray[np.bytes_]:
        """6-character name prefix of every region (``b'270p65'``)."""
        return tess.region_name_prefixes(self.regions)

    @cached_property
    def _prefix_to_region(self) -> dict[str, int]:
        return {p.decode(): i for i, p in enumerate(self.prefixes)}

    @cached_property
    def _cell_flat(self) -> NDArray[np.int16]:
        """Flat lattice position (r + 35) * 71 + (c + 35) of every cell, in index order."""
        # a mask of a broadcast range: np.nonzero's two index arrays took 4x longer
        per_region = self.grid.reshape(self.n_regions, -1)
        positions = np.arange(per_region.shape[1], dtype=np.int16)
        return np.broadcast_to(positions, per_region.shape)[per_region >= 0]

    def region_of(self, indices: ArrayLike) -> NDArray[np.int64]:
        """Region index of each cell index."""
        idx = np.asarray(indices, dtype=np.int64)
        return np.searchsorted(self.regions["skycell_end"], idx, side="right").astype(np.int64)

    def lattice_of(self, indices: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
        """(region, r, c) of each cell index."""
        idx = np.asarray(indices, dtype=np.int64)
        self._check_indices(idx)
        flat = self._cell_flat[idx].astype(np.int64)
        return (
            self.region_of(idx),
            flat // tess.GRID_SIZE - tess.GRID_HALF,
            flat % tess.GRID_SIZE - tess.GRID_HALF,
        )

    def index_at(self, region: ArrayLike, r: ArrayLike, c: ArrayLike) -> NDArray[np.int64]:
        """Global cell index at lattice positions, -1 where the region keeps no cell."""
        region = np.asarray(region, dtype=np.int64)
        local = self.grid[region, np.asarray(r) + tess.GRID_HALF, np.asarray(c) + tess.GRID_HALF]
        start = self.regions["skycell_start"][region].astype(np.int64)
        return np.where(local >= 0, start + local, -1)

    def _check_indices(self, idx: NDArray[np.int64]) -> None:
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_cells):
            raise IndexError(f"sky cell index out of range 0..{self.n_cells - 1}")

    # ---- records ------------------------------------------------------
    def records(self, indices: ArrayLike) -> NDArray:
        """Cell records (the reference ``skycells`` dtype) for cell indices."""
        idx = np.atleast_1d(np.asarray(indices, dtype=np.int64))
        self._check_indices(idx)
        if self._cells is not None:
            return np.asarray(self._cells[idx])
        region, r, c = self.lattice_of(idx)
        return tess.compute_cells(self.regions, self.prefixes, region, r, c, self.lattice)

    def names(self, indices: ArrayLike) -> NDArray[np.str_]:
        """Cell names for cell indices (cheap: no projection needed)."""
        idx = np.atleast_1d(np.asarray(indices, dtype=np.int64))
        self._check_indices(idx)
        if self._cells is not None:
            return np.asarray(self._cells["name"][idx])
        region, r, c = self.lattice_of(idx)
        return tess.cell_names(self.prefixes, region, r, c)

    def all_records(self) -> NDArray:
        """The whole cell table (about 8 million rows, ~1.3 GB)."""
        return self.records(np.arange(self.n_cells))

    # ---- names --------------------------------------------------------
    def index_of(self, name: str) -> int:
        """Cell index of a name; RomanAsnError when malformed or not a sky cell."""
        match = NAME_PATTERN.match(name)
        if match is None:
            raise RomanAsnError(
                f"{name!r} is not a sky-cell name (expected e.g. 270p65x48y69: "
                "3-digit RA, p or m, 2-digit Dec, x and y with 2 digits each)"
            )
        ra3, sign, dec2, xx, yy = match.groups()
        region = self._prefix_to_region.get(f"{ra3}{sign}{dec2}")
        r, c = int(xx) - 50, int(yy) - 50
        if region is None or abs(r) > tess.GRID_HALF or abs(c) > tess.GRID_HALF:
            raise RomanAsnError(f"no sky cell named {name!r}")
        index = int(self.index_at(region, r, c))
        if index < 0:
            raise RomanAsnError(f"no sky cell named {name!r}")
        return index

    def record(self, name: str) -> np.void:
        return self.records([self.index_of(name)])[0]


# ---- building ---------------------------------------------------------------
def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/roman-asn`` or ``~/.cache/roman-asn``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "roman-asn"


def _cache_key() -> str:
    params = (
        _CACHE_FORMAT,
        tess.NSIDE,
        tess.PIXEL_SCALE_ARCSEC,
        tess.CELL_STRIDE,
        tess.CELL_BORDER,
        tess.GRID_HALF,
    )
    return hashlib.sha256(repr(params).encode()).hexdigest()[:16]


def computed_skymap(*, use_cache: bool = True) -> SkyMap:
    """The tessellation computed from its parameters (grid and lattice cached on disk)."""
    regions = tess.compute_regions()
    shape = (len(regions), tess.GRID_SIZE, tess.GRID_SIZE)
    path = cache_dir() / f"skycell-grid-{_cache_key()}.npz"
    grid = lattice = None
    if use_cache and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as cached:
                grid, lattice, check = cached["grid"], cached["lattice"], cached["check"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # remade
            grid = lattice = None
        if grid is not None and (
            grid.shape != shape
            or grid.dtype != np.int16
            or lattice.shape != (3, 5, tess.GRID_SIZE * tess.GRID_SIZE)
            or lattice.dtype != np.float64
            or not np.array_equal(check, _checksum(grid, lattice))
        ):
            grid = lattice = None
    if grid is None:
        grid = tess.compute_grid(regions)
        lattice = tess.lattice_native_vectors()
        if use_cache:
            _save_cache(path, grid, lattice)
    else:
        counts = (grid >= 0).reshape(len(regions), -1).sum(axis=1)
        ends = np.cumsum(counts)
        regions["skycell_end"] = ends
        regions["skycell_start"] = ends - counts
    return SkyMap(regions, grid, source="computed", lattice=lattice)


def _save_cache(path: Path, grid: NDArray[np.int16], lattice: NDArray[np.float64]) -> None:
    from roman_asn.atomic import WriteError, atomic_path

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, grid=grid, lattice=lattice, check=_checksum(grid, lattice))
    except (OSError, WriteError):
        pass  # a read-only home only costs the recomputation next time


def _checksum(grid: NDArray[np.int16], lattice: NDArray[np.float64]) -> NDArray[np.uint32]:
    """CRC-32 of each array's bytes (12 ms).

    The zip's own CRCs only say the file is whole: an npz written by anything else, or
    arrays edited and saved again, would pass them and give wrong cells silently.
    """
    return np.array(
        [zlib.crc32(np.ascontiguousarray(part).data) for part in (grid, lattice)], np.uint32
    )


def load_reference(path: str | os.PathLike[str]) -> SkyMap:
    """Read a SKYCELLS reference file (or an extract of one) with asdf, lazily."""
    import warnings

    from roman_asn.asdf_guard import open_asdf

    label = str(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # version notices about the writing software
            handle = open_asdf(path, lazy_load=True, memmap=True)
    except FileNotFoundError:
        raise RomanAsnError("no such sky map file", path=label) from None
    except OSError as error:
        raise RomanAsnError(f"cannot read: {error.strerror or error}", path=label) from None
    except Exception as error:  # asdf raises many types for non-ASDF input
        raise RomanAsnError(f"cannot read as ASDF: {error}", path=label) from None
    try:
        roman = handle.tree["roman"]
        regions_raw = np.asarray(roman["projection_regions"])
        cells = roman["skycells"]
        cells = cells if isinstance(cells, np.ndarray) else np.asarray(cells)
    except (KeyError, TypeError):
        handle.close()
        raise RomanAsnError(
            "not a sky-cell table: needs roman.projection_regions and roman.skycells",
            path=label,
        ) from None
    except Exception as error:  # noqa: BLE001  a damaged block: asdf, zlib, lz4 each raise theirs
        handle.close()
        raise RomanAsnError(
            f"cannot read its tables (damaged or cut short?): {first_line(error)}", path=label
        ) from None
    missing = [f for f in tess.REGION_DTYPE.names if f not in (regions_raw.dtype.names or ())]
    missing += [f for f in ("name", "x_tangent", "y_tangent") if f not in (cells.dtype.names or ())]
    if missing:
        handle.close()
        raise RomanAsnError(f"sky-cell table lacks fields {missing}", path=label)
    try:
        regions = np.zeros(len(regions_raw), dtype=tess.REGION_DTYPE)
        for field in tess.REGION_DTYPE.names:
            regions[field] = regions_raw[field]
        # an extract may stop inside a region: trust only what the cell table holds
        n_cells = len(cells)
        regions["skycell_end"] = np.minimum(regions["skycell_end"], n_cells)
        regions["skycell_start"] = np.minimum(regions["skycell_start"], n_cells)
        starts, ends = regions["skycell_start"], regions["skycell_end"]
        if not len(regions) or not n_cells:
            raise ValueError("it has no projection regions or no sky cells")
        if np.any(starts < 0) or np.any(ends < starts):
            raise ValueError("a region's cells run backwards or from before the first cell")
        grid = _grid_from_cells(regions, cells)
    except Exception as error:  # noqa: BLE001  bad values, or a block that fails to load now
        handle.close()
        raise RomanAsnError(
            f"not a usable sky-cell table: {first_line(error)}", path=label
        ) from None
    return SkyMap(regions, grid, cells=cells, source=label, handle=handle)


def _grid_from_cells(regions: NDArray, cells: NDArray) -> NDArray[np.int16]:
    counts = (regions["skycell_end"] - regions["skycell_start"]).astype(np.int64)
    region = np.repeat(np.arange(len(regions)), counts)
    n = int(counts.sum())
    step = float(tess.CELL_STRIDE)
    c = np.rint((tess.CELL_CENTER_PIXEL - np.asarray(cells["x_tangent"][:n])) / step).astype(int)
    r = np.rint((tess.CELL_CENTER_PIXEL - np.asarray(cells["y_tangent"][:n])) / step).astype(int)
    grid = np.full((len(regions), tess.GRID_SIZE, tess.GRID_SIZE), -1, dtype=np.int16)
    local = np.arange(n) - np.repeat(regions["skycell_start"].astype(np.int64), counts)
    grid[region, r + tess.GRID_HALF, c + tess.GRID_HALF] = local
    return grid


_LOCK = threading.Lock()
_SKYMAPS: dict[str, SkyMap] = {}


def get_skymap(path: str | os.PathLike[str] | None = None) -> SkyMap:
    """The sky map to use: ``path``, else ``$SKYMAP_PATH``, else the computed one.

    Cached per source for the life of the process.
    """
    chosen = path if path is not None else os.environ.get(SKYMAP_ENV) or None
    key = str(Path(chosen).resolve()) if chosen else "<computed>"
    with _LOCK:
        skymap = _SKYMAPS.get(key)
        if skymap is None:
            skymap = load_reference(chosen) if chosen else computed_skymap()
            _SKYMAPS[key] = skymap
        return skymap
