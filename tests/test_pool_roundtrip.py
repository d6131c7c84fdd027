from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roman_asn import read_pool
from roman_asn.pool import Pool
from roman_asn.pool.candidates import format_candidates

text = st.text(
    st.characters(
        codec="utf-8",
        exclude_categories=["Cs", "Cc", "Zs", "Zl", "Zp"],
        exclude_characters="|#\"',",
    ),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() == s and s not in ("NULL", "T", "F"))
candidate = st.tuples(
    st.from_regex(r"[oca][0-9]{3,5}", fullmatch=True),
    st.sampled_from(["observation", "group", "mosaic"]),
)
row = st.fixed_dictionaries(
    {
        "filename": text,
        "program": st.none() | st.integers(0, 99999),
        "exp_type": st.none() | st.sampled_from(["WFI_IMAGE", "WFI_DARK", "WFI_GRISM"]),
        "target": st.none() | text,
        "candidates": st.lists(candidate, max_size=3).map(format_candidates),
        "ra_corn1": st.none() | st.floats(0, 360, allow_nan=False),
        "note": st.none() | text,
    }
)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".ecsv"])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(row, min_size=1, max_size=20, unique_by=lambda r: r["filename"]))
def test_pool_rows_survive_write_and_read(tmp_path, suffix, rows):
    frame = pl.DataFrame(
        rows,
        schema={
            "filename": pl.Utf8,
            "program": pl.Int64,
            "exp_type": pl.Utf8,
            "target": pl.Utf8,
            "candidates": pl.Utf8,
            "ra_corn1": pl.Float64,
            "note": pl.Utf8,
        },
    )
    pool = Pool.from_frame(frame)
    path = tmp_path / f"pool{suffix}"
    pool.write(path)
    again = read_pool(path)
    left = pool.table.drop("pool_row")
    right = again.table.drop("pool_row")
    assert right.columns == left.columns
    for name in left.columns:
        assert right[name].to_list() == left[name].to_list(), name


def test_row_order_is_recorded(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("filename\nb\na\n")
    assert read_pool(path).table["pool_row"].to_list() == [0, 1]


@pytest.mark.parametrize("suffix", ["csv", "ecsv", "parquet"])
def test_extra_nested_columns_are_written_as_json_text(tmp_path, suffix):
    """A Parquet pool with nested columns the rules do not read (a list of lists, a
    struct) converts to every format; the candidates keep their cell style."""
    demo = read_pool(Path(__file__).parents[1] / "src/roman_asn/data/demo_pool.csv")
    frame = demo.table.drop("pool_row").with_columns(
        pl.lit([[1, 2], [3]]).alias("lists"),
        pl.struct(pl.lit("a").alias("x"), pl.lit(2).alias("y")).alias("pair"),
    )
    source = tmp_path / "nested.parquet"
    frame.write_parquet(source)
    out = tmp_path / f"out.{suffix}"
    read_pool(source).write(out)
    back = read_pool(out).table
    assert back.height == frame.height
    assert back["candidates"].to_list() == demo.table["candidates"].to_list()
    if suffix != "parquet":
        assert back["lists"][0] == "[[1,2],[3]]" and back["pair"][0] == '{"x":"a","y":2}'


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".ecsv"])
def test_a_field_longer_than_the_csv_modules_limit_reads_back(tmp_path, suffix):
    """Python's csv reader stops at 128 KiB a field; our writers write any length, so
    our readers read any length (ECSV quotes a field with spaces: the csv path)."""
    long = "a b" * 70_000
    pool = Pool(pl.DataFrame({"filename": ["x_cal.asdf", "y_cal.asdf"], "note": [long, "n"]}))
    path = tmp_path / f"p{suffix}"
    pool.write(path)
    assert read_pool(path).table["note"].to_list() == [long, "n"]


@pytest.mark.parametrize("value", ["A|B", "A\nB", "A\rB"])
def test_the_legacy_writer_refuses_a_value_it_could_not_read_back(tmp_path, value):
    import polars as pl

    from roman_asn import PoolError
    from roman_asn.pool import Pool, write_pool

    pool = Pool.from_frame(pl.DataFrame({"filename": ["a_cal.asdf"], "target": [value]}))
    target = tmp_path / "pool.csv"
    with pytest.raises(PoolError, match="column 'target'.*legacy pool format cannot hold"):
        write_pool(pool, target)
    assert list(tmp_path.iterdir()) == []
    write_pool(pool, tmp_path / "pool.parquet")  # the formats that can hold it still do
