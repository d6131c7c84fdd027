"""Multiband associations: all filters of one sky cell (romancal's ``multiband_asn``).

Coadd names are ``<root>_<drid>_<token>_<skycell>_<filter>_coadd.asdf``. Each
(root, drid, token, skycell) with at least ``min_filters`` filters (default 2: one
filter has nothing to combine; 1 is romancal's behaviour) gets one association,
product ``<root>_<drid>_<token>_<skycell>`` (no filter), file
``<product>_asn.json``, asn_id ``a3001`` as romancal writes it. The grouping is
the generator's multiband rule (:func:`roman_asn.generator.engine.group_products`),
so ``roman-asn multiband`` and ``roman-asn generate`` agree. Unlike romancal, names
are parsed from the file name alone (folders may contain underscores), every name
that does not fit and every file that does not exist is reported with the reason,
and members are written relative to the association's folder, where romancal
opens them (absolute only for absolute inputs outside that folder).
"""

from __future__ import annotations

import dataclasses
import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from roman_asn.association import Association, Member, Product
from roman_asn.rejects import Rejected
from roman_asn.tools.output import check, member_path, write_checked

# romancal's cell names, and its x001y001 form (three digits per index)
SKYCELL = re.compile(r"\d{3}[pm]\d{2}x\d{2,3}y\d{2,3}")
FILTER = re.compile(r"f\d{3}", re.IGNORECASE)
MULTIBAND_RULE = "Asn_Lv3SkyCellMultiband"
_SUFFIX = "_coadd.asdf"
_WORD = re.compile(r"[a-z0-9]+")
_WILDCARD = re.compile(r"[*?\[]")


@dataclass(frozen=True, order=True)
class CoaddName:
    root: str
    data_release_id: str
    token: str
    skycell: str
    filter: str

    @property
    def product(self) -> str:
        return f"{self.root}_{self.data_release_id}_{self.token}_{self.skycell}"


def parse_coadd_name(name: str) -> CoaddName | str:
    """The parts of a coadd file name, or why it is not one (a sentence)."""
    base = os.path.basename(name)
    if not base.endswith(_SUFFIX):
        return f"does not end in {_SUFFIX}"
    parts = base[: -len(_SUFFIX)].split("_")
    if len(parts) < 2 or not FILTER.fullmatch(parts[-1]):
        return "no filter (fNNN, e.g. f158 or F158) before _coadd.asdf"
    if len(parts) < 3 or not SKYCELL.fullmatch(parts[-2]):
        return "no sky-cell name (like 270p65x48y69 or 045m12x23y45) before the filter"
    if len(parts) != 5:
        return "expected <root>_<drid>_<token>_<skycell>_<filter>_coadd.asdf"
    root, drid, token = parts[:3]
    for label, value in (("root", root), ("data release id", drid), ("token", token)):
        if not _WORD.fullmatch(value):
            return f"{label} {value!r} is not lower-case letters and digits"
    return CoaddName(root, drid, token, parts[-2], parts[-1].lower())


def expand_wildcards(items: list[str]) -> tuple[list[str], list[Rejected]]:
    """Arguments with ``*``, ``?`` or ``[`` that name no file are glob patterns
    (romancal expands a quoted pattern itself), expanded in sorted order; a
    pattern that matches nothing is reported."""
    out: list[str] = []
    unmatched: list[Rejected] = []
    for item in items:
        if _WILDCARD.search(item) and not os.path.exists(item):
            found = sorted(glob.glob(item))
            if not found:
                unmatched.append(Rejected(item, "the pattern matches no file"))
            out += found
        else:
            out.append(item)
    return out, unmatched


@dataclass
class MultibandPlan:
    """Associations to write (path -> association) and the inputs left out, with why."""

    associations: dict[Path, Association] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    skipped: list[Rejected] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def multiband_rule(min_filters: int | None = None, rules=None):
    """The generator's multiband rule; ``min_filters`` overrides its own."""
    from roman_asn.errors import RomanAsnError
    from roman_asn.rules.loader import load_rules

    by_name = {rule.name: rule for rule in (rules or load_rules())}
    if MULTIBAND_RULE not in by_name:
        raise RomanAsnError(f"no rule {MULTIBAND_RULE} in the rules")
    rule = by_name[MULTIBAND_RULE]
    if min_filters is not None:
        if min_filters < 1:
            raise RomanAsnError(f"--min-filters must be 1 or more, not {min_filters}")
        rule = dataclasses.replace(rule, min_filters=min_filters)
    return rule


