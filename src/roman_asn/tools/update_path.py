"""Rewrite the folder part of member file names (jwst's ``update_path``).

Edits work on the association's JSON object, not on :class:`Association`, so a
file keeps every key it had (and only those) in its own order; only member paths
change.
"""

from __future__ import annotations

import copy
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from roman_asn.association import Association
from roman_asn.atomic import atomic_write_text
from roman_asn.errors import AssociationError, RomanAsnError
from roman_asn.tools.output import MEMBER_FILE_KEYS, check, dump_dict, read_dict

A = TypeVar("A", Association, dict)


def new_path(old: str, folder: str) -> str:
    """``folder/basename(old)``; an empty ``folder`` leaves the bare file name."""
    base = posixpath.basename(old)
    folder = folder.rstrip("/") or ("/" if folder.startswith("/") else "")
    return posixpath.join(folder, base) if folder else base


def update_path(asn: A, folder: str, label: str = "<association>") -> A:
    """A copy of ``asn`` whose member paths are ``folder/<file name>``.

    Raises :class:`AssociationError` when two members of one product would end up
    with the same path (``a/x.asdf`` and ``b/x.asdf`` moved into one folder).
    """
    if isinstance(asn, Association):
        return Association.from_dict(update_path(asn.to_dict(), folder, label))
    data = copy.deepcopy(asn)
    for i, product in enumerate(data.get("products", [])):
        seen: dict[str, str] = {}
        for member in product.get("members", []):
            for key in MEMBER_FILE_KEYS:
                value = member.get(key)
                if not isinstance(value, str):
                    continue
                moved = new_path(value, folder)
                if key == "expname":
                    if moved in seen:
                        raise AssociationError(
                            f"members {seen[moved]!r} and {value!r} of product {i} "
                            f"({product.get('name')}) would both become {moved!r}",
                            path=label,
                        )
                    seen[moved] = value
                member[key] = moved
    return data


@dataclass(frozen=True)
class PathUpdate:
    source: Path
    target: Path
    changed: bool
    members: int


def update_files(
    paths: list[str | os.PathLike[str]], folder: str, output_dir: str | os.PathLike[str] | None
) -> list[PathUpdate]:
    """Rewrite member paths of every file: in place, or into ``output_dir``.

    Every file is read, rewritten and validated before the first one is written,
    so a bad input leaves all files untouched; each write is atomic.
    """
    planned: list[tuple[Path, Path, dict[str, Any], bool]] = []
    targets: dict[Path, Path] = {}
    for raw in paths:
        source = Path(raw)
        data = read_dict(source)
        updated = update_path(data, folder, str(source))
        check(updated, str(source))
        target = source if output_dir is None else Path(output_dir) / source.name
        key = Path(os.path.abspath(target))
        if key in targets:
            raise RomanAsnError(
                f"{targets[key]} and {source} would both be written to {target}", path=str(source)
            )
        targets[key] = source
        text = dump_dict(updated)
        # into output_dir, a link found there is replaced, not written through (out of it)
        unchanged = (output_dir is None or not target.is_symlink()) and (
            target.exists() and target.read_text("utf-8") == text
        )
        planned.append((source, target, updated, not unchanged))
    results = []
    for source, target, updated, changed in planned:
        if changed:
            atomic_write_text(target, dump_dict(updated), follow_symlinks=output_dir is None)
        members = sum(len(p["members"]) for p in updated["products"])
        results.append(PathUpdate(source, target, changed, members))
    return results
