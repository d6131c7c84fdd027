"""Real Level 2 files for tests: roman_datamodels' fake ImageModel + a TAN gwcs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from astropy import coordinates
from astropy import units as u
from astropy.modeling import models
from gwcs import WCS, coordinate_frames


def tan_gwcs(ra: float, dec: float, shape=(16, 16), scale_deg: float = 0.0075, pa_deg: float = 0.0):
    angle = np.radians(pa_deg)
    matrix = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    ny, nx = shape
    transform = (
        (models.Shift(-(nx - 1) / 2) & models.Shift(-(ny - 1) / 2))
        | models.AffineTransformation2D(matrix)
        | (models.Scale(-scale_deg) & models.Scale(scale_deg))
        | models.Pix2Sky_TAN()
        | models.RotateNative2Celestial(ra, dec, 180.0)
    )
    det = coordinate_frames.Frame2D(name="detector", axes_names=("x", "y"), unit=(u.pix, u.pix))
    sky = coordinate_frames.CelestialFrame(
        reference_frame=coordinates.ICRS(), name="icrs", unit=(u.deg, u.deg)
    )
    wcs = WCS([(det, transform), (sky, None)])
    wcs.bounding_box = ((-0.5, nx - 0.5), (-0.5, ny - 0.5))
    return wcs


def make_cal(
    path: Path,
    ra: float,
    dec: float,
    *,
    visit_id: str = "0000101001001001001",
    optical_element: str = "F158",
    with_bbox: bool = True,
    with_wcs: bool = True,
) -> Path:
    from roman_datamodels import datamodels as dm

    model = dm.ImageModel.create_fake_data(shape=(16, 16))
    obs = model.meta.observation
    v = visit_id
    obs.program, obs.execution_plan = int(v[:5]), int(v[5:7])
    obs["pass"] = int(v[7:10])  # "pass" is a Python keyword
    obs.segment, obs.observation, obs.visit = int(v[10:13]), int(v[13:16]), int(v[16:19])
    exposure = re.search(r"_(\d{4})_", path.name)  # r<visit id>_<exposure>_wfiNN_cal
    obs["exposure"] = int(exposure.group(1)) if exposure else 1
    model.meta.instrument.optical_element = optical_element
    wcs = tan_gwcs(ra, dec)
    if not with_bbox:
        wcs.bounding_box = None
    if not with_wcs:
        # the datamodel schema requires meta.wcs, so write a plain ASDF Roman-like tree
        import asdf

        meta = {"instrument": {"optical_element": optical_element}, "observation": dict(obs)}
        asdf.AsdfFile({"roman": {"meta": meta}}).write_to(path)
        return path
    model.meta.wcs = wcs
    model.save(path)
    return path
