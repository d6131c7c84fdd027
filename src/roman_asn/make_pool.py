"""Build a pool from Roman WFI exposure files (Level 1 ``_uncal``, Level 2 ``_cal`` ...).

Only metadata is read: files are opened with ``lazy_load=True`` and a lazy tree,
so asdf reads the YAML tree and converts only the nodes we touch; the pixel
arrays (``data``, ``dq``, ...) are never loaded. Each file gives one pool row.

Metadata paths (RAD 1.2 / roman_datamodels 1.2; ``roman.`` prefix omitted):

- program, execution_plan, pass, segment, observation, visit, exposure:
  ``meta.observation.<same name>``; visit_id: ``meta.observation.visit_id``
  (built from the six parts when absent); observation_id: ``meta.observation.observation_id``
- exp_type: ``meta.exposure.type``; start_time: ``meta.exposure.start_time`` (ISO)
- instrument, detector, optical_element: ``meta.instrument.{name, detector, optical_element}``
- category, subcategory: ``meta.program.{category, subcategory}``
- pointing_ra, pointing_dec, pointing_pa: ``meta.pointing.{target_ra, target_dec, pa_aperture}``,
  which place ``meta.pointing.target_aperture`` on the target; taken through the SIAF
  to WFI_CEN's pointing, which the pool columns mean.
- target: RAD 1.2 has no target name for WFI exposures; left empty.
- ra_corn1..4, dec_corn1..4: the gwcs ``meta.wcs`` at the corners of its
  bounding box (else its pixel_shape, else the data array's shape), else a
  4-vertex polygon in ``meta.wcsinfo.s_region``, else the detector's SIAF corners
  placed by ``meta.wcsinfo`` (ra_ref, dec_ref, roll_ref at v2_ref, v3_ref: what
  romancal's assign_wcs will make the WCS of a Level 1 file from); s_region: the
  metadata's, else built from the corners. A polygon of 3 or 5+ vertices stays in s_region only,
  and so does a WCS whose distortion bows the edges: its outline sampled as
  ``skycell-asn`` samples it, so both place the file on the same sky cells.
- A Level 2 image (``wfi_image``) without ``meta.wcs`` is left out: RAD requires
  one, and romancal cannot open the file.

RAD fill values (``"?"`` for text, ``-999999`` for numbers) count as missing.
"""

from __future__ import annotations

import errno
import math
import multiprocessing
import os
import re
import signal
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from roman_asn.errors import PoolError
from roman_asn.exposure_file import ASDF_MAGIC as ASDF_MAGIC  # make_pool's names before
from roman_asn.exposure_file import EXPOSURE_TAGS as EXPOSURE_TAGS
from roman_asn.exposure_file import open_exposure, short_message
from roman_asn.pool.columns import CANDIDATE_DTYPE, COLUMN_TYPES, VISIT_ID_FIELDS
from roman_asn.pool.reader import Pool
from roman_asn.rejects import Rejected, RejectedInput
from roman_asn.skycells.footprints import (
    CORNER_COLUMNS,
    detector_footprint_from_wcsinfo,
    outline_of_wcs,
    parse_s_region,
    pointing_of_wfi_cen,
)
from roman_asn.visit_id import is_visit_id, visit_id_from_fields

OBSERVATION_PARTS = tuple(name for name, _ in VISIT_ID_FIELDS)

# (pool column, path under roman.meta, required)
METADATA_FIELDS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    *((name, ("observation", name), True) for name in OBSERVATION_PARTS),
    ("exposure", ("observation", "exposure"), True),
    ("visit_id", ("observation", "visit_id"), False),
    ("observation_id", ("observation", "observation_id"), False),
    ("detector", ("instrument", "detector"), True),
    ("optical_element", ("instrument", "optical_element"), True),
    ("instrument", ("instrument", "name"), False),
    ("exp_type", ("exposure", "type"), True),
    ("start_time", ("exposure", "start_time"), False),
    ("category", ("program", "category"), False),
    ("subcategory", ("program", "subcategory"), False),
    ("pointing_ra", ("pointing", "target_ra"), False),
    ("pointing_dec", ("pointing", "target_dec"), False),
    ("pointing_pa", ("pointing", "pa_aperture"), False),
)

# text fields, upper-cased; a file's detector is one of the 18
TEXT_COLUMNS = ("detector", "optical_element", "instrument", "exp_type")
DETECTOR_NAME = re.compile(r"WFI(0[1-9]|1[0-8])")

# the columns a made pool has, in pool order
_MADE = {"filename", "target", "candidates", "exposerr", "s_region"}
_MADE.update(name for pair in CORNER_COLUMNS for name in pair)
POOL_COLUMNS: tuple[str, ...] = tuple(
    name for name in COLUMN_TYPES if name in _MADE or any(f[0] == name for f in METADATA_FIELDS)
)

