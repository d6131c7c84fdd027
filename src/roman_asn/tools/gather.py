"""Copy (or link) an association and its members into one folder (jwst's ``asn_gather``).

Members are looked up where romancal would open them (relative to the
association's folder, or at their absolute path) and then in each source folder,
by their path and by their bare file name (finally in the destination: a file
gathered earlier). Nothing is touched until every member
has been looked up, and each file is copied to a temporary name and renamed, so a
folder never holds half a file. The association is written (members as bare file
names) only when every member is in place.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roman_asn.association import product_label
from roman_asn.atomic import atomic_path, make_folder
from roman_asn.errors import RomanAsnError
from roman_asn.tools.output import MEMBER_FILE_KEYS, read_dict, write_checked


@dataclass(frozen=True)
class Missing:
    product: str
    key: str
    name: str
    searched: tuple[Path, ...]


@dataclass
class GatherResult:
    association: Path | None
    copied: list[Path] = field(default_factory=list)
    linked: list[Path] = field(default_factory=list)
    up_to_date: list[Path] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing


def _candidates(name: str, asn_dir: Path, sources: Sequence[Path]) -> list[Path]:
    base = posixpath.basename(name)
    if posixpath.isabs(name):
        found = [Path(name)] + [source / base for source in sources]
    else:
        found = [asn_dir / name]
        for source in sources:
            found.append(source / name)
            if base != name:
                found.append(source / base)
    return list(dict.fromkeys(found))


def _select(
    data: dict[str, Any], exp_types: Iterable[str] | None, exclude_types: Iterable[str]
) -> dict[str, Any]:
    keep = None if exp_types is None else {t.lower() for t in exp_types}
    drop = {t.lower() for t in exclude_types}
    products = []
    for product in data["products"]:
        members = [
            dict(m)
            for m in product["members"]
            if m["exptype"].lower() not in drop and (keep is None or m["exptype"].lower() in keep)
        ]
        if members:
            products.append({**product, "members": members})
    if not products:
        raise RomanAsnError("no members left after selecting exposure types")
    return {**data, "products": products}


def _up_to_date(source: Path, target: Path, link: bool) -> bool:
    """Whether ``target`` already is what gathering ``source`` would make it."""
    if not target.exists():  # also a dangling symlink: replace it
        return False
    if target.is_symlink():
        return link and target.samefile(source)
    if target.samefile(source):  # gathering into the folder the file is in
        return True
    if link:
        return False
    a, b = source.stat(), target.stat()
    return a.st_size == b.st_size and int(a.st_mtime) == int(b.st_mtime)


def _copy(source: Path, target: Path) -> None:
    with atomic_path(target, follow_symlinks=False) as tmp:
        shutil.copy2(source, tmp)


def _link(source: Path, target: Path) -> None:
    with atomic_path(target, follow_symlinks=False) as tmp:
        tmp.unlink()
        tmp.symlink_to(source.resolve())


def gather(
    association: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    sources: Sequence[str | os.PathLike[str]] = (),
    *,
    link: bool = False,
    exp_types: Iterable[str] | None = None,
    exclude_types: Iterable[str] = (),
    on_file: Callable[[Path], None] | None = None,
) -> GatherResult:
    """Put ``association`` and its member files side by side in ``destination``."""
    asn_path = Path(association)
    data = _select(read_dict(asn_path), exp_types, exclude_types)
    dest = Path(destination)
    source_dirs = [Path(s) for s in sources]
    for folder in source_dirs:
        if not folder.is_dir():
            raise RomanAsnError("source is not a folder", path=str(folder))

    # Look everything up first: two files with one name, or a missing member,
    # must be known before anything is copied.
    plan: dict[str, Path] = {}
    result = GatherResult(association=None)
    for number, product in enumerate(data["products"]):
        label = product_label(product.get("name"), number)
        for member in product["members"]:
            for key in MEMBER_FILE_KEYS:
                name = member.get(key)
                if not isinstance(name, str):
                    continue
                # last resort: a copy gathered by an earlier run
                searched = _candidates(name, asn_path.parent, source_dirs)
                searched.append(dest / posixpath.basename(name))
                found = next((p for p in searched if p.is_file()), None)
                if found is None:
                    result.missing.append(Missing(label, key, name, tuple(searched)))
                    continue
                base = posixpath.basename(name)
                earlier = plan.get(base)
                if earlier is not None and not earlier.samefile(found):
                    raise RomanAsnError(
                        f"two different files are named {base}: {earlier} and {found}",
                        path=str(asn_path),
                    )
                plan[base] = found
                member[key] = base

    if asn_path.name in plan:
        raise RomanAsnError(
            f"member {plan[asn_path.name]} has the association's own file name "
            f"{asn_path.name}: gathering would overwrite one with the other",
            path=str(asn_path),
        )
    make_folder(dest)
    for base, source in plan.items():
        target = dest / base
        if _up_to_date(source, target, link):
            result.up_to_date.append(target)
        elif link:
            _link(source, target)
            result.linked.append(target)
        else:
            _copy(source, target)
            result.copied.append(target)
        if on_file is not None:
            on_file(target)
    if result.complete:
        result.association = write_checked(data, dest / asn_path.name, follow_symlinks=False)
    return result
