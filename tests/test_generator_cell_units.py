"""The sky-cell rules a range of cells at a time (``generator.cell_units``) give exactly
what one run over the whole pool gives: associations, drops, orphans and files."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roman_asn.errors import RomanAsnError
from roman_asn.generator.cell_units import cell_local_rules, generate_by_cells
from roman_asn.generator.engine import GenerationResult, generate
from roman_asn.generator.options import GenerateOptions
from roman_asn.generator.orphans import OrphansFirst
from roman_asn.outputs import open_output
from roman_asn.pool import Pool
from roman_asn.pool.columns import ROW_COLUMN
from roman_asn.rules.loader import load_rules
from roman_asn.run import run
from roman_asn.synth import synth_frame

RULES = load_rules()


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    return {
        "mixed": synth_frame(300, seed=3),
        "gbtds": synth_frame(200, seed=4, survey="gbtds"),
        "small": synth_frame(80, seed=5),
    }


def _whole_and_parts(pool: Pool, unit_pairs: int, options=None):
    whole = generate(pool, RULES, options)
    parts = list(generate_by_cells(pool, RULES, options, unit_pairs=unit_pairs))
    return whole, parts


def _same(whole: GenerationResult, parts: list[GenerationResult]) -> None:
    joined = GenerationResult.concat(parts)
    assert joined.associations.equals(whole.associations)
    assert joined.orphans.equals(whole.orphans)
    assert joined.n_rows == whole.n_rows
    key = ["rule", "product_name", "reason"]
    assert joined.dropped.select(key).sort(key).equals(whole.dropped.select(key).sort(key))
    assert joined.skipped_rules == whole.skipped_rules


@pytest.mark.parametrize("survey", ["mixed", "gbtds"])
def test_units_of_cells_equal_the_whole_pool(frames, survey):
    pool = Pool.from_frame(frames[survey], path=f"{survey}.parquet")
    whole, parts = _whole_and_parts(pool, unit_pairs=2_000)
    assert len(parts) > 5  # the rest, several units of cells, the orphans
    assert parts[-1].associations.height == 0 and parts[-1].orphans.height == whole.orphans.height
    assert whole.associations.filter(pl.col("asn_type") == "multiband").height > 0
    _same(whole, parts)


def test_candidate_options_and_discovered_ids_are_kept(frames):
    pool = Pool.from_frame(frames["mixed"], path="mixed.parquet")
    options = GenerateOptions.from_flags(discover=True)
    whole, parts = _whole_and_parts(pool, unit_pairs=3_000, options=options)
    _same(whole, parts)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit_pairs=st.integers(300, 8_000), seed=st.integers(0, 2**16))
def test_any_unit_size_and_row_order(frames, unit_pairs, seed):
    table = frames["small"].sample(fraction=1.0, shuffle=True, seed=seed)
    pool = Pool.from_frame(table, path="shuffled.parquet")
    whole, parts = _whole_and_parts(pool, unit_pairs)
    _same(whole, parts)


def test_rows_without_footprints_are_orphans_with_their_reason(frames):
    table = frames["mixed"].with_columns(
        pl.when(pl.int_range(pl.len()) % 7 == 0)
        .then(None)
        .otherwise(pl.col("ra_corn1"))
        .alias("ra_corn1")
    )
    pool = Pool.from_frame(table.drop("s_region", strict=False), path="holes.parquet")
    whole, parts = _whole_and_parts(pool, unit_pairs=5_000)
    _same(whole, parts)


def test_which_rules_go_by_cells():
    local = [r.name for r in cell_local_rules(RULES)]
    assert local == [
        "Asn_Lv3SkyCellVisit",
        "Asn_Lv3SkyCellPass",
        "Asn_Lv3SkyCellFull",
        "Asn_Lv3SkyCellMultiband",
    ]
    by_name = {r.name: r for r in RULES}
    visit = by_name["Asn_Lv3SkyCellVisit"]
    # numbered ids or files, or a name without the cell, tie cells together
    for change in (
        {"asn_id": None},
        {"asn_file_name": "dms"},
        {"product_name": "r{program:05d}_{drid}_{visit_token!s}_{optical_element}"},
    ):
        changed = dataclasses.replace(visit, **change)
        rules = [changed if r.name == visit.name else r for r in RULES]
        names = [r.name for r in cell_local_rules(rules)]
        assert visit.name not in names
        assert "Asn_Lv3SkyCellMultiband" not in names  # one of its sources is not local
        assert "Asn_Lv3SkyCellPass" in names


def test_run_by_cells_writes_the_same_files_and_orphans(frames, tmp_path):
    pool = Pool.from_frame(frames["small"], path="small.parquet")
    outputs = {}
    for mode in (False, True):
        folder = tmp_path / f"by_cells_{mode}"
        output = OrphansFirst(open_output(folder), tmp_path / f"orphans_{mode}.csv")
        result = run(pool, RULES, output=output, by_cells=mode)
        output.finish(result.orphans)
        outputs[mode] = {p.name: p.read_bytes() for p in folder.glob("*_asn.json")}
        assert output.written == len(outputs[mode])
        assert result.counts() == generate(pool, RULES).counts()
    assert len(outputs[True]) > 300 and outputs[True] == outputs[False]
    orphans = [(tmp_path / f"orphans_{m}.csv").read_bytes() for m in (False, True)]
    assert orphans[0] == orphans[1]


def test_by_cells_refused_where_it_cannot_apply(frames):
    footless = frames["mixed"].select(
        c for c in frames["mixed"].columns if "corn" not in c and c != "s_region"
    )
    pool = Pool.from_frame(footless.drop("pointing_ra", strict=False), path="x.parquet")
    with pytest.raises(RomanAsnError, match="by sky cells"):
        run(pool, RULES, by_cells=True)


def test_orphan_rows_keep_their_pool_row(frames):
    pool = Pool.from_frame(frames["gbtds"], path="g.parquet")
    parts = list(generate_by_cells(pool, RULES, unit_pairs=4_000))
    orphans = parts[-1].orphans
    assert orphans[ROW_COLUMN].is_sorted()
    assert orphans["reasons"].list.len().min() > 0


def test_chunked_units_go_by_cells_too(frames, tmp_path, monkeypatch):
    from roman_asn.generator import cell_units
    from roman_asn.generator.chunked import generate_chunked

    monkeypatch.setattr(cell_units, "BY_CELLS_FROM_ROWS", 1)
    monkeypatch.setattr(cell_units, "UNIT_PAIRS", 2_000)
    path = tmp_path / "pool.parquet"
    frames["small"].write_parquet(path)
    options = GenerateOptions(asn_pool=path.name)
    parts = list(
        generate_chunked(path, RULES, options, batch_rows=300, unit_rows=1, temp_dir=tmp_path)
    )
    assert len(parts) > 6  # program units, each in ranges of cells
    whole = generate(Pool.from_frame(frames["small"], path=path.name), RULES, options)
    _same(whole, parts)


def test_chunked_units_on_dask_go_by_cells_and_small_ones_whole(frames, tmp_path, monkeypatch):
    """With workers, a big program unit goes by cells (its cell ranges on the workers,
    memory set by a range, not the unit) and small units go whole; same answer."""
    from roman_asn.generator import cell_units, chunked
    from roman_asn.generator.distributed import dask_client

    path = tmp_path / "pool.parquet"
    frames["small"].write_parquet(path)
    sizes = frames["small"].group_by("program").len()["len"]
    # the biggest program's unit goes by cells, the others whole
    monkeypatch.setattr(cell_units, "BY_CELLS_FROM_ROWS", int(sizes.max()))
    monkeypatch.setattr(cell_units, "UNIT_PAIRS", 2_000)
    by_cells = []
    real = cell_units.generate_by_cells

    def spy(*args, **kwargs):
        by_cells.append(kwargs.get("client"))
        return real(*args, **kwargs)

    monkeypatch.setattr(cell_units, "generate_by_cells", spy)
    options = GenerateOptions(asn_pool=path.name)
    with dask_client(workers=2) as client:
        parts = list(
            chunked.generate_chunked(
                path,
                RULES,
                options,
                client=client,
                batch_rows=300,
                unit_rows=1,
                temp_dir=tmp_path,
            )
        )
    assert by_cells and all(c is not None for c in by_cells) and len(sizes) > len(by_cells)
    whole = generate(Pool.from_frame(frames["small"], path=path.name), RULES, options)
    _same(whole, parts)


def test_hostile_rows_give_the_same_answer(frames):
    """Nulls and odd values where the sky-cell rules look: the same associations,
    drops and orphan reasons as the whole pool."""
    table = frames["small"]
    n = pl.int_range(pl.len())
    table = table.with_columns(
        pl.when(n % 11 == 0).then(None).otherwise(pl.col("filename")).alias("filename"),
        pl.when(n % 13 == 0)
        .then(None)
        .otherwise(pl.col("optical_element"))
        .alias("optical_element"),
        pl.when(n % 17 == 0).then(pl.lit("12345")).otherwise(pl.col("visit_id")).alias("visit_id"),
        pl.when(n % 19 == 0)
        .then(pl.lit("WFI_DARK"))
        .otherwise(pl.col("exp_type"))
        .alias("exp_type"),
        pl.when(n % 23 == 0)  # a footprint far too big: bad corners
        .then((pl.col("ra_corn2") + 60.0) % 360.0)
        .otherwise(pl.col("ra_corn2"))
        .alias("ra_corn2"),
    )
    pool = Pool.from_frame(table, path="hostile.parquet")
    whole, parts = _whole_and_parts(pool, unit_pairs=1_000)
    assert whole.orphans.height > 100
    _same(whole, parts)


def test_units_on_dask_workers_give_the_same_answer(frames):
    from roman_asn.generator.distributed import dask_client

    pool = Pool.from_frame(frames["small"], path="small.parquet")
    whole = generate(pool, RULES)
    with dask_client(workers=2) as client:
        parts = list(generate_by_cells(pool, RULES, unit_pairs=1_500, client=client))
    assert len(parts) > 4
    _same(whole, parts)