FILL_TEXT = ("", "?")
FILL_NUMBER = -999999


@dataclass(frozen=True)
class ScanResult:
    """What one file gave: a pool row, or the reason it was left out."""

    path: str
    row: dict[str, Any] | None = None
    reason: str | None = None


@dataclass
class MadePool:
    pool: Pool | None
    rejects: list[Rejected]
    scanned: int


# ---------------------------------------------------------------- finding files


def find_inputs(
    paths: Iterable[str | os.PathLike[str]], *, recursive: bool = False
) -> tuple[list[Path], list[Rejected]]:
    """Expand the arguments: files as given, directories to their ``*.asdf`` files.

    Directories are searched one level deep unless ``recursive``. The same file
    named twice (directly and through its folder) is read once.
    """
    found: dict[Path, Path] = {}
    missing: list[Rejected] = []
    empty: list[Rejected] = []  # said only beside other files (alone: "no *.asdf files")
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            pattern = path.rglob("*.asdf") if recursive else path.glob("*.asdf")
            candidates, listed = [], len(missing)
            for match in sorted(pattern):
                if match.is_file():
                    candidates.append(match)
                elif match.is_symlink():
                    missing.append(ScanResult(str(match), reason=_broken_link(match)))
                elif match.is_dir():
                    missing.append(Rejected(str(match), "a folder, not an ASDF file"))
            if not candidates and len(missing) == listed:  # nothing in it said anything
                empty.append(Rejected(str(path), "a folder with no *.asdf files"))
        elif path.exists():
            candidates = [path]
        elif path.is_symlink():
            missing.append(ScanResult(str(path), reason=_broken_link(path)))
            continue
        else:
            missing.append(Rejected(str(path), "no such file or directory"))
            continue
        for candidate in candidates:
            found.setdefault(candidate.resolve(), candidate)
    return list(found.values()), missing + (empty if found or missing else [])


def _broken_link(path: Path) -> str:
    """Why a symlink leads to no file: a loop, or a target that does not exist."""
    try:
        path.resolve(strict=True)
    except RuntimeError:
        return "symlink loop"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symlink loop"
        return f"broken symlink (to {os.readlink(path)})"
    return "symlink to something that is not a file"


# ---------------------------------------------------------------- one file


def _clean(value: Any) -> Any:
    """Turn RAD fill values, NaN and astropy objects into plain values or None."""
    if hasattr(value, "isot"):  # astropy Time
        return str(value.isot)
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return None if value == FILL_NUMBER else value
    text = str(value).strip()
    return None if text in FILL_TEXT else text


