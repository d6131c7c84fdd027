"""``explain`` builds only the groups a row can touch: its answer must be the whole
run's, row for row, on synthetic survey pools with sky cells (discovered ids whose
numbers depend on other groups, duplicates, orphans, GBTDS, candidate modes)."""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roman_asn.cli import main
from roman_asn.generator.explain import (
    SKYCELL_NAME,
    _foreign_cell_names,
    explain,
    explain_row,
    explain_rows,
)
from roman_asn.generator.options import GenerateOptions
from roman_asn.pool import Pool
from roman_asn.pool.columns import ROW_COLUMN
from roman_asn.pool.subset import PoolRows
from roman_asn.rules.loader import load_rules
from roman_asn.synth import synth_frame

RULES = load_rules()


@cache
def mixed() -> Pool:
    """The mixed survey (HLWAS with sky cells, GBTDS, calibration orphans)."""
    return Pool.from_frame(synth_frame(110, seed=3), path="mixed.parquet")


@cache
def discovering() -> Pool:
    """Every fifth exposure without its observation candidate (discovered Level 2 and
    mosaic associations numbered across groups), and three files listed a second
    time under another observation (the same members in two groups)."""
    frame = synth_frame(110, seed=5)
    no_candidate = (pl.int_range(pl.len()) // 18) % 5 == 0  # 18 rows per exposure
    frame = frame.with_columns(
        pl.when(no_candidate)
        .then(pl.col("candidates").list.filter(pl.element().struct.field("type") != "observation"))
        .otherwise(pl.col("candidates"))
        .alias("candidates")
    )
    twice = frame.filter(pl.col("exp_type") == "WFI_IMAGE").head(3)
    twice = twice.with_columns(
        (pl.col("observation") + 50).alias("observation"),
        pl.lit([{"id": "o099", "type": "observation"}]).alias("candidates"),
    )
    return Pool.from_frame(pl.concat([frame, twice], how="vertical_relaxed"), path="d.parquet")


def sample(pool: Pool, count: int, seed: int) -> list[int]:
    """``count`` rows spread over the pool, with a row of each program and exp_type."""
    table = pool.table
    firsts = table.group_by("program", "exp_type").agg(pl.col(ROW_COLUMN).min())
    rng = np.random.default_rng(seed)
    picked = rng.choice(table.height, size=min(count, table.height), replace=False)
    return sorted({*picked.tolist(), *firsts[ROW_COLUMN].to_list()})


def assert_same_as_whole(pool: Pool, rows: list[int], options: GenerateOptions) -> list:
    source = PoolRows.of_pool(pool)
    whole = explain_rows(source, RULES, options, rows, whole=True)
    scoped = [explain_row(source, RULES, options, row) for row in rows]
    for fast, full in zip(scoped, whole, strict=True):
        notes, fast.notes = fast.notes, []
        assert fast == full, f"row #{full.pool_row} ({notes})"
        fast.notes = notes
    return scoped


def test_scoped_explain_equals_the_whole_run_on_a_survey_pool():
    pool = mixed()
    stories = assert_same_as_whole(pool, sample(pool, 30, seed=1), GenerateOptions())
    assert all(not s.notes for s in stories)  # the fast path answered every row
    joined = [j for s in stories for j in s.joined]
    assert {"Asn_Lv3SkyCellVisit", "Asn_Lv3SkyCellMultiband", "Asn_Lv3GBTDSPass"} <= {
        j.rule for j in joined
    }
    # discovered GBTDS ids (numbered over the whole program), mosaic duplicates, orphans
    assert any(j.rule == "Asn_Lv3GBTDSFull" and j.asn_id.startswith("a3") for j in joined)
    assert any("dropped as duplicate of" in d[3] for s in stories for d in s.dropped)
    assert any(not s.joined for s in stories)


def test_scoped_explain_numbers_discovered_ids_over_other_groups():
    pool = discovering()
    rows = sample(pool, 24, seed=2) + list(range(pool.table.height - 3, pool.table.height))
    stories = assert_same_as_whole(pool, rows, GenerateOptions())
    numbered = {
        int(j.asn_id[2:])
        for s in stories
        for j in s.joined
        if j.asn_id.startswith("a3") and j.rule in ("Asn_Lv2Image", "Asn_Lv2FOV")
    }
    assert numbered and max(numbered) > 10  # ids that count other groups' associations


@pytest.mark.parametrize(
    "flags",
    [{"discover": True}, {"all_candidates": True}, {"ids": ("o001", "c1000")}],
    ids=["discover", "all-candidates", "ids"],
)
def test_scoped_explain_equals_the_whole_run_in_every_candidate_mode(flags):
    pool = discovering()
    assert_same_as_whole(pool, sample(pool, 8, seed=3), GenerateOptions.from_flags(**flags))


def test_a_product_name_clash_is_computed_from_the_whole_program(tmp_path, capsys):
    frame = synth_frame(20, seed=1, survey="hlwas")
    first = frame["target"][0]
    frame = frame.with_columns(
        pl.when(pl.col("exposure") % 2 == 0)
        .then(pl.lit(first.lower().replace("-", " ")))
        .otherwise(pl.col("target"))
        .alias("target")
    )
    pool = Pool.from_frame(frame, path="clash.parquet")
    (story,) = assert_same_as_whole(pool, [0], GenerateOptions())
    assert story.notes == ["computed from the whole program: a product-name clash in the program"]
    path = tmp_path / "clash.parquet"
    pool.write(path)
    assert main(["explain", str(path), "#0"]) == 0
    assert "note: computed from the whole program" in capsys.readouterr().out


def test_a_parquet_pool_is_read_for_the_row_program_only(tmp_path):
    pool = mixed()
    path = tmp_path / "pool.parquet"
    pool.write(path)
    rows = sample(pool, 5, seed=4)
    source = PoolRows.open(path)
    assert source.height == pool.table.height
    lazy = [explain(source, RULES, GenerateOptions(), f"#{row}")[0] for row in rows]
    assert lazy == explain_rows(PoolRows.of_pool(pool), RULES, GenerateOptions(), rows)
    name = pool.table["filename"][rows[0]]
    assert [s.pool_row for s in explain(source, RULES, GenerateOptions(), name)] == [rows[0]]
    assert main(["explain", str(path), f"#{rows[0]}"]) == 0


def test_explain_of_a_parquet_pool_names_a_bad_row_in_the_file(tmp_path, capsys):
    frame = mixed().table.drop(ROW_COLUMN)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 7)
        .then(pl.lit(-3))
        .otherwise(pl.col("pass"))
        .alias("pass")
    )
    path = tmp_path / "bad.parquet"
    frame.write_parquet(path)
    assert main(["explain", str(path), "#7"]) == 2
    err = capsys.readouterr().err
    assert "row 8" in err and "pass" in err


CELL_TEXT = st.text(alphabet="0123456789pmxy_٣", max_size=40)


@given(
    st.lists(
        st.tuples(
            st.lists(st.one_of(CELL_TEXT, st.sampled_from(["270p65x48y69", "001m02x03y04"]))),
            st.sampled_from(["270p65x48y69", "001m02x03y04", "270p65", None]),
        ),
        max_size=20,
    )
)
def test_a_sky_cell_product_holding_another_cell_name_is_found(cases):
    """The one-pass check of sky-cell product names agrees with searching each name
    for every cell name, overlapping ones included."""
    names = ["".join(parts) for parts, _ in cases]
    cells = [cell for _, cell in cases]
    frame = pl.DataFrame(
        {"product_key": names, "skycell": cells},
        schema={"product_key": pl.Utf8, "skycell": pl.Utf8},
    )
    search = re.compile(f"(?=({SKYCELL_NAME}))")
    expected = [
        name
        for name, cell in zip(names, cells, strict=True)
        if {m.group(1) for m in search.finditer(name)} != {cell}
    ]
    assert _foreign_cell_names(frame) == expected
