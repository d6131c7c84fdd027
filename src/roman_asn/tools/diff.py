"""Compare two sets of associations by meaning (jwst's ``associations.lib.diff``).

Associations are paired across the sets by their products (same product name,
or else the same members under another name), never by file name. For each
pair the comparison covers asn_type, candidate level (first letter of asn_id:
o/c/a/r), product names, members and their exposure types (case-insensitive);
key order, formatting, member order and file names do not matter. Unlike jwst,
every difference is returned as data rather than raised one at a time.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from roman_asn.association import Association
from roman_asn.tools.inputs import association_paths, gc_paused, read_association_dicts

# Keys compared only with strict=True: they describe, but do not choose, what is processed.
STRICT_KEYS: tuple[str, ...] = (
    "asn_id",
    "program",
    "data_release_id",
    "target",
    "skycell_wcs_info",
    "psf_match_reference_filter",
)


@dataclass(frozen=True)
class Difference:
    """One difference. ``left``/``right`` hold the differing values (None: absent)."""

    kind: str
    message: str
    product: str | None = None
    left: Any = None
    right: Any = None
    left_file: str | None = None
    right_file: str | None = None


class _Entry:
    """One product of one association (a plain slotted class: a survey has 10^5-10^6)."""

    __slots__ = ("asn", "label", "product", "name")

    def __init__(self, asn: int, label: str, product: dict[str, Any]) -> None:
        self.asn = asn  # index of the association in its set
        self.label = label
        self.product = product
        self.name = str(product.get("name", ""))


Labelled = tuple[str, "Association | dict[str, Any]"]


def _as_dict(asn: Association | dict[str, Any]) -> dict[str, Any]:
    return asn.to_dict() if isinstance(asn, Association) else asn


def _member_key(expname: str, ignore_dirs: bool) -> str:
    return posixpath.basename(expname) if ignore_dirs else expname


def _signature(product: dict[str, Any], ignore_dirs: bool) -> frozenset[tuple[str, str]]:
    return frozenset(
        (_member_key(m["expname"], ignore_dirs), str(m["exptype"]).lower())
        for m in product["members"]
    )


def _count(product: dict[str, Any]) -> str:
    n = len(product["members"])
    return f"{n} member{'' if n == 1 else 's'}"


def _level(asn: dict[str, Any]) -> str | None:
    asn_id = asn.get("asn_id")
    return asn_id[0] if isinstance(asn_id, str) and asn_id else None


def _pair_products(
    left: list[_Entry], right: list[_Entry], ignore_dirs: bool
) -> tuple[list[tuple[_Entry, _Entry]], list[_Entry], list[_Entry]]:
    """Pairs with one name; leftovers of each side."""
    by_name_right: dict[str, list[_Entry]] = defaultdict(list)
    for entry in right:
        by_name_right[entry.name].append(entry)
    pairs: list[tuple[_Entry, _Entry]] = []
    left_over: list[_Entry] = []
    by_name_left: dict[str, list[_Entry]] = defaultdict(list)
    for entry in left:
        by_name_left[entry.name].append(entry)
    for name, lefts in by_name_left.items():
        rights = by_name_right.pop(name, [])
        if len(lefts) == 1 and len(rights) <= 1:  # the usual case: one name, one product
            if rights:
                pairs.append((lefts[0], rights[0]))
            else:
                left_over.append(lefts[0])
            by_name_right[name] = []
            continue
        # among duplicate names, identical memberships pair first
        remaining = list(rights)
        unmatched = []
        for entry in lefts:
            sig = _signature(entry.product, ignore_dirs)
            twin = next((r for r in remaining if _signature(r.product, ignore_dirs) == sig), None)
            if twin is None:
                unmatched.append(entry)
            else:
                remaining.remove(twin)
                pairs.append((entry, twin))
        for entry in unmatched:
            if remaining:
                pairs.append((entry, remaining.pop(0)))
            else:
                left_over.append(entry)
        by_name_right[name] = remaining
    right_over = [e for entries in by_name_right.values() for e in entries]
    return pairs, left_over, right_over


def _pair_renamed(
    left_over: list[_Entry], right_over: list[_Entry], ignore_dirs: bool
) -> list[tuple[_Entry, _Entry]]:
    """Leftovers with the same members under another name, each right entry used once
    (the first in ``right_over`` order), found through a dict of member signatures."""
    by_signature: dict[frozenset[tuple[str, str]], deque[_Entry]] = defaultdict(deque)
    for entry in right_over:
        by_signature[_signature(entry.product, ignore_dirs)].append(entry)
    renamed = []
    for entry in left_over:
        twins = by_signature.get(_signature(entry.product, ignore_dirs))
        if twins:
            renamed.append((entry, twins.popleft()))
    return renamed


def _compare_members(pair: tuple[_Entry, _Entry], ignore_dirs: bool, out: list[Difference]) -> None:
    left, right = pair
    name = left.name
    lmembers, rmembers = left.product["members"], right.product["members"]
    if lmembers == rmembers:  # the usual case: only a member listed twice can differ
        keys = [_member_key(m["expname"], ignore_dirs) for m in lmembers]
        if len(set(keys)) == len(keys):
            return

    def members(entry: _Entry, side: str) -> dict[str, str]:
        found: dict[str, str] = {}
        listed: Counter[str] = Counter()
        first: dict[str, str] = {}
        for m in entry.product["members"]:
            key = _member_key(m["expname"], ignore_dirs)
            listed[key] += 1
            first.setdefault(key, str(m["expname"]))
            found.setdefault(key, str(m["exptype"]))
        for key, times in listed.items():  # once per member, however often it repeats
            if times > 1:
                how_often = "twice" if times == 2 else f"{times:,} times"
                out.append(
                    Difference(
                        "duplicate_member",
                        f"{side} lists member {first[key]} {how_often}",
                        name,
                        left_file=left.label if side == "left" else None,
                        right_file=right.label if side == "right" else None,
                    )
                )
        return found

    lm, rm = members(left, "left"), members(right, "right")
    for key in sorted(lm.keys() - rm.keys()):
        out.append(
            Difference(
                "member_only_left",
                f"member {key} ({lm[key]}) only in left",
                name,
                left=key,
                left_file=left.label,
                right_file=right.label,
            )
        )
    for key in sorted(rm.keys() - lm.keys()):
        out.append(
            Difference(
                "member_only_right",
                f"member {key} ({rm[key]}) only in right",
                name,
                right=key,
                left_file=left.label,
                right_file=right.label,
            )
        )
    for key in sorted(lm.keys() & rm.keys()):
        if lm[key].lower() != rm[key].lower():
            out.append(
                Difference(
                    "exptype",
                    f"member {key}: exptype {lm[key]} (left) != {rm[key]} (right)",
                    name,
                    left=lm[key],
                    right=rm[key],
                    left_file=left.label,
                    right_file=right.label,
                )
            )


def diff_associations(
    left: Sequence[Labelled],
    right: Sequence[Labelled],
    *,
    ignore_dirs: bool = False,
    strict: bool = False,
) -> list[Difference]:
    """Every difference between two sets of ``(label, association)``; [] when equal.

    ``ignore_dirs`` compares members by file name only (after ``update-path``);
    ``strict`` also compares the keys in :data:`STRICT_KEYS` (asn_id exactly).
    """
    with gc_paused():
        return _diff(left, right, ignore_dirs, strict)


def _diff(
    left: Sequence[Labelled], right: Sequence[Labelled], ignore_dirs: bool, strict: bool
) -> list[Difference]:
    lasns = [(label, _as_dict(a)) for label, a in left]
    rasns = [(label, _as_dict(a)) for label, a in right]
    lentries = [_Entry(i, lab, p) for i, (lab, a) in enumerate(lasns) for p in a["products"]]
    rentries = [_Entry(i, lab, p) for i, (lab, a) in enumerate(rasns) for p in a["products"]]
    out: list[Difference] = []

    for side, entries in (("left", lentries), ("right", rentries)):
        names: dict[str, list[str]] = defaultdict(list)
        for entry in entries:
            names[entry.name].append(entry.label)
        for name, labels in names.items():
            if len(labels) > 1:
                out.append(
                    Difference(
                        "duplicate_product",
                        f"{side} has {len(labels)} products named {name} ({', '.join(labels)})",
                        name,
                        left=labels if side == "left" else None,
                        right=labels if side == "right" else None,
                    )
                )

    pairs, left_over, right_over = _pair_products(lentries, rentries, ignore_dirs)
    # a product renamed but otherwise identical is paired by its members
    renamed = _pair_renamed(left_over, right_over, ignore_dirs)
    if renamed:
        used = {id(e) for pair in renamed for e in pair}
        left_over = [e for e in left_over if id(e) not in used]
        right_over = [e for e in right_over if id(e) not in used]
    for entry, twin in renamed:
        pairs.append((entry, twin))
        out.append(
            Difference(
                "product_name",
                f"product {entry.name} (left) is named {twin.name} in right",
                entry.name,
                left=entry.name,
                right=twin.name,
                left_file=entry.label,
                right_file=twin.label,
            )
        )
    for entry in left_over:
        out.append(
            Difference(
                "product_only_left",
                f"product {entry.name} ({_count(entry.product)}) only in left",
                entry.name,
                left=entry.name,
                left_file=entry.label,
            )
        )
    for entry in right_over:
        out.append(
            Difference(
                "product_only_right",
                f"product {entry.name} ({_count(entry.product)}) only in right",
                entry.name,
                right=entry.name,
                right_file=entry.label,
            )
        )

    asn_pairs: dict[tuple[int, int], str] = {}
    for lentry, rentry in pairs:
        _compare_members((lentry, rentry), ignore_dirs, out)
        asn_pairs.setdefault((lentry.asn, rentry.asn), lentry.name)

    for (li, ri), product in asn_pairs.items():
        (llabel, la), (rlabel, ra) = lasns[li], rasns[ri]
        checks: list[tuple[str, Any, Any]] = [
            ("asn_type", la.get("asn_type"), ra.get("asn_type")),
            ("candidate_level", _level(la), _level(ra)),
        ]
        if strict:
            checks += [(key, la.get(key), ra.get(key)) for key in STRICT_KEYS]
        for kind, lv, rv in checks:
            if lv != rv:
                what = "candidate level (asn_id kind)" if kind == "candidate_level" else kind
                out.append(
                    Difference(
                        kind,
                        f"{what}: {json.dumps(lv)} (left) != {json.dumps(rv)} (right)",
                        product,
                        left=lv,
                        right=rv,
                        left_file=llabel,
                        right_file=rlabel,
                    )
                )

    # products run together on one side but separately on the other
    for side, index in (("left", 0), ("right", 1)):
        partners: dict[int, set[int]] = defaultdict(set)
        for key in asn_pairs:
            partners[key[index]].add(key[1 - index])
        labels = lasns if index == 0 else rasns
        others = rasns if index == 0 else lasns
        for asn, other in sorted(partners.items()):
            if len(other) > 1:
                names = ", ".join(sorted(others[o][0] for o in other))
                out.append(
                    Difference(
                        "grouping",
                        f"{side} association {labels[asn][0]} holds products that the other "
                        f"side splits over {len(other)} associations ({names})",
                        None,
                        left_file=labels[asn][0] if index == 0 else None,
                        right_file=labels[asn][0] if index == 1 else None,
                    )
                )
    out.sort(key=lambda d: (d.product or "", d.kind, d.message))
    return out


def load_set(path: str | os.PathLike[str]) -> list[tuple[str, dict[str, Any]]]:
    """The associations in a file, or in every ``*.json`` under a folder (recursively,
    sorted; see :mod:`roman_asn.tools.inputs`)."""
    return read_association_dicts(association_paths([os.fspath(path)]))


def diff_paths(
    left: str | os.PathLike[str],
    right: str | os.PathLike[str],
    *,
    ignore_dirs: bool = False,
    strict: bool = False,
) -> list[Difference]:
    """:func:`diff_associations` of two files or folders of association files."""
    return diff_associations(
        load_set(left), load_set(right), ignore_dirs=ignore_dirs, strict=strict
    )