def _lookup(node: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _footprint_from_wcs(wcs: Any, data: Any) -> tuple[list[tuple[float, float]] | None, str | None]:
    """The corners (x0, y0), (x1, y0), (x1, y1), (x0, y1) of a WCS footprint, or, when
    distortion bows its edges, no corners and an S_REGION of its sampled outline."""
    if wcs is None or not callable(wcs):
        return None, None
    try:
        (ra, dec), outline = outline_of_wcs(wcs, data_shape=getattr(data, "shape", None))
    except Exception:  # a WCS that cannot be evaluated gives no footprint
        return None, None
    if outline is not None:
        return None, _s_region_text(list(zip(*outline, strict=True)))
    return [(float(r), float(d)) for r, d in zip(ra, dec, strict=True)], None


def _s_region_text(corners: list[tuple[float, float]]) -> str:
    return "POLYGON ICRS " + " ".join(f"{ra:.9f} {dec:.9f}" for ra, dec in corners)


def read_exposure_row(path: str | os.PathLike[str]) -> dict[str, Any]:
    """One pool row from the metadata of one WFI exposure file; ``RejectedInput`` if not one
    (the file checks are :func:`roman_asn.exposure_file.open_exposure`'s)."""
    path = Path(path)
    with open_exposure(path) as exposure:
        return _row_from_tree(exposure.roman, exposure.meta, path.name)


INT64 = (-(2**63), 2**63 - 1)
METADATA_PLACES = {column: "meta." + ".".join(path) for column, path, _ in METADATA_FIELDS}


def _fit_columns(row: dict[str, Any], places: Mapping[str, str]) -> None:
    """Every number as its pool column holds it: an integer beyond 64 bits, or a float
    column's number beyond a float's range, is no exposure's (the file is left out)."""
    for column, value in row.items():
        dtype = COLUMN_TYPES.get(column)
        if dtype is None or not isinstance(value, int):
            continue
        if isinstance(value, bool):  # YAML's true is no program or exposure number
            if dtype.is_numeric():
                raise RejectedInput(f"{places.get(column, column)}: {value} is not a number")
            continue
        if dtype.is_integer() and not INT64[0] <= value <= INT64[1]:
            raise RejectedInput(f"{places.get(column, column)}: {value} is not a 64-bit integer")
        if dtype.is_float():
            try:
                row[column] = float(value)
            except OverflowError:
                raise RejectedInput(
                    f"{places.get(column, column)}: {value} is out of range"
                ) from None


def _row_from_tree(
    roman: Mapping[str, Any], meta: Mapping[str, Any], filename: str
) -> dict[str, Any]:
    row: dict[str, Any] = {"filename": filename}
    missing = []
    for column, meta_path, required in METADATA_FIELDS:
        raw = _lookup(meta, meta_path)
        if column in TEXT_COLUMNS and raw is not None and not isinstance(raw, str):
            # a list or mapping would go in as its Python repr
            raise RejectedInput(f"meta.{'.'.join(meta_path)} is not a text: {raw!r}")
        value = _clean(raw)
        if value is None and required:
            missing.append("meta." + ".".join(meta_path))
        row[column] = value
    if missing:
        raise RejectedInput(f"missing required metadata: {', '.join(missing)}")
    for column in OBSERVATION_PARTS + ("exposure",):
        if not isinstance(row[column], int):
            raise RejectedInput(f"meta.observation.{column} is not an integer: {row[column]!r}")
    for column in ("pointing_ra", "pointing_dec", "pointing_pa"):
        if row[column] is not None and not isinstance(row[column], int | float):
            row[column] = None
    _fit_columns(row, METADATA_PLACES)
    for column in TEXT_COLUMNS:
        if row[column] is not None:
            row[column] = row[column].upper()
    if not DETECTOR_NAME.fullmatch(row["detector"]):
        raise RejectedInput(
            f"meta.instrument.detector is {row['detector']!r}, not one of WFI01..WFI18"
        )
    if not is_visit_id(row["visit_id"]):
        row["visit_id"] = visit_id_from_fields(row)
    row["target"] = None
    row["candidates"] = []
    row["exposerr"] = None

    s_region = _clean(_lookup(meta, ("wcsinfo", "s_region")))
    corners, outline = _footprint_from_wcs(meta.get("wcs"), roman.get("data"))
    polygon = parse_s_region(s_region) if isinstance(s_region, str) else None
    if outline is not None:
        s_region = outline
    elif corners is None and polygon is not None and len(polygon[0]) == 4:
        corners = [(float(r), float(d)) for r, d in zip(*polygon, strict=True)]
    if corners is None and polygon is None and outline is None:
        corners = _corners_from_wcsinfo(meta, row["detector"])  # no usable polygon either
    if corners is not None:
        for index, (ra, dec) in enumerate(corners, start=1):
            row[f"ra_corn{index}"] = ra
            row[f"dec_corn{index}"] = dec
        if s_region is None:
            s_region = _s_region_text(corners)
    row["s_region"] = s_region if isinstance(s_region, str) else None
    _point_wfi_cen(row, _clean(_lookup(meta, ("pointing", "target_aperture"))))
    return row


WCSINFO_KEYS = ("ra_ref", "dec_ref", "roll_ref", "v2_ref", "v3_ref")


def _corners_from_wcsinfo(
    meta: Mapping[str, Any], detector: str
) -> list[tuple[float, float]] | None:
    """A Level 1 file's detector corners from ``meta.wcsinfo``, which romancal's
    assign_wcs turns into its WCS; None when a value is missing or a fill value."""
    values = {key: _clean(_lookup(meta, ("wcsinfo", key))) for key in WCSINFO_KEYS}
    if not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        for v in values.values()
    ):
        return None
    if abs(values["dec_ref"]) > 90.0:
        return None
    ra, dec = detector_footprint_from_wcsinfo(values, int(detector[3:]))
    return [(float(r), float(d)) for r, d in zip(ra, dec, strict=True)]


def _point_wfi_cen(row: dict[str, Any], aperture: Any) -> None:
    """The pool's pointing is WFI_CEN's; a file's is its target aperture's."""
    pointing = (row["pointing_ra"], row["pointing_dec"], row["pointing_pa"])
    if aperture is None or None in pointing:
        return
    try:
        converted = pointing_of_wfi_cen(*pointing, str(aperture).upper())
    except KeyError:
        if row["s_region"] is None and row.get("ra_corn1") is None:
            raise RejectedInput(
                f"no WCS, s_region or wcsinfo, and meta.pointing.target_aperture {aperture!r} is no"
                " aperture of the Roman SIAF, so its pointing cannot place the detector"
            ) from None
        converted = (None, None, None)  # the footprint is known without it
    row["pointing_ra"], row["pointing_dec"], row["pointing_pa"] = converted


