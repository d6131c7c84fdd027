"""Sky-cell associations from Level 2 files, as romancal's ``skycell_asn`` makes them.

One association per group (visit, pass, daily segment, or program for
full/user) x sky cell x filter, named ``<root>_<drid>_<token>_<skycell>_<filter>``.
The files become a small pool (one row each, the footprint sampled along the
WCS as an S_REGION polygon) and the generator's sky-cell rule of the product
type groups them: ``roman-asn skycell`` and ``roman-asn generate`` share one
code path (:func:`skycell_rule`). Unlike romancal, files that cannot be read or
touch no cell are reported (never dropped silently), each program gets its own
associations, and members are written relative to each association file.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from roman_asn.association import Association, Member, Product
from roman_asn.atomic import check_folder
from roman_asn.errors import RomanAsnError, shown
from roman_asn.generator.naming import TemplateError, template_fields
from roman_asn.generator.summary import not_written
from roman_asn.rejects import Rejected
from roman_asn.skycells.footprints import read_level2
from roman_asn.skycells.skymap import SkyMap
from roman_asn.skycells.wcs import skycell_wcs_infos
from roman_asn.visit_id import field_end, visit_id_from_fields, visit_id_in_name, visit_id_upto

PRODUCT_TYPES = ("visit", "pass", "daily", "full", "user")
# the generator rule of each product type; daily and user are derived (see skycell_rule)
RULE_OF_TYPE = {
    "visit": "Asn_Lv3SkyCellVisit",
    "pass": "Asn_Lv3SkyCellPass",
    "daily": "Asn_Lv3SkyCellPass",
    "full": "Asn_Lv3SkyCellFull",
    "user": "Asn_Lv3SkyCellFull",
}
PROGRAM_ROOT = "r{program:05d}"
_VISIT_IN_NAME = re.compile(r"^r(\d{19})_")
_FILTER_IN_NAME = re.compile(r"_(f\d{3}|grism|prism|dark)(?:_|\.)", re.IGNORECASE)
_ROOT = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")


@dataclass
class SkycellRun:
    """What a run produced: associations by file path, the files left out, notes."""

    associations: dict[Path, Association] = field(default_factory=dict)
    skipped: list[Rejected] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    n_files: int = 0


def visit_id_of(observation: dict, filename: str) -> str | None:
    """The 19-digit visit id PPPPPCCAAASSSOOOVVV from metadata, else from the file name."""
    return visit_id_from_fields(observation) or visit_id_in_name(filename)


# the last visit-id field a product type's group holds (full and user: the program)
_LAST_FIELD = {"visit": "visit", "pass": "pass", "daily": "segment"}


def group_token(visit_id: str, product_type: str) -> tuple[str, str]:
    """(group key, name token) of a visit id for a product type."""
    last = _LAST_FIELD.get(product_type)
    if last is not None:  # the token: the fields after the program up to ``last``
        key = visit_id_upto(visit_id, last)
        return key, product_type[0] + key[field_end("program") :]
    if product_type in ("full", "user"):
        return visit_id_upto(visit_id, "program"), product_type
    raise RomanAsnError(
        f"unknown product type {product_type!r} (one of {', '.join(PRODUCT_TYPES)})"
    )


def token_expr(visit_ids: pl.Expr, product_type: str) -> pl.Expr:
    """:func:`group_token`'s name token of a column of visit ids, vectorized (visit,
    pass and daily: the generator's rules take a million rows at a time)."""
    start, end = field_end("program"), field_end(_LAST_FIELD[product_type])
    return pl.lit(product_type[0]) + visit_ids.str.slice(start, end - start)


