"""The association model: typed objects that read any romancal layout and
write the current one (romancal key order, 4-space indent).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roman_asn._version import __version__
from roman_asn.atomic import atomic_write_text
from roman_asn.errors import AssociationError, first_line, shown
from roman_asn.regular_files import NOT_REGULAR, read_regular

NO_DEGRADED = "No known degraded exposures in association."
DEGRADED = (
    "One or more members have an error associated with them."
    "\nDetails can be found in the member.exposerr attribute."
)

# Top-level keys in the order the current romancal writer emits them.
TOP_LEVEL_KEYS: tuple[str, ...] = (
    "asn_type",
    "asn_rule",
    "code_version",
    "degraded_status",
    "program",
    "data_release_id",
    "version_id",
    "target",
    "constraints",
    "asn_id",
    "asn_pool",
    "skycell_wcs_info",
    "products",
    "psf_match_reference_filter",
)

SKYCELL_WCS_KEYS: tuple[str, ...] = (
    "name",
    "pixel_scale",
    "ra_projection_center",
    "dec_projection_center",
    "x0_projection",
    "y0_projection",
    "ra_center",
    "dec_center",
    "nx",
    "ny",
    "orientat",
    "orientat_projection_center",
)

MEMBER_KEYS: tuple[str, ...] = ("expname", "exptype", "exposerr", "asn_candidate")


@dataclass
class Member:
    expname: str
    exptype: str = "science"
    exposerr: str | None = None
    asn_candidate: str | None = None
    # keys written only when the source had them (exposerr, asn_candidate) or unknown keys
    extra: dict[str, Any] = field(default_factory=dict)
    has_exposerr: bool = False
    has_asn_candidate: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"expname": self.expname, "exptype": self.exptype}
        if self.has_exposerr or self.exposerr is not None:
            out["exposerr"] = self.exposerr
        if self.has_asn_candidate or self.asn_candidate is not None:
            out["asn_candidate"] = self.asn_candidate
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Member:
        extra = {k: v for k, v in data.items() if k not in MEMBER_KEYS}
        return cls(
            expname=data["expname"],
            exptype=data["exptype"],
            exposerr=data.get("exposerr"),
            asn_candidate=data.get("asn_candidate"),
            extra=extra,
            has_exposerr="exposerr" in data,
            has_asn_candidate="asn_candidate" in data,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Member) and self.to_dict() == other.to_dict()


@dataclass
class Product:
    name: str
    members: list[Member] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        out.update(self.extra)
        out["members"] = [m.to_dict() for m in self.members]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Product:
        extra = {k: v for k, v in data.items() if k not in ("name", "members")}
        return cls(
            name=data.get("name", ""),
            members=[Member.from_dict(m) for m in data["members"]],
            extra=extra,
        )


def product_label(name: object, number: int) -> str:
    """How messages name product ``number``: its name, or ``products[N]`` when the
    name is missing, empty or not text (loading checks only what romancal needs:
    members), which the tools joined as text (a TypeError)."""
    return name if isinstance(name, str) and name else f"products[{number}]"


@dataclass
class Association:
    """One association. Unknown top-level keys are kept in ``extra`` and written last."""

    products: list[Product] = field(default_factory=list)
    asn_type: str | None = "None"
    asn_rule: str = "DMS_ELPP_Base"
    code_version: str = __version__
    degraded_status: str = NO_DEGRADED
    program: str = "noprogram"
    data_release_id: str = "p"
    version_id: str | None = None
    target: str | None = "None"
    constraints: str = "No constraints"
    asn_id: str = "a3001"
    asn_pool: str = "none"
    skycell_wcs_info: dict[str, Any] | str = "none"
    psf_match_reference_filter: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # ---- serialization -------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in TOP_LEVEL_KEYS:
            if key == "products":
                out[key] = [p.to_dict() for p in self.products]
            elif key == "psf_match_reference_filter":
                if self.psf_match_reference_filter is not None:
                    out[key] = self.psf_match_reference_filter
            else:
                out[key] = getattr(self, key)
        out.update(self.extra)
        return out

    def dump(self) -> str:
        """The association as romancal writes it: JSON, 4-space indent, final newline."""
        return json.dumps(self.to_dict(), indent=4, ensure_ascii=False) + "\n"

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically to ``path`` (a temporary name, then rename)."""
        atomic_write_text(path, self.dump())
        return Path(path)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Association:
        known = set(TOP_LEVEL_KEYS)
        kwargs: dict[str, Any] = {k: data[k] for k in TOP_LEVEL_KEYS if k in data}
        kwargs["products"] = [Product.from_dict(p) for p in data.get("products", [])]
        program = kwargs.get("program")
        if isinstance(program, int) and not isinstance(program, bool):  # earlier writers
            kwargs["program"] = str(program)  # anything else stays, for the schema to refuse
        kwargs["extra"] = {k: v for k, v in data.items() if k not in known}
        return cls(**kwargs)

    # ---- conveniences --------------------------------------------------
    @property
    def members(self) -> list[Member]:
        return [m for p in self.products for m in p.members]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Association) and self.to_dict() == other.to_dict()


