"""Opening ASDF files that may be hostile.

An ASDF tree is YAML, and YAML aliases let a few hundred bytes stand for billions of
nodes (a "billion laughs" file): asdf walks the expanded tree when it opens a file and
spins for hours. :func:`open_asdf` measures the tree first, with aliases counted as
often as they are used (linear in the file, without building the expansion), and
refuses a tree that expands past :data:`MAX_NODES`.
"""

from __future__ import annotations

import os
import re
from typing import Any

from roman_asn.regular_files import open_regular

MAX_NODES = 2_000_000  # a WFI exposure's tree has thousands
TREE_BYTES = 64 << 20  # the YAML tree is at the file's start; blocks follow it
_ALIAS = re.compile(rb"[\s\[{,:]\*[^\s,\[\]{}]+")


class HostileTree(ValueError):
    """The YAML tree of an ASDF file expands to too many nodes through its aliases."""


def open_asdf(path: str | os.PathLike[str], **kwargs: Any):
    """``asdf.open(path, **kwargs)`` once :func:`check_tree` finds the tree sane."""
    import asdf

    check_tree(path)
    return asdf.open(path, **kwargs)


def check_tree(path: str | os.PathLike[str]) -> None:
    """Raise :class:`HostileTree` if the file's YAML tree expands past MAX_NODES."""
    tree = _tree_bytes(path)
    if not _ALIAS.search(tree):  # no alias: as many nodes as the text shows
        return
    import yaml

    try:
        root = yaml.compose(tree, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return  # asdf says what is wrong with it
    if root is not None and expanded_size(root, MAX_NODES) > MAX_NODES:
        raise HostileTree(
            f"its YAML tree expands to more than {MAX_NODES:,} nodes through aliases"
            " (an alias bomb, not a data file)"
        )


def _tree_bytes(path: str | os.PathLike[str], chunk: int = 1 << 16) -> bytes:
    """The file's YAML tree: up to the document end marker (blocks follow it, often
    gigabytes of them), at most TREE_BYTES."""
    buffer = bytearray()
    with open_regular(path) as handle:
        while len(buffer) < TREE_BYTES and (part := handle.read(chunk)):
            start = max(0, len(buffer) - 4)  # the marker may straddle two reads
            buffer += part
            end = buffer.find(b"\n...", start)
            if end >= 0:
                return bytes(buffer[: end + 4])
    return bytes(buffer)


def expanded_size(root: Any, limit: int) -> int:
    """Nodes of a composed YAML graph with every alias expanded, counted in one pass
    (each node's size once, shared nodes added as often as they are used); stops
    past ``limit``. A node that contains itself counts once."""
    sizes: dict[int, int | None] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        children = _children(node)
        if children_done:
            size = 1 + sum(sizes.get(id(child)) or 0 for child in children)
            sizes[id(node)] = size
            if size > limit:
                return size
        elif id(node) not in sizes:
            sizes[id(node)] = None  # being counted: a cycle back to it adds nothing
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)] or 1


def _children(node: Any) -> list[Any]:
    value = getattr(node, "value", None)
    if not isinstance(value, list):
        return []  # a scalar
    if value and isinstance(value[0], tuple):  # a mapping: (key, value) pairs
        return [part for pair in value for part in pair]
    return value