def skycell_rule(product_type: str, root: str | None = None, rules=None):
    """The generator rule that makes ``product_type`` sky-cell associations.

    visit, pass and full are the default rules themselves; daily groups like pass
    by the daily token, user like full with the token ``user``. ``root`` replaces
    the program part ``r<PPPPP>`` of the product name. Members are the file names
    as given (no suffix swap).
    """
    from roman_asn.rules.loader import load_rules

    if product_type not in PRODUCT_TYPES:
        raise RomanAsnError(
            f"unknown product type {product_type!r} (one of {', '.join(PRODUCT_TYPES)})"
        )
    by_name = {rule.name: rule for rule in (rules or load_rules())}
    name = RULE_OF_TYPE[product_type]
    if name not in by_name:
        raise RomanAsnError(f"no rule {name} for product type {product_type}")
    rule = by_name[name]
    template, group_by = rule.product_name, rule.group_by
    if product_type == "daily":
        template = template.replace("{pass_token!s}", "{daily_token!s}")
        group_by = tuple("daily_token" if g == "pass_token" else g for g in group_by)
    elif product_type == "user":
        template = template.replace("_full_", "_user_")
    if root is not None:
        if not template.startswith(PROGRAM_ROOT):
            raise RomanAsnError(f"rule {name}: product name {template!r} has no program root")
        template = root.replace("{", "{{").replace("}", "}}") + template[len(PROGRAM_ROOT) :]
        try:  # as a rules file's template is: a root of 300 letters was a traceback
            template_fields(template)
        except TemplateError as error:
            raise RomanAsnError(f"output file root {shown(root)}: the product {error}") from None
    return dataclasses.replace(
        rule,
        name=name if product_type in ("visit", "pass", "full") else f"{name}:{product_type}",
        product_name=template,
        group_by=group_by,
        member_suffix=None,
    )


def _split_root(root: str | None, out_dir: Path) -> tuple[str | None, Path]:
    """``-o out/r00001`` (romancal's habit): the folder part joins the output folder."""
    if root is None:
        return None, out_dir
    folder, name = os.path.split(root)
    if not name or not _ROOT.fullmatch(name):
        raise RomanAsnError(
            f"output file root {root!r}: the name part must be letters, digits, '.' or '-'"
        )
    if folder and (os.path.isabs(folder) or os.path.normpath(folder).split(os.sep)[0] == ".."):
        raise RomanAsnError(
            f"output file root {root!r}: its folder must lie inside the output folder "
            f"{os.fspath(out_dir)!r} (no absolute path, no '..')"
        )
    return name, out_dir / folder if folder else out_dir


def level2_table(
    files: list[str | os.PathLike[str]],
) -> tuple[pl.DataFrame, list[Path], list[Rejected], list[str]]:
    """One pool row per usable Level 2 file (footprint as an S_REGION polygon),
    the file of each row, the files left out and notes (e.g. no bounding box)."""
    rows, paths, skipped, notes = [], [], [], []
    seen: dict[str, Path] = {}
    for f in files:
        path = Path(f)
        try:
            info = read_level2(path)
        except RomanAsnError as error:
            skipped.append(Rejected(str(path), error.message))
            continue
        exposure_type = (info["exposure_type"] or "").strip()
        if exposure_type in ("", "?"):  # no type (or RAD's fill value): make-pool's reason
            skipped.append(Rejected(str(path), "missing required metadata: meta.exposure.type"))
            continue
        visit_id = visit_id_of(info["observation"], path.name)
        if visit_id is None:
            skipped.append(Rejected(str(path), "no visit id in meta.observation or the file name"))
            continue
        filt = info["filter"]
        if not filt:
            m = _FILTER_IN_NAME.search(path.name)
            filt = m.group(1) if m else None
        if not filt:
            skipped.append(
                Rejected(str(path), "no filter in meta.instrument.optical_element or the file name")
            )
            continue
        if path.name in seen:
            skipped.append(Rejected(str(path), f"same file name as {seen[path.name]}"))
            continue
        seen[path.name] = path
        if info["footprint_source"] != "bounding box":
            notes.append(f"{path}: {info['footprint_source']}")
        polygon = " ".join(
            f"{float(r)!r} {float(d)!r}" for r, d in zip(info["ra"], info["dec"], strict=True)
        )
        rows.append(
            {
                "filename": path.name,
                "program": int(visit_id[:5]),
                "visit_id": visit_id,
                "optical_element": filt.upper(),
                "exp_type": exposure_type.upper(),
                "s_region": f"POLYGON ICRS {polygon}",
            }
        )
        paths.append(path)
    schema = {
        "filename": pl.Utf8,
        "program": pl.Int64,
        "visit_id": pl.Utf8,
        "optical_element": pl.Utf8,
        "exp_type": pl.Utf8,
        "s_region": pl.Utf8,
    }
    return pl.DataFrame(rows, schema=schema), paths, skipped, notes


