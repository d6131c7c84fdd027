"""Add or remove members of an existing association (jwst's ``asn_edit``).

The edited association is checked against the strict schema and written
atomically (temporary name, then rename), so a failed edit leaves the file as
it was. Adding a member that is already there, or removing one that is not, is
an error naming it: an edit that would silently do nothing is a mistake.
Members are matched and written as romancal opens them: relative to the
association file's folder (written elsewhere with ``-o``, every relative member is
rewritten relative to the new folder, so each still names the same file).
"""

from __future__ import annotations

import os
from pathlib import Path

from roman_asn.association import Association, Member, Product, load_asn, product_label
from roman_asn.errors import RomanAsnError
from roman_asn.tools.output import member_path, write_checked

ACTIONS = ("add", "remove")


def _product(asn: Association, name: str | None, label: str) -> Product:
    if name is None:
        if len(asn.products) != 1:
            names = ", ".join(product_label(p.name, i) for i, p in enumerate(asn.products))
            raise RomanAsnError(f"has {len(asn.products)} products ({names}): name one", path=label)
        return asn.products[0]
    for product in asn.products:
        if product.name == name:
            return product
    raise RomanAsnError(f"no product named {name!r}", path=label)


def _key(expname: str, folder: Path) -> str:
    """The file a member names, as one comparable text (its normalised path)."""
    return os.path.normpath(os.path.join(folder, expname))


def add_members(
    asn: Association,
    files: list[str],
    folder: str | os.PathLike[str],
    *,
    exptype: str = "science",
    product: str | None = None,
    label: str = "<association>",
) -> Association:
    """``asn`` with ``files`` appended to a product (paths made relative to ``folder``)."""
    target = _product(asn, product, label)
    base = Path(folder)
    present = {_key(m.expname, base): m.expname for p in asn.products for m in p.members}
    added: dict[str, str] = {}
    for name in files:
        expname = member_path(name, base)
        key = _key(expname, base)
        if key in present:
            raise RomanAsnError(f"{name} is already a member (as {present[key]})", path=label)
        if key in added:
            raise RomanAsnError(f"{name} is listed twice", path=label)
        added[key] = expname
    target.members += [Member(expname, exptype) for expname in added.values()]
    return asn


def remove_members(
    asn: Association,
    files: list[str],
    folder: str | os.PathLike[str],
    *,
    product: str | None = None,
    label: str = "<association>",
) -> Association:
    """``asn`` without the members naming ``files`` (as given, or relative to ``folder``)."""
    base = Path(folder)
    products = asn.products if product is None else [_product(asn, product, label)]
    for name in files:
        wanted = {_key(name, base), _key(member_path(name, base), base)}
        found = False
        for p in products:
            kept = [m for m in p.members if _key(m.expname, base) not in wanted]
            found |= len(kept) != len(p.members)
            p.members = kept
        if not found:
            raise RomanAsnError(f"{name} is not a member", path=label)
    emptied = [product_label(p.name, i) for i, p in enumerate(asn.products) if not p.members]
    if emptied:
        raise RomanAsnError(
            f"removing these leaves product {emptied[0]} without members", path=label
        )
    return asn


def _move_members(asn: Association, source: Path, folder: Path) -> None:
    """Members written relative to ``source`` (the association's folder), relative to
    ``folder`` instead, where the edited association goes: they name the same files."""
    if os.path.abspath(source) == os.path.abspath(folder):
        return
    for product in asn.products:
        for member in product.members:
            if not os.path.isabs(member.expname):  # an absolute one names its file anywhere
                moved = os.path.relpath(os.path.join(source, member.expname), folder)
                member.expname = Path(moved).as_posix()


def edit_association(
    path: str | os.PathLike[str],
    action: str,
    files: list[str],
    *,
    output: str | os.PathLike[str] | None = None,
    exptype: str = "science",
    product: str | None = None,
) -> tuple[Path, Association]:
    """Load, edit, check and write (to ``output``, default in place); nothing is
    written when any step fails."""
    if action not in ACTIONS:
        raise RomanAsnError(f"unknown edit {action!r} (one of {', '.join(ACTIONS)})")
    if not files:
        raise RomanAsnError(f"nothing to {action}: give one or more files")
    label = str(path)
    asn = load_asn(path)
    folder = Path(path).parent  # members are named as the association names them
    if action == "add":
        add_members(asn, files, folder, exptype=exptype, product=product, label=label)
    else:
        remove_members(asn, files, folder, product=product, label=label)
    if output is not None:
        _move_members(asn, folder, Path(output).parent)
    written = write_checked(asn, output if output is not None else path)
    return written, asn
