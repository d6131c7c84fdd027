"""The association files a command works on (from its arguments, folders or stdin)
and their JSON objects, read fast.

Shared by ``diff``, ``validate`` and ``update-path`` so that a survey-sized folder
never has to pass through the shell's argument list ("Argument list too long"):

- a file argument is taken as it is, whatever its name;
- a folder is searched recursively for ``*.json`` files (hidden files and folders,
  such as the temporary files of an atomic write, are skipped; symbolic links to
  folders inside it are not followed, so a link cannot loop), in sorted order;
- ``-`` reads a list of paths from stdin, one per line (or NUL-separated, as
  ``find -print0`` writes them); each listed path is then a file or a folder as above.

Paths come back in the order given, each once, as strings (cheaper than ``Path``
objects for a hundred thousand files).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from roman_asn.association import (
    JSON_NUMBERS,
    load_asn,
    nested_too_deeply,
    read_file_bytes,
    refuse_duplicate_keys,
)
from roman_asn.errors import AssociationError, RomanAsnError
from roman_asn.validate import structural_problems

STDIN = "-"
SUFFIX = ".json"


def _walk(folder: str) -> list[str]:
    """``*.json`` files under ``folder``, sorted, hidden entries skipped."""
    found: list[str] = []
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.name.endswith(SUFFIX):
                        found.append(entry.path)
        except OSError as error:
            raise RomanAsnError(
                f"cannot list folder: {error.strerror or error}", path=current
            ) from None
    found.sort()
    return found


def read_path_list(stream: TextIO) -> list[str]:
    """Paths listed on ``stream``: one per line, or NUL-separated; blank entries skipped."""
    text = stream.read()
    parts = text.split("\0") if "\0" in text else text.splitlines()
    return [part for part in parts if part.strip()]


def association_paths(sources: Iterable[str], *, stdin: TextIO | None = None) -> list[str]:
    """Every association file named by ``sources`` (files, folders, ``-``), each once.

    Raises :class:`RomanAsnError` (one line, naming the path) for a path that does
    not exist, a folder without any ``*.json`` file, or a stdin that lists nothing.
    """
    out: list[str] = []
    seen: set[str] = set()

    def expand(source: str, listed: bool) -> None:
        if os.path.isdir(source):
            found = _walk(source)
            if not found:
                raise RomanAsnError(f"no association files (*{SUFFIX}) in this folder", path=source)
        elif os.path.lexists(source):
            found = [source]
        else:
            where = " (listed on stdin)" if listed else ""
            raise RomanAsnError(f"no such file or folder{where}", path=source)
        for path in found:
            key = os.path.normpath(path)
            if key not in seen:
                seen.add(key)
                out.append(path)

    for source in dict.fromkeys(sources):  # "-" read once however often given
        if source == STDIN:
            listed = read_path_list(stdin if stdin is not None else sys.stdin)
            if not listed:
                raise RomanAsnError("no paths on stdin", path=STDIN)
            for path in listed:
                expand(path, listed=True)
        else:
            expand(source, listed=False)
    return out


def read_association_dict(path: str) -> dict[str, Any]:
    """The JSON object of one association file, read once and parsed once.

    The fast path checks only what the tools need (romancal's structure:
    products with members with string expname and exptype); anything else, from
    an undecodable byte to a missing key, is handed to :func:`load_asn`, whose
    one-line error naming the file is the one every command gives.
    """
    try:
        text = read_file_bytes(path).decode("utf-8")
        data = json.loads(text, **JSON_NUMBERS)
        if not structural_problems(data, path):
            # duplicate keys and deep nesting as load_asn refuses them
            if not _colons_are_keys(data, text):
                data = json.loads(text, object_pairs_hook=refuse_duplicate_keys, **JSON_NUMBERS)
            if not nested_too_deeply(data, text):
                return data
    except (AssociationError, ValueError, RecursionError):
        pass
    load_asn(path)  # raises the error of this file
    raise AssociationError("not a valid association", path=path)  # load_asn found none


def _colons_are_keys(data: dict[str, Any], text: str) -> bool:
    """Whether ``text`` holds as many colons as ``data`` (which has the structure
    romancal needs) has keys at its top, in its products, members and sky-cell WCS:
    then every colon is one of those keys', and none was given twice (json.loads
    keeps the last). Colons in strings or objects nested elsewhere make it False, and
    the caller parses again with the check in the hook: a hook on every object made a
    folder of small files 50% slower to read."""
    keys = len(data)
    wcs = data.get("skycell_wcs_info")
    if isinstance(wcs, dict):
        keys += len(wcs)
    for product in data["products"]:
        keys += len(product) + sum(map(len, product["members"]))
    return text.count(":") == keys


def read_association_dicts(paths: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
    """``(path, JSON object)`` of every file, in order (see :func:`read_association_dict`)."""
    with gc_paused():
        return [(path, read_association_dict(path)) for path in paths]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: parsed JSON makes no reference cycles, yet
    millions of new dicts and lists trigger collections that halve the reading speed
    (100k association files: 4.7 s with it, 3.0 s without)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