def plan_multiband(
    files: list[str],
    output_dir: str | os.PathLike[str] = ".",
    *,
    psf_match_reference_filter: str | None = None,
    data_release_id: str | None = None,
    min_filters: int | None = None,
    allow_missing: bool = False,
) -> MultibandPlan:
    """Group coadd files into multiband associations (nothing is written).

    ``data_release_id`` keeps only coadds of that release; the others are listed in
    ``skipped``. Names that are not coadd names, files that do not exist (unless
    ``allow_missing``), and a second file for a filter already seen in a sky cell,
    are listed in ``rejected``; groups with fewer than ``min_filters`` filters
    (default: the rule's, 2) in ``skipped``.
    """
    from roman_asn.generator.engine import association_frame, group_products
    from roman_asn.generator.options import GenerateOptions

    out = Path(output_dir)
    plan = MultibandPlan()
    rule = multiband_rule(min_filters)
    files, unmatched = expand_wildcards(list(files))
    plan.rejected += unmatched
    coadds: list[tuple[CoaddName, str]] = []
    seen: dict[tuple[str, str], str] = {}
    for path in files:
        parsed = parse_coadd_name(path)
        if isinstance(parsed, str):
            plan.rejected.append(Rejected(path, parsed))
            continue
        if data_release_id is not None and parsed.data_release_id != data_release_id:
            plan.skipped.append(
                Rejected(path, f"data release {parsed.data_release_id}, not {data_release_id}")
            )
            continue
        key = (parsed.product, parsed.filter)
        if key in seen:
            earlier = seen[key]
            reason = "listed twice" if earlier == path else f"same product and filter as {earlier}"
            plan.rejected.append(Rejected(path, reason))
            continue
        if not os.path.isfile(path):
            if not allow_missing:
                plan.rejected.append(Rejected(path, "no such file (--allow-missing to use it)"))
                continue
            plan.warnings.append(f"{path}: no such file (used: --allow-missing)")
        seen[key] = path
        coadds.append((parsed, path))
    if not coadds:
        return plan

    # the products of the sky-cell rules, as the generator's second stage sees them
    products = pl.DataFrame(
        {
            "rows": [[i] for i in range(len(coadds))],
            "program": [_program_number(c.root) for c, _ in coadds],
            "skycell": [c.skycell for c, _ in coadds],
            "optical_element": [c.filter for c, _ in coadds],
            "product_name": [f"{c.product}_{c.filter}" for c, _ in coadds],
            "product_root": [c.product for c, _ in coadds],
        },
        schema={
            "rows": pl.List(pl.UInt32),
            "program": pl.Int64,
            "skycell": pl.Utf8,
            "optical_element": pl.Utf8,
            "product_name": pl.Utf8,
            "product_root": pl.Utf8,
        },
    )
    # groups of too few filters come back unwritten (emit false), as in the generator
    made = group_products(rule, products)
    groups = association_frame(rule, 0, made, GenerateOptions()).filter(pl.col("emit"))
    grouped = {r for rows in groups["rows"].to_list() for r in rows}
    for i, (coadd, path) in enumerate(coadds):
        if i not in grouped:
            plan.skipped.append(
                Rejected(
                    path,
                    f"{coadd.product} has fewer than {rule.min_filters} filters "
                    "(--min-filters 1 to make it anyway)",
                )
            )
    for group in groups.sort("product_name").iter_rows(named=True):
        rows = sorted(group["rows"], key=lambda r: int(coadds[r][0].filter[1:]))
        first = coadds[rows[0]][0]
        filters = [coadds[r][0].filter for r in rows]
        reference = psf_match_reference_filter
        if reference is not None and reference.lower() not in filters:
            plan.warnings.append(
                f"{group['product_name']}: PSF reference filter {reference} is not among its "
                f"filters ({', '.join(filters)})"
            )
        asn = Association(
            products=[
                Product(
                    name=group["product_name"],
                    members=[
                        Member(member_path(coadds[r][1], out), rule.member_exptype) for r in rows
                    ],
                )
            ],
            asn_type=group["asn_type"],
            program=first.root[1:] if re.fullmatch(r"r\d{5}", first.root) else "noprogram",
            data_release_id=first.data_release_id,
            target=group["target"],
            asn_id=rule.asn_id or "a3001",
            psf_match_reference_filter=reference,
        )
        target = out / f"{group['product_name']}_asn.json"
        check(asn.to_dict(), str(target))
        plan.associations[target] = asn
    return plan


def _program_number(root: str) -> int:
    """The program of a root ``rPPPPP``; 0 for any other root (grouped apart by name)."""
    return int(root[1:]) if re.fullmatch(r"r\d{5}", root) else 0


def write_multiband(plan: MultibandPlan) -> list[Path]:
    """Write every association of ``plan`` (each atomically, after validation)."""
    return [
        write_checked(asn, path, follow_symlinks=False) for path, asn in plan.associations.items()
    ]
