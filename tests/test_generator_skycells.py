"""Sky-cell and multiband rules in the generator, and the no-target mosaic."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from generator_helpers import pool, row
from hypothesis import given, settings
from hypothesis import strategies as st

from roman_asn.association import load_asn
from roman_asn.cli import main
from roman_asn.generator import skycell_rules
from roman_asn.generator.engine import GenerationResult, generate
from roman_asn.generator.explain import explain
from roman_asn.generator.options import GenerateOptions
from roman_asn.generator.writer import write_associations
from roman_asn.rules.loader import load_rules
from roman_asn.skycells import CellMatches, skycell_wcs_info
from roman_asn.validate import validate_file

RULES = load_rules()
CELL = "270p65x69y48"  # skycells.md: centre (269.6395821835357, 65.99501049470985)
CENTRE = (269.6395821835357, 65.99501049470985)
NO_COLUMNS = "sky-cell rules skipped: the pool has no footprint or pointing columns"


def corners(ra: float, dec: float, half: float = 0.005) -> dict[str, float]:
    """A small square footprint around (ra, dec), corners counter-clockwise."""
    dra = half / np.cos(np.radians(dec))
    points = [(ra - dra, dec - half), (ra + dra, dec - half), (ra + dra, dec + half)]
    points.append((ra - dra, dec + half))
    out = {}
    for k, (r, d) in enumerate(points, start=1):
        out[f"ra_corn{k}"], out[f"dec_corn{k}"] = r, d
    return out


def of(result: GenerationResult, rule: str) -> pl.DataFrame:
    return result.associations.filter(pl.col("rule") == rule).sort("product_name")


def sky_pool():
    here = corners(*CENTRE)
    return pool(
        [
            row(1, 1, 1, optical_element="F158", **here),
            row(1, 2, 1, optical_element="F087", **here),
            row(2, 1, 1, optical_element="F158", **here),
            row(3, 1, 1, exp_type="WFI_DARK", **here),
            row(4, 1, 1, **{k: None for k in here}),  # imaging without footprint
        ]
    )


def test_visit_pass_full_and_multiband_associations(tmp_path: Path):
    result = generate(sky_pool(), RULES)
    visit = of(result, "Asn_Lv3SkyCellVisit")
    assert visit["product_name"].to_list() == [
        f"r00001_p_v01001001001001_{CELL}_f087",
        f"r00001_p_v01001001001001_{CELL}_f158",
        f"r00001_p_v01001001001002_{CELL}_f158",
    ]
    assert visit["members"].to_list() == [
        ["r0000101001001001001_0002_wfi01_cal.asdf"],
        ["r0000101001001001001_0001_wfi01_cal.asdf"],
        ["r0000101001001001002_0001_wfi01_cal.asdf"],
    ]
    passes = of(result, "Asn_Lv3SkyCellPass")
    assert passes["product_name"].to_list() == [
        f"r00001_p_p01001_{CELL}_f087",
        f"r00001_p_p01001_{CELL}_f158",
    ]
    assert passes["members"].to_list()[1] == [
        "r0000101001001001001_0001_wfi01_cal.asdf",
        "r0000101001001001002_0001_wfi01_cal.asdf",
    ]
    full = of(result, "Asn_Lv3SkyCellFull")
    assert full["product_name"].to_list() == [
        f"r00001_p_full_{CELL}_f087",
        f"r00001_p_full_{CELL}_f158",
    ]
    # pass and full of f087 have the same members but are different products: both kept
    assert full["members"].to_list()[0] == passes["members"].to_list()[0]
    sky = pl.concat([visit, passes, full])
    assert set(sky["target"]) == {CELL} and set(sky["asn_type"]) == {"image"}
    assert (sky["file_name"] == sky["product_name"] + "_asn.json").all()
    multiband = of(result, "Asn_Lv3SkyCellMultiband")
    assert multiband["product_name"].to_list() == [
        f"r00001_p_full_{CELL}",
        f"r00001_p_p01001_{CELL}",
        f"r00001_p_v01001001001001_{CELL}",
    ]  # visit ...002 has one filter: nothing to combine, no multiband association
    unwritten = result.dropped.filter(pl.col("rule") == "Asn_Lv3SkyCellMultiband")
    assert unwritten["product_name"].to_list() == [f"r00001_p_v01001001001002_{CELL}"]
    assert unwritten["reason"].to_list() == ["fewer than 2 filters (rules key min_filters)"]
    assert multiband["members"].to_list()[0] == [
        f"r00001_p_full_{CELL}_f087_coadd.asdf",
        f"r00001_p_full_{CELL}_f158_coadd.asdf",
    ]
    assert set(multiband["asn_type"]) == {"multiband"}
    sky_and_multiband = pl.concat([visit, passes, full, multiband])
    assert set(sky_and_multiband["asn_id"]) == {"a3001"}  # as romancal writes them
    assert multiband["rows"].to_list()[0] == [0, 1, 2]

    paths = write_associations(result, tmp_path)
    by_name = {p.name: p for p in paths}
    written = by_name[f"r00001_p_full_{CELL}_f158_asn.json"]
    assert validate_file(written) == []
    data = json.loads(written.read_text())
    info = data["skycell_wcs_info"]
    assert info == skycell_wcs_info(CELL)
    assert info["ra_projection_center"] == 270.0
    assert info["dec_projection_center"] == 64.60237300651185
    assert (info["x0_projection"], info["y0_projection"]) == (12099.5, -88700.5)
    assert (info["ra_center"], info["dec_center"]) == CENTRE
    assert data["target"] == CELL and data["asn_rule"] == "Asn_Lv3SkyCellFull"
    for path in paths:  # every file is exactly what Association.dump() writes
        assert load_asn(path).dump() == path.read_text()
    dms = by_name[next(n for n in by_name if n.startswith("r00001-"))]
    assert json.loads(dms.read_text())["skycell_wcs_info"] == "none"


def test_min_filters_1_restores_single_filter_multiband(tmp_path: Path):
    rules_file = tmp_path / "one_filter.toml"
    multiband = next(r for r in RULES if r.name == "Asn_Lv3SkyCellMultiband")
    text = (Path(multiband.source)).read_text()
    block = text[text.index('name = "Asn_Lv3SkyCellMultiband"') :]
    rules_file.write_text("[[rule]]\n" + block.replace("min_filters = 2", "min_filters = 1"))
    rules = load_rules([rules_file])
    result = generate(sky_pool(), rules)
    names = of(result, "Asn_Lv3SkyCellMultiband")["product_name"].to_list()
    assert f"r00001_p_v01001001001002_{CELL}" in names and len(names) == 4


def test_reasons_for_sky_cell_rules():
    source = sky_pool()
    result = generate(source, RULES)
    (dark,) = result.orphans.filter(pl.col("pool_row") == 3)["reasons"].to_list()
    assert (
        "not imaging (exp_type WFI_DARK) [Asn_Lv3Mosaic, Asn_Lv3GBTDSPass, Asn_Lv3GBTDSFull, "
        "Asn_Lv3SkyCellVisit, Asn_Lv3SkyCellPass, Asn_Lv3SkyCellFull]"
    ) in dark
    assert any(r.startswith("groups the products of Asn_Lv3SkyCellVisit") for r in dark)
    (story,) = explain(source, RULES, GenerateOptions(), "#4")
    why = dict(story.not_joined)
    assert why["Asn_Lv3SkyCellVisit"] == skycell_rules.NO_FOOTPRINT
    assert why["Asn_Lv3SkyCellFull"] == skycell_rules.NO_FOOTPRINT
    assert why["Asn_Lv3SkyCellMultiband"].startswith("groups the products of")
    (joined,) = explain(source, RULES, GenerateOptions(), "#0")
    assert {j.rule for j in joined.joined} >= {
        "Asn_Lv3SkyCellVisit",
        "Asn_Lv3SkyCellPass",
        "Asn_Lv3SkyCellFull",
        "Asn_Lv3SkyCellMultiband",
    }


def test_footprint_touching_no_cell_is_reported(monkeypatch: pytest.MonkeyPatch):
    import roman_asn.skycells as skycells

    def nothing(ra, dec, skymap=None):
        return CellMatches(np.zeros(len(ra) + 1, dtype=np.int64), np.zeros(0, dtype=np.int64))

    monkeypatch.setattr(skycells, "match_footprints", nothing)
    (story,) = explain(sky_pool(), RULES, GenerateOptions(), "#0")
    assert dict(story.not_joined)["Asn_Lv3SkyCellVisit"] == skycell_rules.NO_CELL


def test_pools_without_footprints_skip_sky_cell_rules(tmp_path: Path, capsys):
    rows = [row(1, 1, 1), row(1, 1, 2)]
    source = pool(rows)
    result = generate(source, RULES)
    assert result.notes == [NO_COLUMNS]
    assert set(result.skipped_rules) >= {"Asn_Lv3SkyCellVisit", "Asn_Lv3SkyCellMultiband"}
    assert len(result.associations) > 0
    path = tmp_path / "pool.csv"
    pl.DataFrame(rows).write_csv(path)
    assert main(["generate", str(path), "-o", str(tmp_path / "out"), "--no-progress"]) == 0
    assert NO_COLUMNS in capsys.readouterr().out.replace("\n", " ")


def test_pointing_columns_give_footprints():
    from roman_asn.skycells import detector_footprints, match_footprints

    pointing = {"pointing_ra": "270.0", "pointing_dec": "66.0", "pointing_pa": "30.0"}
    source = pool([row(1, 1, 7, **pointing)])
    result = generate(source, RULES)
    cells = set(of(result, "Asn_Lv3SkyCellFull")["target"])
    ra, dec = detector_footprints(np.array([270.0]), np.array([66.0]), [30.0], [7])
    assert cells == set(match_footprints(ra, dec).to_lists()[0])
    assert cells and all(c.startswith("270p65") for c in cells)


def test_missing_target_groups_as_notarget():
    rows = [row(1, 1, d) for d in (1, 2)] + [row(2, 1, 1, optical_element="F087")]
    table = pool(rows).table.drop("target", "candidates")
    result = generate(table, RULES)
    mosaic = of(result, "Asn_Lv3Mosaic")
    names = [n.replace(i, "<id>") for n, i in zip(*mosaic["product_name", "asn_id"], strict=True)]
    assert names == ["r00001_p_<id>_notarget_f087", "r00001_p_<id>_notarget_f158"]
    assert all(i.startswith("a3") for i in mosaic["asn_id"])
    assert mosaic["members"].to_list()[1] == [
        "r0000101001001001001_0001_wfi01_cal.asdf",
        "r0000101001001001001_0001_wfi02_cal.asdf",
    ]
    assert result.orphans.height == 0
    blank = pool([row(1, 1, 1, target=" ")])
    assert of(generate(blank, RULES), "Asn_Lv3Mosaic")["product_name"].to_list() == [
        "r00001_p_o001_notarget_f158"
    ]


_DEMO = None


def _demo_table() -> pl.DataFrame:
    global _DEMO
    if _DEMO is None:
        from importlib.resources import files

        from roman_asn.pool import read_pool

        _DEMO = read_pool(str(files("roman_asn.data") / "demo_pool.csv")).table
    return _DEMO


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_expanding_only_rows_not_made_before_gives_the_same_frames(data):
    """The catalog hands a day's sky-cell matches to its second pass: taking those rows
    from them and expanding the others gives exactly the frames of expanding all, with
    or without rows given per rule."""
    from polars.testing import assert_frame_equal

    from roman_asn.generator.engine import prepare
    from roman_asn.pool.columns import ROW_COLUMN

    table = _demo_table()
    rows = st.sets(st.integers(0, table.height - 1))
    before = sorted(data.draw(rows, label="made before"))
    scoped = None
    if data.draw(st.booleans(), label="rows by rule"):
        wanted = pl.Series(sorted(data.draw(rows, label="given")), dtype=pl.UInt32)
        scoped = {r.name: wanted for r in RULES if not r.second_stage}
    part = prepare(
        table.filter(pl.col(ROW_COLUMN).is_in(before)),
        RULES,
        keep_made=True,
        require_runnable=False,
    )
    assert "skycells" in part.made
    whole = prepare(table, RULES, scoped)
    again = prepare(table, RULES, scoped, made_before=part.made)
    assert whole.frames.keys() == again.frames.keys()
    for hook, frame in whole.frames.items():
        assert_frame_equal(frame, again.frames[hook])


def test_an_exposure_level_row_is_no_sky_cell_member():
    """A whole exposure's row (detector WFI) names a file no Level 2 step makes: Level 2
    and the mosaic take its 18 detector files, and the sky-cell rules, which have no
    footprint of each detector, leave it out with the reason (whole and by cells)."""
    from roman_asn.generator.cell_units import generate_by_cells
    from roman_asn.generator.skycell_rules import EXPOSURE_LEVEL

    here = corners(*CENTRE)
    whole = row(1, 2, 1, **here)
    whole.update(filename=whole["filename"].replace("_wfi01_", "_wfi_"), detector="WFI")
    test_pool = pool([row(1, 1, 1, **here), whole])
    result = generate(test_pool, RULES)
    members = {
        rule: set(result.associations.filter(pl.col("rule") == rule)["members"].explode())
        for rule in result.associations["rule"].unique()
    }
    exposure_file = whole["filename"].replace("_uncal", "_cal")
    sky = [r for r in members if "SkyCell" in r]
    assert sky and all(exposure_file not in members[r] for r in sky)
    assert exposure_file.replace("_wfi_", "_wfi07_") in members["Asn_Lv3Mosaic"]
    by_cells = [p.associations for p in generate_by_cells(test_pool, RULES, unit_pairs=2)]
    assert exposure_file not in set(pl.concat(by_cells)["members"].explode())
    (story,) = explain(test_pool, RULES, GenerateOptions(), "#1")
    assert EXPOSURE_LEVEL in str(story)


def test_a_pointing_with_an_unknown_detector_says_which_detector():
    """A row with a whole pointing has no footprint when its detector is none of
    WFI01..WFI18: the reason names the value, not a missing pointing."""
    pointed = {"pointing_ra": CENTRE[0], "pointing_dec": CENTRE[1], "pointing_pa": 30.0}
    placed = row(1, 1, 1, **pointed)
    unknown = {**row(1, 1, 2, **pointed), "detector": "WFI99"}
    nameless = {**row(1, 1, 3, **pointed), "detector": None}
    test_pool = pool([placed, unknown, nameless])
    stories = [explain(test_pool, RULES, GenerateOptions(), f"#{n}")[0] for n in range(3)]
    whys = [dict(story.not_joined).get("Asn_Lv3SkyCellVisit") for story in stories]
    assert whys[0] is None  # placed by its pointing
    assert whys[1] == skycell_rules.NO_DETECTOR.format("'WFI99'")
    assert whys[2] == skycell_rules.NO_DETECTOR.format("null")
