"""Opening a Roman WFI exposure file and checking that it is one.

make-pool (:func:`roman_asn.make_pool.read_exposure_row`) and the sky-cell readers
(:func:`roman_asn.skycells.footprints.read_level2`: skycell-asn, plot) both open
exposure files through :func:`open_exposure`, so a given bad file (not ASDF, cut
short, an alias bomb, no roman tree, a reference file, a coadd, no roman.meta, a
Level 2 image without a WCS) is
refused with the same reason whichever command reads it.

Files are opened with ``lazy_load=True`` and a lazy tree: asdf reads the YAML tree
and converts only the nodes that are touched; the pixel arrays are never loaded.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roman_asn.asdf_guard import open_asdf
from roman_asn.regular_files import open_regular
from roman_asn.rejects import RejectedInput

ASDF_MAGIC = b"#ASDF"

# roman tree tags that are single WFI exposures (one detector file each)
EXPOSURE_TAGS: dict[str, int] = {
    "wfi_science_raw": 1,
    "ramp": 1,
    "ramp_fit_output": 2,
    "wfi_image": 2,
}
# Level 2 images, which RAD requires to carry a WCS
LEVEL2_IMAGE_TAGS = ("wfi_image",)


@dataclass(frozen=True)
class ExposureTree:
    """The roman tree of an exposure file, its ``meta`` and its tag name (``kind``,
    e.g. ``wfi_image``; None for an untagged tree). Lazy: read it only inside
    :func:`open_exposure`'s block, while the file is open."""

    roman: Mapping[str, Any]
    meta: Mapping[str, Any]
    kind: str | None


@contextmanager
def open_exposure(path: str | os.PathLike[str]) -> Iterator[ExposureTree]:
    """The checked roman tree of the exposure file ``path``, the file open meanwhile.

    Raises :class:`RejectedInput` saying why the file is no exposure file. Any other
    error inside the block becomes ``unreadable metadata: ...``: a lazy tree converts
    its nodes when they are read, so a damaged node fails in the caller's code.
    Warnings (unknown tags, schema versions) are silenced: they are not the user's
    problem.
    """
    path = Path(path)
    try:
        with open_regular(path) as handle:
            head = handle.read(len(ASDF_MAGIC))
    except OSError as error:
        raise RejectedInput(f"cannot read: {error.strerror or error}") from None
    if head != ASDF_MAGIC:
        raise RejectedInput("not an ASDF file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            opened = open_asdf(path, lazy_load=True, lazy_tree=True, memmap=False)
        except Exception as error:  # cut short, bad YAML, an alias bomb (HostileTree)
            raise RejectedInput(f"broken ASDF file: {short_message(error)}") from None
        with opened as af:
            try:
                yield exposure_tree(af.tree)
            except RejectedInput:
                raise
            except Exception as error:
                raise RejectedInput(f"unreadable metadata: {short_message(error)}") from None


def exposure_tree(tree: Mapping[str, Any]) -> ExposureTree:
    """The roman tree of an ASDF tree if it is a single WFI exposure's, else
    :class:`RejectedInput` saying what it is instead."""
    roman = tree.get("roman") if isinstance(tree, Mapping) else None
    if roman is None:
        raise RejectedInput("ASDF file without a 'roman' tree (not a Roman data file)")
    kind = tag_name(roman)
    meta = roman.get("meta") if isinstance(roman, Mapping) else None
    if (kind and kind.startswith("reference_files/")) or (
        isinstance(meta, Mapping) and "reftype" in meta
    ):
        raise RejectedInput(f"a reference file ({kind or 'reftype ' + str(meta['reftype'])})")
    if kind is not None and kind not in EXPOSURE_TAGS:
        raise RejectedInput(f"not a WFI exposure file (the roman tree is a {kind})")
    if not isinstance(meta, Mapping):
        raise RejectedInput("no roman.meta")
    if kind in LEVEL2_IMAGE_TAGS and meta.get("wcs") is None:
        # its s_region would still place it in Level 3 associations
        raise RejectedInput(
            f"a {kind} without meta.wcs (RAD requires one; romancal cannot open the file)"
        )
    return ExposureTree(roman, meta, kind)


def tag_name(node: Any) -> str | None:
    """``asdf://.../tags/wfi_image-2.2.0`` -> ``wfi_image``; ``reference_files/dark``."""
    tag = getattr(node, "_tag", None) or getattr(node, "tag", None)
    if not isinstance(tag, str) or "/tags/" not in tag:
        return None
    return tag.split("/tags/", 1)[1].rsplit("-", 1)[0]


def short_message(error: BaseException) -> str:
    """An exception's text on one line of at most 200 characters (its type if empty)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."
