"""Product names from templates, discovered candidate ids, association file names.

Templates are Python format strings over group columns: ``{target}`` is written
lower-case with every run of characters outside ``[a-z0-9.+-]`` turned into ``-``
(names must be safe file names), ``{file_root!s}`` verbatim, ``{program:05d}``
zero-padded. ``{acid}`` is the candidate id, ``{drid}`` the data release id.
"""

from __future__ import annotations

import re
import string

import polars as pl

# Stands for a discovered id until ids are assigned (after duplicates are dropped).
ACID_PLACEHOLDER = "\x00"
_SPEC = re.compile(r"^0?(\d+)d$|^d$")
MAX_WIDTH = 32
# a name a file is written under: no folder part, control character or hidden name
UNSAFE_CHARACTERS = r"[/\\\x00-\x1f\x7f]"  # as the association schema
UNSAFE_FILE_NAME = UNSAFE_CHARACTERS + r"|^\.|^$"
MAX_NAME_BYTES = 255  # NAME_MAX of Linux, macOS and Windows file systems
ASN_SUFFIX_BYTES = len("_asn.json")
# romancal names product files after a product name; its association file adds _asn.json
MAX_PRODUCT_NAME_BYTES = MAX_NAME_BYTES - ASN_SUFFIX_BYTES
# what ``unsafe_product_name`` refuses, for messages
UNSAFE_PRODUCT_NAME = "a '/', '\\', control character, leading '.' or space, or too long"


class TemplateError(ValueError):
    pass


def _parse(template: str) -> list[tuple[str, str | None, str, str | None]]:
    try:
        return list(string.Formatter().parse(template))
    except ValueError as error:
        raise TemplateError(str(error)) from None


def template_fields(template: str) -> tuple[str, ...]:
    """The field names a template uses; raise TemplateError for what we cannot render,
    or for fixed text that no product (a file name) may hold."""
    out = []
    parsed = _parse(template)
    fixed = "".join(text for text, *_ in parsed)
    if re.search(UNSAFE_CHARACTERS, fixed) or (parsed and re.match(r"[.\s]", parsed[0][0])):
        raise TemplateError(
            "names a file: its fixed text may hold no '/', '\\' or control character, "
            "and may not begin with '.' or a space"
        )
    if len(fixed.encode()) > MAX_PRODUCT_NAME_BYTES:
        raise TemplateError(
            f"names a file: its fixed text alone is {len(fixed.encode())} bytes, and file "
            f"systems take at most {MAX_NAME_BYTES} (with '_asn.json')"
        )
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name or not name.isidentifier():
            raise TemplateError(f"field {{{name}}} must be a plain column name")
        if conversion not in (None, "s"):
            raise TemplateError(f"{{{name}!{conversion}}}: only !s (verbatim) is supported")
        if spec and not _SPEC.match(spec):
            raise TemplateError(f"{{{name}:{spec}}}: only integer widths like :05d are supported")
        width = _SPEC.match(spec).group(1) if spec else None
        if width and (len(width) > 3 or int(width) > MAX_WIDTH):
            raise TemplateError(f"{{{name}:{spec}}}: widths above {MAX_WIDTH} are not supported")
        out.append(name)
    return tuple(out)


def sanitized(expr: pl.Expr) -> pl.Expr:
    """Text made safe for a product name: lower case, unsafe runs -> '-'."""
    return (
        expr.cast(pl.Utf8)
        .str.to_lowercase()
        .str.replace_all(r"[^a-z0-9.+\-]+", "-")
        .str.strip_chars("-")
    )


def render(
    template: str, schema: pl.Schema, constants: dict[str, str], *, acid: bool = True
) -> pl.Expr:
    """An expression rendering ``template`` per row of a frame with ``schema``.

    ``constants`` supplies fields that are not columns (``drid``); ``acid`` comes
    from the ``acid`` column, null (discovered) rendering as the placeholder
    (``acid=False``: always the placeholder, the name apart from the candidate id).
    """
    pieces: list[pl.Expr] = []
    for literal, name, spec, conversion in _parse(template):
        if literal:
            pieces.append(pl.lit(literal))
        if name is None:
            continue
        if name == "acid":
            placeholder = pl.lit(ACID_PLACEHOLDER)
            pieces.append(pl.col("acid").fill_null(placeholder) if acid else placeholder)
            continue
        if name in constants:
            value = constants[name]
            pieces.append(pl.lit(value if conversion == "s" else value.lower()))
            continue
        column = pl.col(name)
        if spec:
            match = _SPEC.match(spec)
            width = int(match.group(1)) if match and match.group(1) else 0
            text = column.cast(pl.Utf8)
            pieces.append(text.str.zfill(width) if width else text)
        elif conversion == "s" or schema.get(name) in (pl.Int64, pl.Int32, pl.UInt32):
            pieces.append(column.cast(pl.Utf8))
        else:
            pieces.append(sanitized(column))
    if not pieces:
        return pl.lit("")
    return pl.concat_str(pieces)


def discovered_ids(ranks: pl.Expr) -> pl.Expr:
    """a3001, a3002, ... from 0-based ranks (a31000 after a3999)."""
    return pl.lit("a3") + (ranks + 1).cast(pl.Utf8).str.zfill(3)


DISCOVERED_SUFFIX = " (discovered)"


def discovered_constraints(constraints: pl.Expr, asn_id: pl.Expr) -> pl.Expr:
    """The constraints text of a discovered association: its group values, then its id."""
    return pl.concat_str(
        [constraints, pl.lit(", asn_candidate="), asn_id, pl.lit(DISCOVERED_SUFFIX)]
    )


def asn_file_name(version_id: str | None) -> pl.Expr:
    """``r<PPPPP>-<acid>[_<version>]_<asn_type>_<NNN>_asn.json``, lower case.

    Needs columns program (int), asn_id, asn_type and sequence (1-based NNN).
    """
    version = f"_{version_id.lower()}" if version_id else ""
    return pl.concat_str(
        [
            pl.lit("r"),
            pl.col("program").cast(pl.Utf8).str.zfill(5),
            pl.lit("-"),
            pl.col("asn_id").str.to_lowercase(),
            pl.lit(version),
            pl.lit("_"),
            pl.col("asn_type").str.to_lowercase(),
            pl.lit("_"),
            pl.col("sequence").cast(pl.Utf8).str.zfill(3),
            pl.lit("_asn.json"),
        ]
    )


def unsafe_product_name(name: pl.Expr) -> pl.Expr:
    """Product names romancal cannot write a file under, in this folder: a '/', '\\',
    control character, leading '.' or space, or too long for a file name once
    ``_asn.json`` is added (a discovered id stands in for its placeholder)."""
    named = name.str.replace_all(ACID_PLACEHOLDER, "a3001", literal=True)
    return (
        named.str.contains(UNSAFE_FILE_NAME)
        | named.str.contains(r"^\s")
        | (named.str.len_bytes() > MAX_PRODUCT_NAME_BYTES)
    )
