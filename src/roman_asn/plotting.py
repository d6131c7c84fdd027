"""Coverage plots: member footprints over the outlines of the sky cells they touch.

Drawn in the tangent plane at the field centre (gnomonic, degrees), RA increasing
to the left as on the sky; the axes are labelled with the offsets and the centre.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from roman_asn.errors import RomanAsnError
from roman_asn.skycells.footprints import footprints_from_table, read_level2
from roman_asn.skycells.lookup import MAX_FOOTPRINT_RADIUS_DEG, footprint_radii, match_footprints
from roman_asn.skycells.projection import radec_to_unit, sky_to_tan, unit_to_radec
from roman_asn.skycells.skymap import SkyMap, get_skymap
from roman_asn.skycells.wcs import skycell_outline


def plural(n: int, word: str) -> str:
    """``1 footprint``, ``2 footprints``, ``1,234 sky cells``."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def footprints_of_association(path: Path) -> tuple[list[tuple[NDArray, NDArray]], list[str]]:
    """Footprints of an association's members, with notes on what was used.

    Members are looked up where romancal opens them: relative to the association
    file's folder. When none is found, the association's sky-cell outline is drawn
    instead (see :data:`OUTLINE_NOTE`).
    """
    from roman_asn.association import load_asn

    asn = load_asn(path)
    polys, notes, missing = [], [], []
    for member in asn.members:
        cal = path.parent / member.expname
        if cal.is_file():
            try:
                info = read_level2(cal)
                polys.append((info["ra"], info["dec"]))
                continue
            except RomanAsnError as error:
                notes.append(f"{member.expname}: {error.message}")
        else:
            missing.append(member.expname)
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        notes.append(
            f"{len(missing)} of {plural(len(asn.members), 'member file')} not found in "
            f"{path.parent.resolve()} (where romancal looks: relative to the association): {shown}"
        )
    if not polys and isinstance(asn.skycell_wcs_info, dict):
        try:
            polys.append(skycell_outline(asn.skycell_wcs_info))
            notes.append(OUTLINE_NOTE)
        except ValueError as error:  # not a usable sky-cell WCS: say so, draw nothing
            notes.append(f"no sky-cell outline: {error}")
    return polys, notes


OUTLINE_NOTE = "drew the association's sky-cell outline instead of member footprints"


def footprints_of_pool(path: Path) -> tuple[list[tuple[NDArray, NDArray]], list[str]]:
    """Footprints from a pool's corner, S_REGION or pointing columns."""
    table = _read_table(path)
    ra, dec, source = footprints_from_table(table)
    polys = []
    for i in np.flatnonzero(source != ""):
        ok = np.isfinite(ra[i])
        polys.append((ra[i][ok], dec[i][ok]))
    missing = int(np.count_nonzero(source == ""))
    notes = [f"{plural(missing, 'row')} without footprint columns"] if missing else []
    return polys, notes


def _read_table(path: Path):
    from roman_asn.pool import read_pool

    return read_pool(path).table


# the image savefig writes, by the output's suffix (none: PNG)
PLOT_FORMATS = {"": "png", ".png": "png", ".pdf": "pdf", ".svg": "svg"}
# no time stamp (and, with svg.hashsalt set, no random ids): one plot, one file
_UNDATED = {"png": None, "pdf": {"CreationDate": None}, "svg": {"Date": None}}


def plot_format(output: str | os.PathLike[str]) -> str:
    """The image format ``output``'s suffix names: a plot named x.svg was a PNG."""
    suffix = Path(output).suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise RomanAsnError(
            f"a plot is written as .png, .pdf or .svg (by the suffix), not {suffix}",
            path=os.fspath(output),
        )
    return PLOT_FORMATS[suffix]