def build_skycell_associations(
    files: list[str | os.PathLike[str]],
    root: str | None = None,
    *,
    product_type: str = "visit",
    data_release_id: str = "p",
    out_dir: str | os.PathLike[str] = ".",
    skymap: SkyMap | None = None,
) -> SkycellRun:
    """Build (not write) the sky-cell associations of Level 2 files.

    ``root`` None names each product after its file's program (``r<PPPPP>``); a
    given root with files of several programs is an error (one program's files
    would replace the other's under the same names).
    """
    from roman_asn.generator.engine import generate
    from roman_asn.generator.options import GenerateOptions
    from roman_asn.tools.output import member_path

    name_root, folder = _split_root(root, Path(out_dir))
    check_folder(folder)  # -o out/r00001: a file in the way is said before any file is read
    rule = skycell_rule(product_type, name_root)
    table, paths, skipped, notes = level2_table(files)
    run = SkycellRun(skipped=skipped, notes=notes, n_files=len(files))
    if table.is_empty():
        return run
    programs = sorted(set(table["program"].to_list()))
    if root is not None and len(programs) > 1:
        listed = ", ".join(f"{p:05d}" for p in programs)
        raise RomanAsnError(
            f"the files belong to programs {listed}: an explicit root (-o {root}) would give "
            "them the same product names; leave -o out to name each after its program"
        )
    options = GenerateOptions(data_release_id=data_release_id, asn_pool="none")
    result = generate(table, [rule], options)
    if dropped := not_written(result):  # a file's reason says only 'dropped': here is why
        run.notes.append(dropped)
    for orphan in result.orphans.iter_rows(named=True):
        reasons = "; ".join(r.split(" [")[0] for r in orphan["reasons"])
        run.skipped.append(Rejected(str(paths[orphan["pool_row"]]), reasons))
    run.skipped.sort()
    frame = result.associations
    infos = skycell_wcs_infos([skymap_index(n, skymap) for n in frame["skycell"]], skymap)
    for asn_row, info in zip(frame.iter_rows(named=True), infos, strict=True):
        members = [
            Member(member_path(paths[r], folder), rule.member_exptype)
            for r in sorted(asn_row["rows"], key=lambda r: paths[r].name)
        ]
        asn = Association(
            asn_type=asn_row["asn_type"],
            asn_rule="DMS_ELPP_Base",
            program=f"{asn_row['program']:05d}",
            data_release_id=data_release_id,
            target=asn_row["target"],
            constraints=asn_row["constraints"],
            asn_id=asn_row["asn_id"],
            skycell_wcs_info=info,
            products=[Product(name=asn_row["product_name"], members=members)],
        )
        run.associations[folder / asn_row["file_name"]] = asn
    return run


def skymap_index(name: str, skymap: SkyMap | None) -> int:
    from roman_asn.skycells.skymap import get_skymap

    return (skymap or get_skymap()).index_of(name)


def write_skycell_associations(run: SkycellRun) -> list[Path]:
    """Validate and write every association atomically; returns the written paths."""
    from roman_asn.tools.output import write_checked

    return [
        write_checked(asn, path, follow_symlinks=False) for path, asn in run.associations.items()
    ]