def scan_file(path: str) -> ScanResult:
    """Worker entry point: never raises for a bad file."""
    try:
        return ScanResult(path, row=read_exposure_row(path))
    except RejectedInput as why:
        return ScanResult(path, reason=str(why))
    except Exception as error:  # anything else a strange file can provoke
        return ScanResult(path, reason=f"unreadable: {short_message(error)}")


# ---------------------------------------------------------------- many files


# Below this many files one process is faster: a worker needs seconds to import
# asdf, gwcs and the Roman schemas, the main process reads ~80 files a second
# (benchmarks/make_pool_scan.py).
PARALLEL_FROM = 400

_WORKER_MODULES = [
    "roman_asn.scan_workers",  # first: quiet when make-pool is stopped as they start
    "roman_asn.make_pool",
    "asdf",
    "gwcs",
    "roman_datamodels.datamodels",
]


def scan_files(
    paths: list[Path], *, jobs: int | None = None, parallel_from: int = PARALLEL_FROM
) -> Iterator[ScanResult]:
    """Scan ``paths`` in ``jobs`` worker processes (default: one per core).

    Results come in input order. One job, or fewer than ``parallel_from`` files,
    run in this process.
    """
    jobs = jobs or os.cpu_count() or 1
    names = [str(p) for p in paths]
    if jobs == 1 or len(names) <= 1 or len(names) < parallel_from:
        yield from map(scan_file, names)
        return
    workers = min(jobs, len(names))
    # chunks keep the per-task overhead low for many small files, yet small enough
    # for every worker to get several and for the progress bar to move
    chunk = max(1, min(64, len(names) // (workers * 8)))
    # not fork: this process may run threads (polars, the progress bar) whose locks
    # a forked child would inherit held. The fork server imports the readers once.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_WORKER_MODULES)
        _start_fork_server()
    else:
        context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(scan_file, names, chunksize=chunk)


def _start_fork_server() -> None:
    """Start the fork server deaf to SIGINT and SIGTERM, as every worker it forks will
    be: make-pool alone acts on them (it stops handing out files, and the workers end
    once their files are done), where an interrupted worker printed its traceback and
    a pool broken that way raised again in its manager thread."""
    from multiprocessing import forkserver

    from roman_asn.worker_signals import started_deaf

    with started_deaf(signal.SIGINT, signal.SIGTERM):
        forkserver.ensure_running()


def build_pool(results: Iterable[ScanResult], *, path: str | None = None) -> MadePool:
    """Rows sorted by file name (then full path); duplicate names after the first rejected."""
    rows: list[tuple[str, str, dict[str, Any]]] = []
    rejects: list[Rejected] = []
    scanned = 0
    for result in results:
        scanned += 1
        if result.row is None:
            rejects.append(Rejected(result.path, result.reason or "unreadable"))
        else:
            rows.append((result.row["filename"], result.path, result.row))
    rows.sort(key=lambda item: (item[0], item[1]))
    kept: list[dict[str, Any]] = []
    first_path: dict[str, str] = {}
    for name, source, row in rows:
        if name in first_path:
            reason = f"duplicate file name: {first_path[name]} has the same name"
            rejects.append(Rejected(source, reason))
            continue
        first_path[name] = source
        kept.append(row)
    schema = {name: COLUMN_TYPES[name] for name in POOL_COLUMNS}
    schema["candidates"] = CANDIDATE_DTYPE
    while kept:
        frame = pl.DataFrame(
            [{name: row.get(name) for name in POOL_COLUMNS} for row in kept], schema=schema
        )
        try:
            pool = Pool.from_frame(frame, path)
        except PoolError as error:
            if error.row is None:
                raise
            # a value no exposure can have (a 6-digit program, Dec 95): leave the file out
            bad = kept.pop(error.row - 1)
            column = f"{error.column}: " if error.column else ""
            rejects.append(ScanResult(first_path[bad["filename"]], reason=column + error.message))
            continue
        rejects.sort(key=lambda r: r.path)
        return MadePool(pool, rejects, scanned)
    rejects.sort(key=lambda r: r.path)
    return MadePool(None, rejects, scanned)


def make_pool(
    paths: Iterable[str | os.PathLike[str]],
    *,
    recursive: bool = False,
    jobs: int | None = None,
    on_progress: Callable[[Iterator[ScanResult], int], Iterator[ScanResult]] | None = None,
    pool_path: str | None = None,
) -> MadePool:
    """Find, scan and tabulate: the library form of ``roman-asn make-pool``."""
    files, missing = find_inputs(paths, recursive=recursive)
    results = scan_files(files, jobs=jobs)
    if on_progress is not None:
        results = on_progress(results, len(files))
    made = build_pool(results, path=pool_path)
    made.rejects = sorted(missing + made.rejects, key=lambda r: r.path)
    made.scanned += len(missing)
    return made