def plot_coverage(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    skymap: SkyMap | None = None,
    size_inches: tuple[float, float] = (8.0, 8.0),
    dpi: int = 100,
) -> dict:
    """Draw the coverage of an association (.json), an exposure file (.asdf) or a pool
    to a PNG, PDF or SVG (:func:`plot_format`); returns a summary."""
    image_format = plot_format(output)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from roman_asn.atomic import atomic_path

    path = Path(source)
    if not path.is_file():
        raise RomanAsnError("no such file", path=str(path))
    own_cell = None
    if path.suffix.lower() == ".json":
        polys, notes = footprints_of_association(path)
        own_cell = _cell_of(path)
    elif path.suffix.lower() == ".asdf":  # one exposure file: its own footprint
        info = read_level2(path)
        polys, notes = [(info["ra"], info["dec"])], []
    else:
        polys, notes = footprints_of_pool(path)
    polys = _drawable(polys, notes)
    if not polys:
        why = f" ({'; '.join(notes)})" if notes else ""
        raise RomanAsnError(f"nothing to draw: no footprints found{why}", path=str(path))
    skymap = skymap or get_skymap()
    outline_only = OUTLINE_NOTE in notes
    fields = _fields(polys)
    if len(fields) > MAX_PANELS:
        rest = sum(len(f) for f in fields[MAX_PANELS:])
        notes.append(
            f"{plural(len(fields) - MAX_PANELS, 'more field')} with "
            f"{plural(rest, 'footprint')} not drawn"
        )
        fields = fields[:MAX_PANELS]
    ncols = 1 if len(fields) == 1 else 2
    nrows = (len(fields) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=size_inches, dpi=dpi, squeeze=False)
    names: list[str] = []
    panels = []
    for number, (ax, field) in enumerate(zip(axes.flat, fields, strict=False), start=1):
        records = _draw_field(ax, [polys[i] for i in field], skymap, outline_only, own_cell)
        panels.append((ax, records))
        names += [str(n) for n in records["name"]]
        if len(fields) > 1:  # one panel: the figure title says it all
            ax.set_title(
                f"field {number}: {plural(len(field), 'footprint')}, "
                f"{plural(len(records), 'sky cell')}",
                fontsize=9,
            )
    for ax in list(axes.flat)[len(fields) :]:
        ax.set_visible(False)
    drawn = sum(len(f) for f in fields)
    what = "sky-cell outline" if outline_only else plural(drawn, "footprint")
    fig.suptitle(f"{path.name}: {what}, {plural(len(set(names)), 'sky cell')}", fontsize=11)
    handles = [
        Patch(facecolor="none", edgecolor="tab:blue", label="sky cells (5000 px squares)"),
        *(
            [Patch(facecolor="none", edgecolor="navy", lw=2.5, label=f"its sky cell {own_cell}")]
            if own_cell and not outline_only
            else []
        ),
        Patch(
            facecolor="tab:orange",
            alpha=0.35,
            edgecolor="tab:red",
            hatch="//" if outline_only else None,
            label="the association's sky cell (members not found)"
            if outline_only
            else "exposure footprints",
        ),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    unlabelled = sum(_label_cells(ax, records) for ax, records in panels)
    if unlabelled:
        notes.append(f"{plural(unlabelled, 'sky-cell name')} left out: too small to read")
    records = {"name": sorted(set(names))}
    out = Path(output)
    with atomic_path(out) as tmp, matplotlib.rc_context({"svg.hashsalt": "roman-asn"}):
        fig.savefig(tmp, format=image_format, dpi=dpi, metadata=_UNDATED[image_format])
    plt.close(fig)
    return {"footprints": drawn, "cells": records["name"], "notes": notes}


MAX_PANELS = 4
FIELD_RADIUS_DEG = 5.0


def _fields(polys: list[tuple[NDArray, NDArray]]) -> list[list[int]]:
    """Footprints grouped into fields (within FIELD_RADIUS_DEG of a field's first
    footprint), largest first: one tangent plane cannot show fields far apart."""
    centres = [radec_to_unit(r, d).sum(axis=0) for r, d in polys]
    centres = [c / np.linalg.norm(c) for c in centres]
    limit = np.cos(np.radians(FIELD_RADIUS_DEG))
    seeds: list[NDArray] = []
    fields: list[list[int]] = []
    for i, centre in enumerate(centres):
        for seed, members in zip(seeds, fields, strict=True):
            if float(seed @ centre) >= limit:
                members.append(i)
                break
        else:
            seeds.append(centre)
            fields.append([i])
    return sorted(fields, key=lambda f: (-len(f), f[0]))


def _drawable(polys: list[tuple[NDArray, NDArray]], notes: list[str]) -> list:
    """The footprints a tangent plane can show: finite, and no wider than a footprint
    the sky-cell match takes (bad metadata otherwise; noted, as the generator does)."""
    kept = []
    for ra, dec in polys:
        ra, dec = np.asarray(ra, dtype=float), np.asarray(dec, dtype=float)
        ok = np.isfinite(ra) & np.isfinite(dec)
        if ok.sum() >= 3:
            radius = footprint_radii(ra[ok][None, :], dec[ok][None, :])[0]
            if radius <= MAX_FOOTPRINT_RADIUS_DEG:
                kept.append((ra[ok], dec[ok]))
    if len(kept) < len(polys):
        notes.append(
            f"{plural(len(polys) - len(kept), 'footprint')} left out: fewer than 3 finite "
            f"corners or wider than {MAX_FOOTPRINT_RADIUS_DEG:g} deg in radius"
        )
    return kept


def _cell_of(path: Path) -> str | None:
    """The sky cell an association is for (its skycell_wcs_info name), if any."""
    from roman_asn.association import load_asn

    info = load_asn(path).skycell_wcs_info
    name = info.get("name") if isinstance(info, dict) else None
    return str(name) if isinstance(name, str) and name else None


def _draw_field(
    ax,
    polys: list[tuple[NDArray, NDArray]],
    skymap: SkyMap,
    outline: bool,
    own_cell: str | None = None,
):
    """One panel: the footprints and the sky cells they touch, RA to the left;
    ``own_cell`` (the association's) drawn heavier."""
    width = max(len(p[0]) for p in polys)
    ra = np.full((len(polys), width), np.nan)
    dec = np.full((len(polys), width), np.nan)
    for i, (r, d) in enumerate(polys):
        ra[i, : len(r)], dec[i, : len(d)] = r, d
    cells = np.unique(match_footprints(ra, dec, skymap).cells)
    records = skymap.records(cells)
    centre_vec = radec_to_unit(ra[np.isfinite(ra)], dec[np.isfinite(dec)]).sum(axis=0)
    c_ra, c_dec = (float(v) for v in unit_to_radec(centre_vec))
    for rec in records:
        cr = np.array([rec[f"ra_corn{k}"] for k in (1, 2, 3, 4, 1)])
        cd = np.array([rec[f"dec_corn{k}"] for k in (1, 2, 3, 4, 1)])
        x, y, _ = sky_to_tan(cr, cd, c_ra, c_dec)
        if str(rec["name"]) == own_cell:
            ax.plot(x, y, color="navy", lw=2.5, zorder=3)
        else:
            ax.plot(x, y, color="tab:blue", lw=0.8)
    for r, d in polys:
        x, y, _ = sky_to_tan(np.append(r, r[0]), np.append(d, d[0]), c_ra, c_dec)
        ax.fill(
            x,
            y,
            facecolor="tab:orange",
            alpha=0.35,
            lw=1.0,
            edgecolor="tab:red",
            hatch="//" if outline else None,
        )
    ax.set_aspect("equal")
    ax.invert_xaxis()  # RA increases to the left
    ax.set_xlabel(f"RA offset (deg) from {c_ra:.4f}")
    ax.set_ylabel(f"Dec offset (deg) from {c_dec:+.4f}")
    ax.grid(True, lw=0.3)
    ax._roman_centre = (c_ra, c_dec)  # for _label_cells, once the layout is fixed
    return records


def _label_cells(ax, records, max_fontsize: float = 7.0, min_fontsize: float = 4.5) -> int:
    """Name each cell at its centre in the largest font (up to ``max_fontsize``) at
    which the name fits inside the drawn cell, so labels of neighbouring cells never
    overlap; below ``min_fontsize`` none is drawn. Returns how many were left out."""
    if len(records) == 0:
        return 0
    c_ra, c_dec = ax._roman_centre
    ax.apply_aspect()
    xc, yc, _ = sky_to_tan(records["ra_center"], records["dec_center"], c_ra, c_dec)
    # on-screen width of one cell (275 arcsec) in points; a name is 12 characters
    origin, corner = ax.transData.transform([(0.0, 0.0), (275.0 / 3600.0, 275.0 / 3600.0)])
    cell_points = abs(corner[0] - origin[0]) * 72.0 / ax.figure.dpi
    fontsize = min(max_fontsize, cell_points / (12 * 0.62 * 1.3))
    if fontsize < min_fontsize:
        return len(records)
    for x, y, name in zip(np.atleast_1d(xc), np.atleast_1d(yc), records["name"], strict=True):
        ax.text(
            float(x),
            float(y),
            str(name),
            ha="center",
            va="center",
            fontsize=fontsize,
            color="tab:blue",
            clip_on=True,
        )
    return 0
