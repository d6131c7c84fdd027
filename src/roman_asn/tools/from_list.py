"""Build one association from a list of files (romancal's ``asn_from_list``).

The output has the keys, key order and default values of romancal's tool, so a
pipeline cannot tell the two apart; unlike romancal, the candidate id (``-i``)
is honoured and mistakes (no files, empty product name, a file listed twice)
are errors instead of an invalid association.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from roman_asn.association import Association, Member, Product
from roman_asn.errors import RomanAsnError, shown
from roman_asn.tools.output import check

Item = str | os.PathLike[str] | tuple[str | os.PathLike[str], str]

# An exposure type is a plain word; a file name's last part after a colon
# nearly always has a dot (an extension) or a slash, so it cannot be taken for one.
_EXPTYPE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# DMS candidate ids: o (observation), c (observer-defined), a (discovered), r (reserved)
_DATA_RELEASE_ID = re.compile(r"[a-z0-9]+")
_ASN_ID = re.compile(r"o\d{3}|c\d{4}|a\d{4}|r\d{4}")
# Level 2 product suffixes a catalog name replaces (romancal's source catalog naming)
CATALOG_REPLACES = ("cal", "rate", "uncal", "flat", "photom", "wcs")
_SUFFIXED = re.compile(r"^(?P<stem>.*?)(?:(?P<sep>[_-])(?P<suffix>[A-Za-z0-9]+))?\.asdf$")


def tweakreg_catalog_name(expname: str) -> str:
    """The source catalog of a member, as romancal's ``--_tweakreg-catalogs`` names it.

    ``a_cal.asdf`` -> ``a_cat.parquet`` (a known Level 2 suffix is replaced, its
    separator kept: ``a-cal.asdf`` -> ``a-cat.parquet``), ``a_unknown.asdf`` ->
    ``a_unknown_cat.parquet`` (other suffixes are appended to); folders are kept.
    """
    folder, _, base = expname.rpartition("/")
    match = _SUFFIXED.match(base)
    if match and match.group("suffix") and match.group("suffix").lower() in CATALOG_REPLACES:
        name = f"{match.group('stem')}{match.group('sep')}cat.parquet"
    else:
        stem = base[: -len(".asdf")] if base.endswith(".asdf") else base.rsplit(".", 1)[0]
        name = f"{stem}_cat.parquet"
    return f"{folder}/{name}" if folder else name


def parse_item(text: str, default_exptype: str = "science") -> tuple[str, str]:
    """Split a command-line ``FILE[:TYPE]`` into (file, exptype).

    The text after the *last* colon is the exposure type when it is a plain word
    (a letter, then letters, digits or ``_``); otherwise the whole text is the file
    name. A file whose name itself ends in ``:word`` is given with its type
    spelled out: ``odd:word:science``.
    """
    name, sep, tail = text.rpartition(":")
    if sep and name and _EXPTYPE.fullmatch(tail):
        return name, tail
    return text, default_exptype


def asn_from_list(
    items: Iterable[Item],
    product_name: str,
    *,
    exptype: str = "science",
    target: str | None = "None",
    data_release_id: str = "p",
    psf_match_reference_filter: str | None = None,
    asn_type: str = "None",
    asn_rule: str = "DMS_ELPP_Base",
    asn_id: str = "a3001",
    program: str = "noprogram",
    tweakreg_catalogs: bool = False,
) -> Association:
    """One association with one product holding ``items`` in the order given.

    ``items`` are file names (exptype ``exptype``) or ``(name, exptype)`` pairs.
    File names are written as given: romancal opens members relative to the
    association file's folder. ``tweakreg_catalogs`` gives every member a
    ``tweakreg_catalog`` named after it (:func:`tweakreg_catalog_name`), which
    romancal's TweakReg reads instead of the catalog in the file.
    """
    if not product_name or not product_name.strip():
        raise RomanAsnError("a product name is required (--product-name)")
    if not _ASN_ID.fullmatch(asn_id):
        raise RomanAsnError(
            f"association id {asn_id!r} is not a candidate id: oNNN, cNNNN, aNNNN or rNNNN"
        )
    if not _DATA_RELEASE_ID.fullmatch(data_release_id):
        raise RomanAsnError(
            f"data release id {data_release_id!r} must be lower-case letters and digits"
            " (p, dr01, r0, ...)"
        )
    members: list[Member] = []
    seen: dict[str, int] = {}
    for position, item in enumerate(items, start=1):
        if isinstance(item, tuple):
            name, member_type = os.fspath(item[0]), item[1]
        else:
            name, member_type = os.fspath(item), exptype
        if not name.strip():
            raise RomanAsnError(f"file {position} has an empty name")
        if not member_type or not member_type.strip():
            raise RomanAsnError(f"file {position} ({name}) has an empty exposure type")
        if name in seen:
            raise RomanAsnError(f"{name} is listed twice (files {seen[name]} and {position})")
        seen[name] = position
        extra = {"tweakreg_catalog": tweakreg_catalog_name(name)} if tweakreg_catalogs else {}
        members.append(Member(expname=name, exptype=member_type, extra=extra))
    if not members:
        raise RomanAsnError("no files given: an association needs at least one member")
    asn = Association(
        products=[Product(name=product_name, members=members)],
        asn_type=asn_type,
        asn_rule=asn_rule,
        program=program,
        data_release_id=data_release_id,
        target=target,
        asn_id=asn_id,
        psf_match_reference_filter=psf_match_reference_filter,
    )
    check(asn.to_dict(), f"<association {shown(product_name, 60)}>")
    return asn
