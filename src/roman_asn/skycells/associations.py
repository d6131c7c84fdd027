"""Sky-cell associations from Level 2 files, as romancal's ``skycell_asn`` makes them.

One association per group (visit, pass, daily segment, or program for
full/user) x sky cell x filter, named ``<root>_<drid>_<token>_<skycell>_<filter>``.
Unlike romancal, files that cannot be read are reported (never dropped silently)
and members are grouped by the metadata values, with the file name as fallback.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from roman_asn.association import Association, Member, Product
from roman_asn.errors import RomanAsnError
from roman_asn.skycells.footprints import read_level2
from roman_asn.skycells.lookup import match_footprints
from roman_asn.skycells.skymap import SkyMap, get_skymap
from roman_asn.skycells.wcs import skycell_wcs_info
from roman_asn.visit_id import visit_id_from_fields, visit_id_in_name, visit_id_upto

PRODUCT_TYPES = ("visit", "pass", "daily", "full", "user")
_FILTER_IN_NAME = re.compile(r"_(f\d{3}|grism|prism|dark)(?:_|\.)", re.IGNORECASE)


@dataclass
class SkippedFile:
    path: str
    reason: str


@dataclass
class SkycellRun:
    """What a run produced: associations by file name, and the files it skipped."""

    associations: dict[str, Association] = field(default_factory=dict)
    skipped: list[SkippedFile] = field(default_factory=list)
    n_files: int = 0


def visit_id_of(observation: dict, filename: str) -> str | None:
    """The 19-digit visit id PPPPPCCAAASSSOOOVVV from metadata, else from the file name."""
    return visit_id_from_fields(observation) or visit_id_in_name(filename)


def group_token(visit_id: str, product_type: str) -> tuple[str, str]:
    """(group key, name token) of a visit id for a product type."""
    program = visit_id_upto(visit_id, "program")
    last = {"visit": "visit", "pass": "pass", "daily": "segment"}.get(product_type)
    if last is not None:  # the token: the fields after the program up to ``last``
        key = visit_id_upto(visit_id, last)
        return key, product_type[0] + key[len(program) :]
    if product_type in ("full", "user"):
        return program, product_type
    raise RomanAsnError(
        f"unknown product type {product_type!r} (one of {', '.join(PRODUCT_TYPES)})"
    )


def _expname(path: Path, out_dir: Path) -> str:
    """Member name as romancal opens it: relative to the association's folder."""
    try:
        return os.path.relpath(path.resolve(), out_dir.resolve())
    except ValueError:  # another drive on Windows
        return str(path.resolve())


def build_skycell_associations(
    files: list[str | os.PathLike[str]],
    root: str,
    *,
    product_type: str = "visit",
    data_release_id: str = "p",
    out_dir: str | os.PathLike[str] = ".",
    skymap: SkyMap | None = None,
) -> SkycellRun:
    """Build (not write) the sky-cell associations of Level 2 files."""
    if product_type not in PRODUCT_TYPES:
        raise RomanAsnError(
            f"unknown product type {product_type!r} (one of {', '.join(PRODUCT_TYPES)})"
        )
    skymap = skymap or get_skymap()
    out = Path(out_dir)
    run = SkycellRun(n_files=len(files))
    usable: list[tuple[Path, str, str, np.ndarray, np.ndarray]] = []
    for f in files:
        path = Path(f)
        try:
            info = read_level2(path)
        except RomanAsnError as error:
            run.skipped.append(SkippedFile(str(path), error.message))
            continue
        visit_id = visit_id_of(info["observation"], path.name)
        if visit_id is None:
            run.skipped.append(
                SkippedFile(str(path), "no visit id in meta.observation or the file name")
            )
            continue
        filt = info["filter"]
        if not filt:
            m = _FILTER_IN_NAME.search(path.name)
            filt = m.group(1) if m else None
        if not filt:
            run.skipped.append(
                SkippedFile(
                    str(path), "no filter in meta.instrument.optical_element or the file name"
                )
            )
            continue
        usable.append((path, visit_id, filt.lower(), info["ra"], info["dec"]))
    if not usable:
        return run
    width = max(len(u[3]) for u in usable)
    ra = np.full((len(usable), width), np.nan)
    dec = np.full((len(usable), width), np.nan)
    for i, u in enumerate(usable):
        ra[i, : len(u[3])], dec[i, : len(u[4])] = u[3], u[4]
    matches = match_footprints(ra, dec, skymap)
    members: dict[tuple[str, int, str], list[int]] = defaultdict(list)
    tokens: dict[str, str] = {}
    for i, (_, visit_id, filt, _, _) in enumerate(usable):
        key, token = group_token(visit_id, product_type)
        tokens[key] = token
        for cell in matches.cells_of(i):
            members[(key, int(cell), filt)].append(i)
    for (key, cell, filt), rows in sorted(members.items()):
        info = skycell_wcs_info(cell, skymap)
        cell_name = info["name"]
        program = visit_id_upto(usable[rows[0]][1], "program")
        product = f"{root}_{data_release_id}_{tokens[key]}_{cell_name}_{filt}"
        asn = Association(
            asn_type="image",
            asn_rule="DMS_ELPP_Base",
            program=program,
            data_release_id=data_release_id,
            target=cell_name,
            constraints=(
                f"product_type={product_type} group={key} skycell={cell_name} filter={filt}"
            ),
            asn_id="o999",
            skycell_wcs_info=info,
            products=[
                Product(
                    name=product,
                    members=[
                        Member(_expname(usable[r][0], out), "science")
                        for r in sorted(rows, key=lambda r: usable[r][0].name)
                    ],
                )
            ],
        )
        run.associations[f"{product}_asn.json"] = asn
    return run


def write_skycell_associations(run: SkycellRun, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Validate and write every association atomically; returns the written paths."""
    from roman_asn.validate import validate_dict

    written = []
    for filename, asn in run.associations.items():
        problems = validate_dict(asn.to_dict(), filename)
        if problems:
            raise RomanAsnError(
                f"internal error, invalid association: {problems[0]}", path=filename
            )
        written.append(asn.write(Path(out_dir) / filename))
    return written
