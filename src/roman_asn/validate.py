"""Validation of association files against the project's strict schema."""

from __future__ import annotations

import json
import os
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema

from roman_asn.errors import AssociationError, Problem, shown
from roman_asn.generator.naming import MAX_NAME_BYTES, MAX_PRODUCT_NAME_BYTES


@cache
def association_schema() -> dict[str, Any]:
    text = files("roman_asn.schemas").joinpath("association.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(association_schema())


def _json_path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


MESSAGE_VALUE_LIMIT = 80


def _unpaired_surrogates(value: Any, label: str, parts: tuple = ()) -> list[Problem]:
    """Strings (keys too) holding an unpaired surrogate: JSON's ``\\ud800`` escapes
    decode to one, which is no character, so no UTF-8 file can hold it: the file reads,
    then every tool that writes it fails."""
    found: list[Problem] = []
    if isinstance(value, str):
        bad = next((c for c in value if "\ud800" <= c <= "\udfff"), None)
        if bad is not None:
            found.append(
                Problem(
                    label,
                    _json_path(parts),
                    f"holds {bad!r}, an unpaired surrogate (not a character): "
                    "no UTF-8 file can hold it",
                )
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            found += _unpaired_surrogates(key, label, parts) if isinstance(key, str) else []
            found += _unpaired_surrogates(item, label, (*parts, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _unpaired_surrogates(item, label, (*parts, i))
    return found


def _describe(error: jsonschema.ValidationError) -> str:
    """One readable line: a value quoted in it is cut as :func:`shown` cuts it (a 20 MB
    expname, or a list of 10,000 strings where one string belongs, would otherwise be
    quoted whole)."""
    message = _describe_whole(error)
    quoted = repr(error.instance)
    if len(quoted) > MESSAGE_VALUE_LIMIT and quoted in message:
        message = message.replace(quoted, shown(error.instance, MESSAGE_VALUE_LIMIT))
    return message


def _describe_whole(error: jsonschema.ValidationError) -> str:
    if error.validator == "oneOf" and list(error.path) == ["skycell_wcs_info"]:
        best = [e for e in error.context if e.validator != "const"]
        if best and isinstance(error.instance, dict):
            inner = min(best, key=lambda e: len(list(e.path)))
            where = ".".join(str(p) for p in inner.path)
            return f"{where + ': ' if where else ''}{_describe(inner)}"
        return "must be the string 'none' or the 12-key sky-cell WCS object"
    if error.validator == "pattern" and error.validator_value == "\\S":
        return "must not be empty or blank"
    if error.validator == "pattern" and "/" in error.validator_value:
        return (
            "must be a plain file name: no '/', '\\' or control characters, not starting "
            f"with '.' or a space ({error.instance!r})"
        )
    if error.validator == "pattern" and "u0000" in error.validator_value:
        return f"must be a file name: not blank, no control characters ({error.instance!r})"
    return error.message


def structural_problems(data: Any, label: str) -> list[Problem]:
    """What romancal itself needs: products with members with expname and exptype."""
    if not isinstance(data, dict):
        return [Problem(label, "$", "the top level must be a JSON object")]
    products = data.get("products")
    if not isinstance(products, list):
        return [Problem(label, "$.products", "missing or not a list")]
    problems = []
    for i, product in enumerate(products):
        if not isinstance(product, dict) or not isinstance(product.get("members"), list):
            problems.append(Problem(label, f"$.products[{i}].members", "missing or not a list"))
            continue
        for j, member in enumerate(product["members"]):
            for key in ("expname", "exptype"):
                if not isinstance(member, dict) or not isinstance(member.get(key), str):
                    problems.append(
                        Problem(
                            label, f"$.products[{i}].members[{j}].{key}", "missing or not a string"
                        )
                    )
    return problems


def validate_dict(data: Any, label: str = "<association>") -> list[Problem]:
    """Every problem of one association, in document order."""
    problems = [
        Problem(label, _json_path(error.absolute_path), _describe(error))
        for error in _validator().iter_errors(data)
    ]
    problems += _unpaired_surrogates(data, label)
    if isinstance(data, dict) and isinstance(data.get("products"), list):
        names: dict[str, int] = {}
        for i, product in enumerate(data["products"]):
            if not isinstance(product, dict):
                continue
            name = product.get("name")
            if isinstance(name, str) and name in names:
                problems.append(
                    Problem(
                        label,
                        f"$.products[{i}].name",
                        f"duplicate of $.products[{names[name]}].name",
                    )
                )
            elif isinstance(name, str):
                names[name] = i
            size = len(name.encode("utf-8", "surrogatepass")) if isinstance(name, str) else 0
            if size > MAX_PRODUCT_NAME_BYTES:
                problems.append(
                    Problem(
                        label,
                        f"$.products[{i}].name",
                        f"{size} bytes: romancal names its product files after "
                        f"it, and file names take at most {MAX_NAME_BYTES} bytes "
                        f"(at most {MAX_PRODUCT_NAME_BYTES} before '_asn.json')",
                    )
                )
            seen: dict[str, int] = {}
            members = product.get("members")  # not a list: the schema says so
            for j, member in enumerate(members if isinstance(members, list) else []):
                expname = member.get("expname") if isinstance(member, dict) else None
                if not isinstance(expname, str):
                    continue
                if expname in seen:
                    problems.append(
                        Problem(
                            label,
                            f"$.products[{i}].members[{j}].expname",
                            f"duplicate member {expname!r} (also members[{seen[expname]}])",
                        )
                    )
                else:
                    seen[expname] = j
    problems.sort(key=lambda p: _path_key(p.json_path))
    return problems


def _path_key(json_path: str) -> list[Any]:
    import re

    return [int(t) if t.isdigit() else t for t in re.findall(r"\w+", json_path)]


def validate_file(path: str | os.PathLike[str]) -> list[Problem]:
    """Every problem of one file; unreadable files and bad JSON are problems too."""
    from roman_asn.association import read_json

    try:
        data = read_json(path)
    except AssociationError as error:  # the line of a syntax error too, as other tools say it
        where = f"line {error.line}: " if error.line is not None else ""
        return [Problem(str(path), "$", where + error.message)]
    return validate_dict(data, str(path))
