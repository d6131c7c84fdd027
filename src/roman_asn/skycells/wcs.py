"""The WCS of a sky cell: the association's ``skycell_wcs_info`` and a gwcs."""

from __future__ import annotations

import json
import numbers
from typing import Any

import numpy as np

from roman_asn.association import SKYCELL_WCS_KEYS
from roman_asn.skycells import tessellation as tess
from roman_asn.skycells.skymap import SkyMap, get_skymap


def skycell_wcs_infos(indices, skymap: SkyMap | None = None) -> list[dict[str, Any]]:
    """The 12-key ``skycell_wcs_info`` of each cell index, keys in SKYCELL_WCS_KEYS order.

    As romancal writes it: projection centre = the region's tangent point,
    x0/y0_projection = the tangent pixel in the cell's 0-based frame, centre of
    the cell, 5000 x 5000 pixels, the cell's orientat and the region's.
    Vectorized: one record lookup for all cells.
    """
    skymap = skymap or get_skymap()
    index = np.asarray(indices, dtype=np.int64)
    if index.size == 0:
        return []
    rec = skymap.records(index)
    region = skymap.regions[skymap.region_of(index)]
    columns = {
        "name": rec["name"].astype(str).tolist(),
        "pixel_scale": [tess.PIXEL_SCALE] * len(index),
        "ra_projection_center": region["ra_tangent"].astype(float).tolist(),
        "dec_projection_center": region["dec_tangent"].astype(float).tolist(),
        "x0_projection": rec["x_tangent"].astype(float).tolist(),
        "y0_projection": rec["y_tangent"].astype(float).tolist(),
        "ra_center": rec["ra_center"].astype(float).tolist(),
        "dec_center": rec["dec_center"].astype(float).tolist(),
        "nx": [tess.CELL_SIZE] * len(index),
        "ny": [tess.CELL_SIZE] * len(index),
        "orientat": rec["orientat"].astype(float).tolist(),
        "orientat_projection_center": region["orientat"].astype(float).tolist(),
    }
    return [{key: columns[key][i] for key in SKYCELL_WCS_KEYS} for i in range(len(index))]


def skycell_wcs_info(name_or_index: str | int, skymap: SkyMap | None = None) -> dict[str, Any]:
    """The ``skycell_wcs_info`` of one cell, by name or index (:func:`skycell_wcs_infos`)."""
    skymap = skymap or get_skymap()
    index = skymap.index_of(name_or_index) if isinstance(name_or_index, str) else int(name_or_index)
    return skycell_wcs_infos([index], skymap)[0]


def wcs_info_texts(names: list[str], skymap: SkyMap | None = None) -> dict[str, str]:
    """``skycell_wcs_info`` of each cell as the JSON text Association.dump() writes
    inside an association (4-space indent, one level deep), vectorized over cells."""
    if not names:
        return {}
    skymap = skymap or get_skymap()
    index = np.array([skymap.index_of(n) for n in names], dtype=np.int64)
    return {
        name: json.dumps(info, indent=4, ensure_ascii=False).replace("\n", "\n    ")
        for name, info in zip(names, skycell_wcs_infos(index, skymap), strict=True)
    }


def wcs_from_info(info: dict[str, Any]):
    """A gwcs (pixel -> ICRS deg) for a ``skycell_wcs_info`` dict, with bounding box.

    CRPIX = (x0, y0) 0-based, CDELT = pixel_scale, PC = rotation by
    orientat_projection_center (0 today), TAN, LONPOLE 180.
    """
    from astropy import coordinates
    from astropy import units as u
    from astropy.modeling import models
    from gwcs import WCS, coordinate_frames

    number = _numbers_of(info)
    angle = np.radians(number("orientat_projection_center", 0.0))
    matrix = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    scale = number("pixel_scale")
    transform = (
        (models.Shift(-number("x0_projection")) & models.Shift(-number("y0_projection")))
        | models.AffineTransformation2D(matrix)
        | (models.Scale(scale) & models.Scale(scale))
        | models.Pix2Sky_TAN()
        | models.RotateNative2Celestial(
            number("ra_projection_center"), number("dec_projection_center"), 180.0
        )
    )
    detector = coordinate_frames.Frame2D(
        name="detector", axes_names=("x", "y"), unit=(u.pix, u.pix)
    )
    sky = coordinate_frames.CelestialFrame(
        reference_frame=coordinates.ICRS(), name="icrs", unit=(u.deg, u.deg)
    )
    wcs = WCS([(detector, transform), (sky, None)], name="skycell")
    nx, ny = (_pixels(info, key) for key in ("nx", "ny"))
    wcs.bounding_box = ((-0.5, nx - 0.5), (-0.5, ny - 0.5))
    wcs.array_shape = (ny, nx)
    return wcs


MAX_PIXELS = 100_000  # a side of a sky cell (5000 today) or of any mosaic made of them


def _numbers_of(info: dict[str, Any]):
    """A getter of ``info``'s finite numbers: ValueError naming the key otherwise."""

    def number(key: str, default: float | None = None) -> float:
        value = info.get(key, default)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"skycell_wcs_info.{key}: {value!r} is not a number")
        if not np.isfinite(float(value)):
            raise ValueError(f"skycell_wcs_info.{key}: {value!r} is not a finite number")
        return float(value)

    return number


def _pixels(info: dict[str, Any], key: str) -> int:
    value = info.get(key)
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not whole or not 0 < value <= MAX_PIXELS:
        raise ValueError(
            f"skycell_wcs_info.{key}: {value!r} is not a whole number of pixels"
            f" from 1 to {MAX_PIXELS:,}"
        )
    return int(value)


def skycell_gwcs(name_or_index: str | int, skymap: SkyMap | None = None):
    """A gwcs of a sky cell (its 5000 x 5000 pixel frame)."""
    return wcs_from_info(skycell_wcs_info(name_or_index, skymap))


def skycell_outline(
    info: dict[str, Any], points_per_edge: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """(ra, dec) of the border-inclusive square of a cell described by ``info``."""
    from roman_asn.skycells.footprints import footprint_from_wcs

    return footprint_from_wcs(wcs_from_info(info), points_per_edge=points_per_edge)
