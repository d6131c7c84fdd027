"""Synthetic pools: determinism, shape, types, candidates, round trips, the CLI."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roman_asn.cli import main
from roman_asn.pool import COLUMN_TYPES, read_pool, write_pool
from roman_asn.pool.columns import ROW_COLUMN
from roman_asn.synth import (
    GBTDS_FIELDS,
    IMAGING_FILTERS,
    N_DETECTORS,
    ROMANCAL_EXTRA_COLUMNS,
    footprints,
    synth_frame,
    synth_pool,
)

FILENAME = re.compile(r"^r(\d{19})_(\d{4})_wfi(\d{2})_uncal\.asdf$")
CANDIDATE_ID = re.compile(r"^(o\d{3}|c1\d{3})$")


def test_same_seed_same_bytes(tmp_path):
    for suffix in ("csv", "parquet", "ecsv"):
        first, second = tmp_path / f"a.{suffix}", tmp_path / f"b.{suffix}"
        write_pool(synth_pool(60, seed=7), first)
        write_pool(synth_pool(60, seed=7), second)
        assert first.read_bytes() == second.read_bytes(), suffix


def test_other_seed_other_pool():
    a = synth_frame(60, seed=1)
    b = synth_frame(60, seed=2)
    assert a.height == b.height
    assert not a.equals(b)


@pytest.mark.parametrize("survey", ["hlwas", "gbtds", "mixed"])
def test_rows_and_columns(survey):
    pool = synth_pool(120, seed=3, survey=survey)
    table = pool.table
    assert len(pool) == 120 * N_DETECTORS
    for name, dtype in COLUMN_TYPES.items():
        assert table.schema[name] == dtype, name
    assert table[ROW_COLUMN].to_list() == list(range(len(pool)))
    # every exposure has exactly its 18 detectors, in order
    exposures = table.with_columns(
        table["filename"].str.replace(r"_wfi\d{2}_", "_wfi_").alias("exposure_name")
    )
    per_exposure = exposures.group_by("exposure_name", maintain_order=True).agg("detector")
    assert per_exposure.height == 120
    expected = [f"WFI{d:02d}" for d in range(1, 19)]
    assert all(row == expected for row in per_exposure["detector"].to_list())


def test_file_names_match_metadata():
    table = synth_frame(200, seed=4)
    assert table["filename"].n_unique() == table.height
    for row in table.select("filename", "visit_id", "exposure", "detector").iter_rows():
        filename, visit_id, exposure, detector = row
        match = FILENAME.match(filename)
        assert match, filename
        assert match.group(1) == visit_id
        assert int(match.group(2)) == exposure
        assert f"WFI{match.group(3)}" == detector
    digits = table.select(
        pl.format(
            "{}{}{}{}{}{}",
            *(
                pl.col(c).cast(pl.Utf8).str.zfill(w)
                for c, w in (
                    ("program", 5),
                    ("execution_plan", 2),
                    ("pass", 3),
                    ("segment", 3),
                    ("observation", 3),
                    ("visit", 3),
                )
            ),
        )
    ).to_series()
    assert (digits == table["visit_id"]).all()


def test_candidates_well_formed():
    table = synth_frame(300, seed=5)
    kinds = set()
    for observation, candidates in table.select("observation", "candidates").iter_rows():
        assert candidates, "every row belongs to its observation candidate"
        first = candidates[0]
        assert first == {"id": f"o{observation:03d}", "type": "observation"}
        for candidate in candidates:
            assert CANDIDATE_ID.match(candidate["id"]), candidate
            kinds.add(candidate["type"])
        assert len({c["id"] for c in candidates}) == len(candidates)
    assert kinds == {"observation", "mosaic", "group"}


def test_content_is_realistic():
    table = synth_frame(5000, seed=6)
    imaging = table.filter(pl.col("exp_type") == "WFI_IMAGE")
    assert set(imaging["optical_element"].unique()) == set(IMAGING_FILTERS)
    assert {"WFI_GRISM", "WFI_PRISM", "WFI_DARK", "WFI_FLAT"} <= set(table["exp_type"].unique())
    assert set(table["category"].unique()) == {"HLWAS", "GBTDS", "CAL"}
    assert 0 < table["exposerr"].is_not_null().sum() < table.height // 100
    gbtds = table.filter(pl.col("category") == "GBTDS")
    assert gbtds["pointing_ra"].is_between(267.5, 270.5).all()
    assert gbtds["pointing_dec"].is_between(-30.5, -28.5).all()
    assert gbtds["pass"].max() > 50  # the bulge fields are revisited many times
    assert gbtds["target"].n_unique() == len(GBTDS_FIELDS)
    hlwas = table.filter(pl.col("category") == "HLWAS")
    assert hlwas["pointing_dec"].is_between(-65, -20).all()
    calibration = table.filter(pl.col("category") == "CAL")
    assert calibration["ra_corn1"].is_null().all()
    assert table["start_time"].is_sorted()


def test_footprints_are_detector_sized_and_centred():
    ra, dec = footprints(np.array([10.0, 269.0]), np.array([-40.0, -29.5]), np.array([0.0, 77.0]))
    assert ra.shape == dec.shape == (2, 18, 4)
    # side of one detector, measured on the sky (deg)
    cos_dec = np.cos(np.radians(dec[:, :, 0]))
    side = np.hypot((ra[:, :, 1] - ra[:, :, 0]) * cos_dec, dec[:, :, 1] - dec[:, :, 0])
    assert np.allclose(side, 0.125, rtol=0.01)
    # the 18 detectors surround the pointing
    centre_ra = ra.mean(axis=(1, 2))
    centre_dec = dec.mean(axis=(1, 2))
    assert np.allclose(centre_ra, [10.0, 269.0], atol=0.05)
    assert np.allclose(centre_dec, [-40.0, -29.5], atol=0.05)


@pytest.mark.parametrize("suffix", ["csv", "parquet", "ecsv"])
def test_round_trip_through_read_pool(tmp_path, suffix):
    pool = synth_pool(40, seed=8)
    path = write_pool(pool, tmp_path / f"pool.{suffix}")
    back = read_pool(path)
    assert back.columns == pool.columns
    assert back.table.drop(ROW_COLUMN).equals(pool.table.drop(ROW_COLUMN))


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_legacy_names_round_trip(tmp_path, suffix):
    pool = synth_pool(25, seed=9, romancal_columns=True)
    path = write_pool(pool, tmp_path / f"legacy.{suffix}", names="legacy")
    if suffix == "csv":
        header = path.read_text().splitlines()[0].split("|")
        for legacy in ("FILENAME", "EX_PLAN", "SEQUENCE", "OBS_NUM", "EXPCOUNT", "OPT_ELEM"):
            assert legacy in header
        for legacy in ("INSTRUME", "TARGNAME", "ASN_CANDIDATE", "CAT", "SUBCAT", "TILE"):
            assert legacy in header
    back = read_pool(path)
    assert set(ROMANCAL_EXTRA_COLUMNS) <= set(back.columns)
    assert back.table.select(list(COLUMN_TYPES)).equals(pool.table.select(list(COLUMN_TYPES)))


@settings(max_examples=25, deadline=None)
@given(
    exposures=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
    survey=st.sampled_from(["hlwas", "gbtds", "mixed"]),
)
def test_any_small_pool_is_consistent(exposures, seed, survey):
    table = synth_frame(exposures, seed=seed, survey=survey)
    assert table.height == exposures * N_DETECTORS
    assert table["filename"].n_unique() == table.height
    assert table.select(pl.col("filename").str.contains(FILENAME.pattern).all()).item()
    assert table["visit_id"].str.len_chars().eq(19).all()
    for name in ("program", "pass", "segment", "observation", "visit", "exposure"):
        assert table[name].min() >= 1
    assert table["pass"].max() <= 999 and table["observation"].max() <= 999
    assert table["candidates"].list.len().min() >= 1
    assert table.equals(synth_frame(exposures, seed=seed, survey=survey))


def test_cli_writes_the_pool(tmp_path, capsys):
    out = tmp_path / "synth.parquet"
    status = main(
        ["synth-pool", "-o", str(out), "--exposures", "30", "--seed", "2", "--survey", "gbtds"]
    )
    assert status == 0
    pool = read_pool(out)
    assert len(pool) == 30 * N_DETECTORS
    assert set(pool.table["category"].unique()) == {"GBTDS"}
    assert "540 rows" in capsys.readouterr().err


def test_cli_rejects_bad_input(tmp_path, capsys):
    assert main(["synth-pool", "-o", str(tmp_path / "x.csv"), "--exposures", "0"]) == 2
    assert "exposures" in capsys.readouterr().err
    assert (
        main(["synth-pool", "-o", str(tmp_path / "x.csv"), "--exposures", "3", "--survey", "moon"])
        == 2
    )
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.slow
def test_ten_million_rows_generate():
    table = synth_frame(555_556, seed=0)
    assert table.height == 555_556 * N_DETECTORS
    assert table["filename"].n_unique() == table.height


def test_an_impossible_number_of_exposures_is_refused(tmp_path, capsys):
    out = tmp_path / "pool.csv"
    assert main(["synth-pool", "-o", str(out), "--exposures", "9" * 23]) == 2
    assert "--exposures" in capsys.readouterr().err and not out.exists()
