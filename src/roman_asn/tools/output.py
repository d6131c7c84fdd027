"""Association JSON objects for the tools: read after the structural checks, and
validate-then-write for every file they produce."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from roman_asn.association import Association
from roman_asn.atomic import atomic_write_text
from roman_asn.errors import AssociationError
from roman_asn.validate import validate_dict

# Member keys that hold file names: romancal's tweakreg source catalogs travel with
# their exposures.
MEMBER_FILE_KEYS: tuple[str, ...] = ("expname", "tweakreg_catalog")


def read_dict(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The association's JSON object, after the structural checks of :func:`load_asn`."""
    from roman_asn.tools.inputs import read_association_dict

    return read_association_dict(os.fspath(path))


def member_path(path: str | os.PathLike[str], asn_folder: str | os.PathLike[str]) -> str:
    """``path`` as romancal will resolve it from the association file's folder.

    Files in (or below) that folder, and files given by a relative path, become
    relative to it (``../coadds/x``); other absolute paths stay absolute.
    """
    given = os.fspath(path)
    if os.path.basename(given.rstrip("/")) in ("", ".", "..") or given.endswith("/"):
        raise AssociationError(f"{given!r} is not a file name: a member is one file")
    target, base = os.path.abspath(given), os.path.abspath(asn_folder)
    try:
        inside = os.path.commonpath([target, base]) == base
        if inside or not os.path.isabs(given):
            return Path(os.path.relpath(target, base)).as_posix()
    except ValueError:  # another drive (Windows): only an absolute path works
        pass
    return Path(target).as_posix()


def check(data: dict[str, Any], label: str) -> None:
    """Raise :class:`AssociationError` listing the strict-schema problems of ``data``."""
    problems = validate_dict(data, label)
    if problems:
        details = "; ".join(f"{p.json_path}: {p.message}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise AssociationError(f"not a valid association: {details}{more}", path=label)


def dump_dict(data: dict[str, Any]) -> str:
    """JSON as romancal writes it (4-space indent), keys in the order given."""
    return json.dumps(data, indent=4, ensure_ascii=False) + "\n"


def write_checked(
    data: Association | dict[str, Any],
    path: str | os.PathLike[str],
    *,
    follow_symlinks: bool = True,
) -> Path:
    """Validate ``data`` and write it atomically to ``path``; nothing is written if invalid.

    ``follow_symlinks=False`` where the tool chose the name inside a folder the user
    named (skycell-asn -d, multiband, gather, update-path -o): a link found there is
    replaced, not written through to a file outside the folder."""
    as_dict = data.to_dict() if isinstance(data, Association) else data
    check(as_dict, str(path))
    atomic_write_text(path, dump_dict(as_dict), follow_symlinks=follow_symlinks)
    return Path(path)
