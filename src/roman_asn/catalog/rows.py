"""Exposure rows in the catalog: encoded once as JSON, typed back into a pool table.

A row is stored as its columns' JSON (sorted keys, nulls left out) so that the
same metadata gives the same text and hash whichever pool, format or column order
it came from. The table schema (the union of the pools' column types, widened to
text where two pools disagree) is kept beside the rows, so the rows read back are
typed as ``read_pool`` typed them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json

import polars as pl

from roman_asn.pool.columns import ROW_COLUMN

_NULL_MEMBER = (
    (r'"[^"\\]*":null,', ""),  # "key":null, (not the last key)
    (r',"[^"\\]*":null', ""),  # ,"key":null (the last key)
    (r'^\{"[^"\\]*":null\}$', "{}"),  # the only key
)


def encode_rows(table: pl.DataFrame) -> pl.Series:
    """One JSON object per row: keys sorted, nulls left out."""
    columns = sorted(c for c in table.columns if c != ROW_COLUMN)
    text = table.select(pl.struct(columns).struct.json_encode().alias("data"))["data"]
    expr = pl.col("data")
    for pattern, replacement in _NULL_MEMBER:
        expr = expr.str.replace_all(pattern, replacement)
    return pl.DataFrame({"data": text}).select(expr)["data"]


def row_hashes(data: pl.Series, step: int = 100_000) -> pl.Series:
    """SHA-1 of each row's JSON, a slice at a time: never all rows as Python strings at
    once (a first load hashes millions)."""
    digests: list[str] = []
    for start in range(0, len(data), step):
        part = data.slice(start, step).to_list()
        digests += [hashlib.sha1(text.encode()).hexdigest() for text in part]
    return pl.Series(digests, dtype=pl.Utf8)


def merge_schemas(old: pl.Schema | None, new: pl.Schema) -> pl.Schema:
    """The union of two pool schemas; a column typed differently becomes text."""
    merged = dict(old or {})
    for name, dtype in new.items():
        if name == ROW_COLUMN:
            continue
        if name in merged and merged[name] != dtype:
            merged[name] = pl.Utf8
        else:
            merged.setdefault(name, dtype)
    return pl.Schema(merged)


def schema_text(schema: pl.Schema) -> str:
    buffer = io.BytesIO()
    pl.DataFrame(schema=schema).write_ipc(buffer)
    return base64.b64encode(buffer.getvalue()).decode()


def schema_from_text(text: str) -> pl.Schema:
    return pl.read_ipc(io.BytesIO(base64.b64decode(text))).schema


def stored_schema(connection) -> pl.Schema | None:
    """The pool schema a catalog keeps (its ``schema`` setting; None: no rows yet)."""
    from roman_asn.catalog.store import setting

    text = setting(connection, "schema")
    return schema_from_text(text) if text else None


def decode_rows(data: list[str], schema: pl.Schema) -> pl.DataFrame:
    """The rows as a pool table of ``schema`` (columns absent from a row are null)."""
    if not data:
        return pl.DataFrame(schema=schema)
    text = "\n".join(data).encode()
    loose = {n: (pl.Utf8 if d == pl.Utf8 else d) for n, d in schema.items()}
    try:
        return pl.read_ndjson(io.BytesIO(text), schema=loose)
    except pl.exceptions.PolarsError:
        # a column stored as text after two pools disagreed: read values as JSON text
        rows = [json.loads(t) for t in data]
        fixed = [
            {
                k: (json.dumps(v) if schema.get(k) == pl.Utf8 and not isinstance(v, str) else v)
                for k, v in row.items()
            }
            for row in rows
        ]
        return pl.DataFrame(fixed, schema=schema)