def load_asn(source: str | os.PathLike[str], *, validate: bool = False) -> Association:
    """Read an association from a path or from JSON text.

    Structural problems (not JSON, no products, a member without expname) raise
    :class:`AssociationError` naming the file; ``validate=True`` also applies the
    project's strict schema.
    """
    text, label = _read_source(source)
    data = parse_json(text, label)
    from roman_asn.validate import structural_problems, validate_dict

    problems = validate_dict(data, label) if validate else structural_problems(data, label)
    if problems:
        details = "; ".join(f"{p.json_path}: {p.message}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise AssociationError(f"not a valid association: {details}{more}", path=label)
    return Association.from_dict(data)


class _DuplicateKey(ValueError):
    pass


def refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # in C; the loop below runs only when a key repeats
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def refuse_constant(name: str) -> float:
    """``parse_constant`` of json.loads: NaN and Infinity are no JSON (Python alone
    reads them), and the schema's ranges let NaN through (NaN < 0 is False)."""
    raise ValueError(f"{name} is no JSON number")


def finite_float(text: str) -> float:
    """``parse_float`` of json.loads: 1e999 is read as infinity, no value at all."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{shown(text)} is beyond the range of a number")
    return value


JSON_NUMBERS = {"parse_constant": refuse_constant, "parse_float": finite_float}


# No association is nested more than a few levels (products, members, a sky cell's
# WCS); JSON Python can parse may be nested ~1000 deep, and code handling the parsed
# value (writing it with an indent, quoting it in a message) recursed out of its stack
# on a value nested 900 deep in a key romancal ignores.
MAX_NESTING = 100


def nested_too_deeply(data: Any, text: str) -> bool:
    """Whether ``data`` (parsed from ``text``) holds lists or objects more than
    :data:`MAX_NESTING` levels deep. Text with fewer brackets cannot: then nothing is
    walked (a folder of 100k small files pays two ``str.count`` a file)."""
    if not isinstance(data, (dict, list)) or text.count("[") + text.count("{") <= MAX_NESTING:
        return False
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= MAX_NESTING:
                    return True
                stack.append((child, depth + 1))
    return False


def parse_json(text: str, label: str) -> Any:
    """JSON text of an association file, or :class:`AssociationError` in one line: bad
    syntax (with line and column), a key given twice in one object (JSON leaves it to
    the reader which one counts), integers too long to convert, nesting too deep."""
    try:
        data = json.loads(text, object_pairs_hook=refuse_duplicate_keys, **JSON_NUMBERS)
    except json.JSONDecodeError as error:
        raise AssociationError(
            f"not valid JSON: {error.msg} (column {error.colno})", path=label, line=error.lineno
        ) from None
    except _DuplicateKey as error:
        raise AssociationError(
            f"key {error.args[0]!r} appears twice in one object", path=label
        ) from None
    except RecursionError:
        raise AssociationError("not valid JSON: nested too deeply", path=label) from None
    except ValueError as error:  # e.g. an integer beyond Python's 4300-digit limit
        reason = first_line(error)
        if "digits" in reason:
            reason = "an integer with more digits than any association value has"
        raise AssociationError(f"not valid JSON: {reason}", path=label) from None
    if nested_too_deeply(data, text):
        raise AssociationError(
            f"nested too deeply: lists or objects more than {MAX_NESTING} levels deep",
            path=label,
        )
    return data


def read_json(path: str | os.PathLike[str]) -> Any:
    """The parsed JSON of an association file (see :func:`parse_json`)."""
    text, label = _read_source(Path(path))
    return parse_json(text, label)


def read_file_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of an association file; only a regular file (a FIFO or a device
    named like one would block or never end)."""
    label = os.fspath(path)
    try:
        return read_regular(path)
    except FileNotFoundError:
        raise AssociationError("no such file", path=label) from None
    except IsADirectoryError:
        raise AssociationError("is a directory, not an association file", path=label) from None
    except OSError as error:
        reason = error.strerror or str(error)
        what = reason if reason == NOT_REGULAR else f"cannot read: {reason}"
        raise AssociationError(what, path=label) from None


def _read_source(source: str | os.PathLike[str]) -> tuple[str, str]:
    # JSON text, unless a file of that name exists: "[v2]_asn.json" is a file name
    looks_like_json = isinstance(source, str) and source.lstrip().startswith(("{", "["))
    if looks_like_json and ("\n" in source or '"' in source or not os.path.lexists(source)):
        return source, "<text>"
    path = Path(source)
    raw = read_file_bytes(path)
    try:
        return raw.decode("utf-8"), str(path)
    except UnicodeDecodeError as error:
        raise AssociationError(
            f"not a text file (undecodable byte at offset {error.start})", path=str(path)
        ) from None
