"""ECSV pools read and written with polars: astropy's format, at columnar speed.

astropy's ECSV reader builds Python objects per cell (about 30k rows/s and
several GB per million rows); the format is a YAML header and a plain delimited
body, so the header is parsed here and the body handed to polars. Files with
multidimensional or object columns (``subtype``) still go through astropy.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from roman_asn.atomic import atomic_open
from roman_asn.errors import PoolError, shown
from roman_asn.pool.text_table import check_field_counts, check_text

# ECSV datatype -> polars type; anything else (subtypes, object) falls back to astropy
ECSV_TYPES: dict[str, pl.DataType] = {
    "string": pl.Utf8,
    "bool": pl.Boolean,
    "int8": pl.Int64,
    "int16": pl.Int64,
    "int32": pl.Int64,
    "int64": pl.Int64,
    "uint8": pl.Int64,
    "uint16": pl.Int64,
    "uint32": pl.Int64,
    "uint64": pl.UInt64,
    "float16": pl.Float64,
    "float32": pl.Float64,
    "float64": pl.Float64,
}


DELIMITERS = (" ", ",")


def _header(raw: bytes, path: str) -> tuple[dict, int]:
    lines = []
    count = 0
    for line in io.BytesIO(raw):
        if not line.startswith(b"#"):
            break
        count += 1
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PoolError(
                f"the ECSV header is not UTF-8 (byte {error.start} of the line)",
                path=path,
                line=count,
            ) from None
        lines.append(text[2:] if text.startswith("# ") else text[1:])
    if not lines or not lines[0].startswith("%ECSV"):
        raise PoolError("not an ECSV file (no '# %ECSV' first line)", path=path, line=1)
    try:
        header = yaml.safe_load("".join(lines[1:]))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        line = mark.line + 2 if mark is not None else None
        raise PoolError(f"unreadable ECSV header: {problem}", path=path, line=line) from None
    except RecursionError:
        raise PoolError("unreadable ECSV header: nested too deeply", path=path) from None
    except (ValueError, OverflowError) as error:  # a value YAML types but cannot hold
        first = str(error).splitlines()[0][:200]
        raise PoolError(f"unreadable ECSV header: {first}", path=path) from None
    if not isinstance(header, dict) or not isinstance(header.get("datatype"), list):
        raise PoolError("ECSV header has no datatype list", path=path)
    names = []
    for number, column in enumerate(header["datatype"], start=1):
        name = column.get("name") if isinstance(column, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise PoolError(f"ECSV header: datatype entry {number} has no column name", path=path)
        if name in names:
            raise PoolError(f"ECSV header: column {name!r} appears twice", path=path)
        datatype = column.get("datatype")  # looked up in a table: a list there is no type
        if datatype is not None and not isinstance(datatype, str):
            raise PoolError(
                f"ECSV header: column {shown(name)}: datatype must be text, not {shown(datatype)}",
                path=path,
            )
        names.append(name)
    delimiter = header.get("delimiter", " ")
    if delimiter not in DELIMITERS:
        raise PoolError(
            f"ECSV header: delimiter must be a space or a comma, not {delimiter!r}", path=path
        )
    return header, count


def read_ecsv(path: str, raw: bytes) -> tuple[pl.DataFrame | None, np.ndarray | None]:
    """The table and each row's 1-based line, or (None, None) when the file needs
    astropy (subtypes, object columns)."""
    header, header_lines = _header(raw, path)
    columns = header["datatype"]
    if any("subtype" in c or c.get("datatype") not in ECSV_TYPES for c in columns):
        return None, None
    names = [c["name"] for c in columns]
    delimiter = header.get("delimiter", " ")
    body_raw = b"".join(io.BytesIO(raw).readlines()[header_lines:])
    check_text(body_raw or b" ", path)
    lines = check_field_counts(body_raw, path, delimiter, first_line=header_lines + 1)
    try:
        body = pl.read_csv(
            body_raw,
            separator=delimiter,
            quote_char='"',
            infer_schema=False,
            has_header=True,
            comment_prefix="#",
        )
    except pl.exceptions.PolarsError as error:
        raise PoolError(f"unreadable ECSV body: {str(error).splitlines()[0]}", path=path) from None
    if body.columns != names:
        raise PoolError(
            f"ECSV column names {body.columns} differ from the header's {names}",
            path=path,
            line=header_lines + 1,
        )
    casts = []
    for column in columns:
        name, dtype = column["name"], ECSV_TYPES[column["datatype"]]
        if dtype == pl.Utf8:
            continue
        text = pl.col(name).str.strip_chars()
        if dtype == pl.Boolean:
            value = (
                pl.when(text.is_in(["True", "true", "1"]))
                .then(True)
                .when(text.is_in(["False", "false", "0"]))
                .then(False)
            )
        else:
            value = text.cast(dtype, strict=False)
        missing = text.is_null() | text.is_in(["", '""'])
        bad = body.select((value.is_null() & ~missing).alias("bad"))["bad"]
        if bad.any():
            index = int(bad.arg_true()[0])
            raise PoolError(
                f"{shown(body[name][index])} is not a valid {column['datatype']} value "
                f"({int(bad.sum())} bad value(s) in this column)",
                path=path,
                line=int(lines[index]) if index < len(lines) else None,
                column=name,
            )
        casts.append(value.alias(name))
    return (body.with_columns(casts) if casts else body), lines


_DATATYPE = {
    pl.Utf8: "string",
    pl.Boolean: "bool",
    pl.Float64: "float64",
    pl.Float32: "float32",
    pl.Int64: "int64",
    pl.Int32: "int32",
    pl.UInt32: "uint32",
    pl.UInt64: "uint64",
}


def write_ecsv(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` (text, numeric and boolean columns) as ECSV 1.0, atomically."""
    datatypes = []
    exprs = []
    for name, dtype in frame.schema.items():
        kind = _DATATYPE.get(dtype, "string")
        datatypes.append({"name": name, "datatype": kind})
        if dtype == pl.Boolean:
            flag = pl.col(name)
            exprs.append(
                pl.when(flag).then(pl.lit("True")).when(~flag).then(pl.lit("False")).alias(name)
            )
        else:
            exprs.append(pl.col(name).cast(pl.Utf8).alias(name))
    header = "# %ECSV 1.0\n# ---\n# datatype:\n"
    header += "".join(
        f"# - {{name: {_yaml_name(d['name'])}, datatype: {d['datatype']}}}\n" for d in datatypes
    )
    header += "# schema: astropy-2.0\n"
    body = frame.select(exprs).write_csv(separator=" ", null_value='""', quote_style="necessary")
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(header)
        handle.write(body)


def _yaml_name(name: str) -> str:
    return (
        name
        if name.replace("_", "").isalnum()
        else yaml.safe_dump(name).strip().removesuffix("\n...")
    )
