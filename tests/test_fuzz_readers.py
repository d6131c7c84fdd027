"""Fuzzing every pool reader and the association loader: whatever the bytes, the
answer is a table or ONE line naming the file (and the line or row where there is
one), never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roman_asn.association import load_asn
from roman_asn.errors import AssociationError, PoolError
from roman_asn.pool import read_pool
from roman_asn.pool.batches import read_batches

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

LEGACY = (
    "FILENAME|PROGRAM|OBS_NUM|EXP_TYPE|OPT_ELEM|ASN_CANDIDATE|RA_CORN1|DEC_CORN1\n"
    "a_uncal.asdf|1|1|WFI_IMAGE|F158|[('o001', 'observation')]|10.0|5.0\n"
    "b_uncal.asdf|1|2|WFI_IMAGE|F158|[('o001', 'observation')]|10.1|5.1\n"
)
CSV = LEGACY.replace("|", ",").replace("[('o001', 'observation')]", "\"[('o001','observation')]\"")
ECSV = (
    "# %ECSV 1.0\n# ---\n# datatype:\n"
    "# - {name: filename, datatype: string}\n"
    "# - {name: program, datatype: int64}\n"
    "# - {name: candidates, datatype: string}\n"
    "# - {name: ra_corn1, datatype: float64}\n"
    "# schema: astropy-2.0\n"
    "filename program candidates ra_corn1\n"
    "a_uncal.asdf 1 \"[('o001', 'observation')]\" 10.0\n"
    'b_uncal.asdf 2 "[]" 10.5\n'
)
TEXT_POOLS = {".csv": LEGACY, ".txt": CSV, ".ecsv": ECSV}


def read_or_one_line(path: Path) -> None:
    """The contract: a pool, or a one-line PoolError naming the file."""
    try:
        read_pool(path)
    except PoolError as error:
        message = str(error)
        assert "\n" not in message, message
        assert str(path) in message, message
    try:
        for _ in read_batches(path, batch_rows=2, batch_bytes=64):
            pass
    except PoolError as error:
        assert "\n" not in str(error) and str(path) in str(error)


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".ecsv", ".parquet", ".txt"]))
def test_random_bytes(tmp_path, data, suffix):
    path = tmp_path / f"pool{suffix}"
    path.write_bytes(data)
    read_or_one_line(path)


def _edit(text: str, line: int, field: int, how: str, separator: str) -> str:
    lines = text.split("\n")
    line %= max(1, len(lines))
    fields = lines[line].split(separator)
    field %= max(1, len(fields))
    if how == "drop":
        del fields[field]
    elif how == "double":
        fields.insert(field, fields[field])
    elif how == "empty":
        fields[field] = ""
    elif how == "junk":
        fields[field] = "abc\x00é\u2028"
    elif how == "huge":
        fields[field] = "9" * 5000
    lines[line] = separator.join(fields)
    return "\n".join(lines)


@FUZZ
@given(
    suffix=st.sampled_from(sorted(TEXT_POOLS)),
    edits=st.lists(
        st.tuples(
            st.integers(0, 20),
            st.integers(0, 10),
            st.sampled_from(["drop", "double", "empty", "junk", "huge"]),
        ),
        min_size=1,
        max_size=3,
    ),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),
    bom=st.booleans(),
)
def test_dropped_doubled_and_odd_fields(tmp_path, suffix, edits, ending, bom):
    text = TEXT_POOLS[suffix]
    separator = {".csv": "|", ".txt": ",", ".ecsv": " "}[suffix]
    for line, field, how in edits:
        text = _edit(text, line, field, how, separator)
    data = text.replace("\n", ending).encode("utf-8")
    path = tmp_path / f"pool{suffix}"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    read_or_one_line(path)


cells = st.one_of(
    st.none(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.booleans(),
)
typed_columns = st.sampled_from(
    [
        pl.Int64,
        pl.Float64,
        pl.Utf8,
        pl.Boolean,
        pl.List(pl.Int64),
        pl.List(pl.Struct({"id": pl.Utf8, "type": pl.Utf8})),
        pl.Struct({"a": pl.Int64}),
    ]
)


def _column(dtype: pl.DataType, n: int, draw) -> pl.Series:
    if dtype == pl.List(pl.Struct({"id": pl.Utf8, "type": pl.Utf8})):
        pair = st.fixed_dictionaries({"id": st.text(max_size=6), "type": st.text(max_size=6)})
        values = draw(st.lists(st.lists(pair, max_size=2), min_size=n, max_size=n))
    elif dtype == pl.List(pl.Int64):
        values = draw(st.lists(st.lists(st.integers(-5, 5), max_size=2), min_size=n, max_size=n))
    elif dtype == pl.Struct({"a": pl.Int64}):
        values = draw(
            st.lists(st.fixed_dictionaries({"a": st.integers(0, 9)}), min_size=n, max_size=n)
        )
    else:
        values = [
            v if v is None else _coerce(v, dtype)
            for v in draw(st.lists(cells, min_size=n, max_size=n))
        ]
    return pl.Series(values, dtype=dtype, strict=False)


def _coerce(value, dtype):
    try:
        if dtype == pl.Int64:
            return int(value) if not isinstance(value, str) else len(value)
        if dtype == pl.Float64:
            return float(value) if not isinstance(value, str) else float(len(value))
        if dtype == pl.Boolean:
            return bool(value)
        return str(value)
    except (OverflowError, ValueError):
        return None


@FUZZ
@given(data=st.data(), n=st.integers(1, 4))
def test_random_parquet_cell_types(tmp_path, data, n):
    columns = {}
    for name in ["filename", "program", "candidates", "ra_corn1", "dec_corn1", "exp_type"]:
        if data.draw(st.booleans()) or name == "filename":
            columns[name] = _column(data.draw(typed_columns), n, data.draw)
    path = tmp_path / "pool.parquet"
    pl.DataFrame(columns).write_parquet(path)
    read_or_one_line(path)


# ---------------------------------------------------------------- association loader

ASN = json.loads((Path(__file__).parent / "data" / "asn_level2.json").read_text())
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


def load_or_one_line(path: Path) -> None:
    try:
        load_asn(path, validate=True)
    except AssociationError as error:
        assert "\n" not in str(error) and str(path) in str(error), str(error)


@FUZZ
@given(data=st.binary(max_size=300))
def test_association_random_bytes(tmp_path, data):
    path = tmp_path / "a_asn.json"
    path.write_bytes(data)
    load_or_one_line(path)


@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(["top", "product", "member"]), st.text(max_size=12), json_values),
        max_size=4,
    ),
    drop=st.lists(st.sampled_from(["products", "asn_type", "members", "expname"]), max_size=2),
)
def test_association_mutated_json(tmp_path, edits, drop):
    data = json.loads(json.dumps(ASN))
    for where, key, value in edits:
        target = {
            "top": data,
            "product": data["products"][0],
            "member": data["products"][0]["members"][0],
        }[where]
        target[key or "expname"] = value
    for key in drop:
        for target in (data, data["products"][0] if isinstance(data.get("products"), list) else {}):
            if isinstance(target, dict):
                target.pop(key, None)
    path = tmp_path / "a_asn.json"
    path.write_text(json.dumps(data))
    load_or_one_line(path)
