import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from generator_helpers import pool, row
from hypothesis import given, settings
from hypothesis import strategies as st

from roman_asn.association import DEGRADED, NO_DEGRADED, load_asn
from roman_asn.errors import RomanAsnError
from roman_asn.generator.engine import GenerationResult, generate, prepare, rule_reasons
from roman_asn.generator.options import GenerateOptions
from roman_asn.generator.writer import render_texts, write_associations
from roman_asn.pool import Pool, read_pool
from roman_asn.pool.columns import ROW_COLUMN
from roman_asn.rules.loader import load_rules, parse_rules
from roman_asn.validate import validate_file

DATA = Path(__file__).parent / "data"
RULES = load_rules()


def by_file(result: GenerationResult) -> dict[str, list[str]]:
    return dict(
        zip(
            result.associations["file_name"].to_list(),
            result.associations["members"].to_list(),
            strict=True,
        )
    )


def of(result: GenerationResult, rule: str) -> pl.DataFrame:
    return result.associations.filter(pl.col("rule") == rule)


def det_files(stem: str, suffix: str) -> list[str]:
    """The 18 detector files of an old-style exposure stem ending in ``_WFI``."""
    return [f"{stem}{d:02d}_{suffix}.asdf" for d in range(1, 19)]


def test_pool_001_memberships():
    result = generate(read_pool(DATA / "pool_001_candidates.csv"), RULES)
    files = by_file(result)
    exposures = [f"r0099201005001001001_00101_{e:04d}_WFI" for e in (1, 2, 3)]
    assert len(files) == 60
    # Level 2 image: one per detector file (the duplicated rows of obs 2 add nothing)
    images = of(result, "Asn_Lv2Image")
    assert sorted(m for ms in images["members"] for m in ms) == sorted(
        f for e in exposures for f in det_files(e, "uncal")
    )
    assert set(images["asn_id"]) == {"o001"}
    assert images["file_name"].to_list() == [
        f"r00992-o001_image_{n:03d}_asn.json" for n in range(1, 55)
    ]
    # FOV: one per exposure, its 18 detector files
    for n, exposure in enumerate(exposures, start=1):
        assert files[f"r00992-o001_fov_{n:03d}_asn.json"] == det_files(exposure, "uncal")
    cal = sorted(f for e in exposures for f in det_files(e, "cal"))
    assert files["r00992-o001_mosaic_001_asn.json"] == cal
    assert files["r00992-a3001_full_001_asn.json"] == cal
    assert files["r00992-a3002_pass_001_asn.json"] == cal
    # the discovered mosaic is identical to o001's, so it is dropped, not lost
    assert result.dropped["reason"].to_list() == [
        "dropped as duplicate of r00992-o001_mosaic_001_asn.json"
    ]
    assert result.orphans.height == 0


def test_pool_002_memberships():
    result = generate(read_pool(DATA / "pool_002_wfi_image.csv"), RULES)
    files = by_file(result)
    one = det_files("r0099201005001001001_00101_0001_WFI", "cal")
    two = det_files("r0099201005001001001_00101_0002_WFI", "cal")
    assert files["r00992-o001_mosaic_001_asn.json"] == one
    assert files["r00992-o002_mosaic_001_asn.json"] == two
    assert files["r00992-a3003_mosaic_001_asn.json"] == sorted(one + two)
    assert len(of(result, "Asn_Lv2Image")) == 36
    assert len(of(result, "Asn_Lv2FOV")) == 2
    assert len(files) == 43


def test_fov_keeps_two_exposures_of_one_number_apart(tmp_path: Path):
    """Old names number exposures per visit file group (00101, 00201): two exposure
    files of one visit may both be exposure 1, and each is its own FOV of 18 files."""
    header = "FILENAME|PROGRAM|VISIT_ID|EXPCOUNT|DETECTOR|EXP_TYPE|OPT_ELEM|TARGNAME|ASN_CANDIDATE"
    line = (
        "r0099201005001001001_{group}_0001_WFI_uncal.asdf|992|0099201005001001001|1|WFI"
        "|WFI_IMAGE|F158|GBTDS|[('o001'),('OBSERVATION')]"
    )
    path = tmp_path / "r00992_20260101t000000_pool.csv"
    path.write_text("\n".join([header, line.format(group="00101"), line.format(group="00201")]))
    out = tmp_path / "out"
    write_associations(generate(read_pool(path), RULES), out)
    fovs = {load_asn(f).products[0].name: load_asn(f) for f in out.glob("*_fov_*_asn.json")}
    assert sorted(fovs) == ["r0099201005001001001_0001_fov", "r0099201005001001001_0001_fov-2"]
    for name, group in zip(sorted(fovs), ("00101", "00201"), strict=True):
        members = [m.expname for m in fovs[name].products[0].members]
        assert members == det_files(f"r0099201005001001001_{group}_0001_WFI", "uncal")
    # both still join the one mosaic of their candidate, target and filter
    mosaic = load_asn(out / "r00992-o001_mosaic_001_asn.json")
    assert len(mosaic.products[0].members) == 36
    # new names, and a name without a detector token, still group by visit and exposure
    rows = [row(1, 1, d) for d in (1, 2)] + [
        dict(row(1, 2, 1), filename="a_uncal.asdf"),
        dict(row(1, 2, 2), filename="b_uncal.asdf"),
    ]
    fov = of(generate(pool(rows), RULES), "Asn_Lv2FOV").sort("product_name")
    assert fov["members"].to_list() == [
        [f"r0000101001001001001_0001_wfi{d:02d}_uncal.asdf" for d in (1, 2)],
        ["a_uncal.asdf", "b_uncal.asdf"],
    ]


def test_level2_types_and_non_science_orphans():
    rows = [
        row(1, 1, 1),
        row(1, 2, 1, exp_type="WFI_GRISM", optical_element="GRISM"),
        row(1, 3, 1, exp_type="wfi_prism", optical_element="PRISM"),
        row(1, 4, 1, exp_type="WFI_DARK", optical_element="DARK"),
        # the spectroscopic type of current data models (RAD 1.1 on)
        row(1, 5, 1, exp_type="WFI_SPECTRAL", optical_element="GRISM"),
    ]
    result = generate(pool(rows), RULES)
    images = of(result, "Asn_Lv2Image").sort("product_name")
    assert images["asn_type"].to_list() == ["image", "spec", "spec", "spec"]
    assert images["product_name"].to_list() == [
        "r0000101001001001001_0001_wfi01",
        "r0000101001001001001_0002_wfi01",
        "r0000101001001001001_0003_wfi01",
        "r0000101001001001001_0005_wfi01",
    ]
    assert of(result, "Asn_Lv2FOV").height == 4
    assert of(result, "Asn_Lv3Mosaic")["members"].to_list() == [
        ["r0000101001001001001_0001_wfi01_cal.asdf"]
    ]
    # romancal reads any other Level 3 target as a sky cell name (its resample fails)
    assert set(of(result, "Asn_Lv3Mosaic")["target"]) == {"None"}
    assert set(of(result, "Asn_Lv2Image")["target"]) == {"FIELD1"}
    assert result.orphans["pool_row"].to_list() == [3]
    reasons = result.orphans["reasons"][0].to_list()
    assert reasons[0] == "not a science type (exp_type WFI_DARK) [Asn_Lv2Image, Asn_Lv2FOV]"
    assert reasons[1].startswith("not imaging (exp_type WFI_DARK) [Asn_Lv3Mosaic")


def test_fov_gathers_detector_rows_even_when_incomplete():
    rows = [row(1, 1, d) for d in (3, 1, 2)] + [row(1, 2, 5)]
    result = generate(pool(rows), RULES)
    fov = of(result, "Asn_Lv2FOV").sort("product_name")
    assert fov["product_name"].to_list() == [
        "r0000101001001001001_0001_fov",
        "r0000101001001001001_0002_fov",
    ]
    assert fov["members"][0].to_list() == [
        f"r0000101001001001001_0001_wfi{d:02d}_uncal.asdf" for d in (1, 2, 3)
    ]


def test_exposure_level_rows_keep_the_name_case():
    new = row(1, 1, 1)
    new.update(filename="r0000101001001001001_0001_wfi_uncal.asdf", detector="WFI")
    result = generate(pool([new]), RULES)
    fov = of(result, "Asn_Lv2FOV")["members"][0].to_list()
    assert fov == [f"r0000101001001001001_0001_wfi{d:02d}_uncal.asdf" for d in range(1, 19)]
    broken = dict(new, filename="r0000101001001001001_0001_uncal.asdf")
    result = generate(pool([broken]), RULES)
    assert "no _WFI_ token" in result.orphans["reasons"][0][0]


def test_gbtds_pass_and_full():
    rows = [
        row(1, 1, 1, category="SURVEY", subcategory="gbtds", **{"pass": 1}),
        row(2, 1, 1, category="gbtds", subcategory=None, **{"pass": 2}),
        row(3, 1, 1, **{"pass": 1}),  # not GBTDS
    ]
    result = generate(pool(rows), RULES)
    passes = of(result, "Asn_Lv3GBTDSPass").sort("product_name")
    assert passes["product_name"].to_list() == [
        "r00001_p_p001_field1_f158",
        "r00001_p_p002_field1_f158",
    ]
    assert [len(m) for m in passes["members"]] == [1, 1]
    full = of(result, "Asn_Lv3GBTDSFull")
    assert full["members"].to_list() == [
        [
            "r0000101001001001001_0001_wfi01_cal.asdf",
            "r0000101001001001002_0001_wfi01_cal.asdf",
        ]
    ]
    assert full["asn_id"][0].startswith("a3")


def test_gbtds_sub_surveys_are_apart():
    """A row whose category is GBTDS groups by its subcategory too (any case): GBTDS/A
    and GBTDS/B of one target, pass and filter are two associations of each GBTDS rule,
    the second product named with -2 whatever the row order. A row GBTDS by its
    subcategory alone (Survey/GBTDS), one with no subcategory and GBTDS/GBTDS meet."""
    rows = [
        row(1, 1, 1, category="GBTDS", subcategory="A"),
        row(2, 1, 1, category="GBTDS", subcategory="B"),
        row(3, 1, 1, category="gbtds", subcategory=" a "),  # meets GBTDS/A
        row(4, 1, 1, category="Survey", subcategory="GBTDS"),
        row(5, 1, 1, category="GBTDS", subcategory=None),
        row(6, 1, 1, category="GBTDS", subcategory="gbtds"),
    ]
    cal = [f"r00001010010010010{v:02d}_0001_wfi01_cal.asdf" for v in range(1, 7)]
    expected = {
        "r00001_p_p001_field1_f158": [cal[0], cal[2]],
        "r00001_p_p001_field1_f158-2": [cal[1]],
        "r00001_p_p001_field1_f158-3": cal[3:],
    }

    def products(result: GenerationResult, rule: str) -> dict[str, list[str]]:
        frame = of(result, rule)
        return dict(zip(frame["product_name"], frame["members"].to_list(), strict=True))

    first = generate(pool(rows), RULES)
    assert products(first, "Asn_Lv3GBTDSPass") == expected
    full = {k.replace("_p001_", "_full_"): v for k, v in expected.items()}
    assert products(first, "Asn_Lv3GBTDSFull") == full
    values = of(first, "Asn_Lv3GBTDSPass").sort("product_name")["constraints"].to_list()
    assert [v.split("gbtds_subcategory=")[1].split(",")[0] for v in values] == ["a", "b", "gbtds"]
    files = sorted(first.associations["file_name"])
    for seed in range(5):  # names, ids and files do not depend on the row order
        shuffled = pool(list(np.random.default_rng(seed).permutation(rows)))
        again = generate(shuffled, RULES)
        assert products(again, "Asn_Lv3GBTDSPass") == expected
        assert sorted(again.associations["file_name"]) == files
    # a pool without a category column: every GBTDS row is GBTDS by its subcategory
    no_category = pool([row(v, 1, 1, subcategory=s) for v, s in ((1, "GBTDS"), (2, "gbtds"))])
    no_category = Pool.from_frame(no_category.table.drop("category", ROW_COLUMN))
    assert [len(m) for m in of(generate(no_category, RULES), "Asn_Lv3GBTDSFull")["members"]] == [2]


def candidate_pool() -> Pool:
    return pool(
        [
            row(1, 1, 1, candidates="[('o001', 'observation'), ('c1000', 'mosaic')]"),
            row(2, 1, 1, candidates="[('o002', 'observation'), ('c1000', 'mosaic')]"),
            row(3, 1, 1, candidates="[('o003', 'observation')]", target="OTHER"),
            row(4, 1, 1, candidates="[]", target="OTHER"),
        ]
    )


def mosaics(result: GenerationResult) -> dict[str, int]:
    frame = of(result, "Asn_Lv3Mosaic")
    return dict(zip(frame["asn_id"].to_list(), frame["members"].list.len().to_list(), strict=True))


def test_candidate_modes():
    source = candidate_pool()
    both = generate(source, RULES)
    # o001, o002: one row each; c1000 both; the discovered FIELD1 group equals c1000
    # (dropped), the discovered OTHER group (rows 3, 4) differs from o003 (kept)
    assert mosaics(both) == {"o001": 1, "o002": 1, "c1000": 2, "o003": 1, "a3003": 2}
    only_candidates = generate(source, RULES, GenerateOptions.from_flags(all_candidates=True))
    assert mosaics(only_candidates) == {"o001": 1, "o002": 1, "c1000": 2, "o003": 1}
    assert only_candidates.orphans.height == 0  # row 4 still has its Level 2 products
    only_discovered = generate(source, RULES, GenerateOptions.from_flags(discover=True))
    assert mosaics(only_discovered) == {"a3003": 2}
    unwritten = only_discovered.dropped.filter(pl.col("rule") == "Asn_Lv3Mosaic")
    assert "not written" in unwritten["reason"].to_list()[0]


def test_level2_ids_and_discovered_ids():
    result = generate(candidate_pool(), RULES)
    images = of(result, "Asn_Lv2Image").sort("product_name")
    assert images["asn_id"].to_list() == ["o001", "o002", "o003", "a3002"]
    assert images["file_name"][3] == "r00001-a3002_image_001_asn.json"


def test_selected_ids_order_independent():
    source = candidate_pool()
    one = generate(source, RULES, GenerateOptions.from_flags(ids=["c1000", "o003"]))
    two = generate(source, RULES, GenerateOptions.from_flags(ids=["o003", "c1000", "o003"]))
    assert dict(render_texts(one)) == dict(render_texts(two))
    assert mosaics(one) == {"c1000": 2, "o003": 1}
    # -i restricts every rule to rows of a selected candidate; Level 2 ids stay o-ids
    assert sorted(of(one, "Asn_Lv2Image")["asn_id"]) == ["o001", "o002", "o003"]
    assert one.orphans["pool_row"].to_list() == [3]
    assert "not in the selected candidates (c1000, o003)" in one.orphans["reasons"][0][0]


def test_identical_candidate_associations_keep_o_over_c():
    rows = [row(1, 1, 1, candidates="[('c1000', 'group'), ('o001', 'observation')]")]
    result = generate(pool(rows), RULES)
    assert mosaics(result) == {"o001": 1}
    reasons = result.dropped.filter(pl.col("rule") == "Asn_Lv3Mosaic")["reason"].to_list()
    assert reasons == ["dropped as duplicate of r00001-o001_mosaic_001_asn.json"] * 2


def test_exposerr_and_degraded_status(tmp_path: Path):
    rows = [row(1, 1, 1, exposerr="GUIDE_FAILURE"), row(1, 1, 2)]
    result = generate(pool(rows), RULES)
    write_associations(result, tmp_path)
    mosaic = load_asn(tmp_path / "r00001-o001_mosaic_001_asn.json")
    assert mosaic.degraded_status == DEGRADED
    assert [m.exposerr for m in mosaic.members] == ["GUIDE_FAILURE", None]
    clean = load_asn(tmp_path / "r00001-o001_image_002_asn.json")
    assert clean.degraded_status == NO_DEGRADED


def test_no_data_loss_when_product_names_would_collide():
    # romancal made 2 associations of 24 rows in 12 groups; every group must survive
    rows = [
        row(v, e, 1, target=target, optical_element=f)
        for v, (target, f) in enumerate(
            [(t, f) for t in ("A", "B", "C") for f in ("F062", "F087", "F106", "F158")], start=1
        )
        for e in (1, 2)
    ]
    result = generate(pool(rows), RULES)
    assert len(of(result, "Asn_Lv3Mosaic")) == 12 + 0  # o001 only; discovered are identical
    assert result.associations["product_name"].n_unique() == result.associations.height
    assert len(of(result, "Asn_Lv2Image")) == 24


def test_sanitized_names_that_clash_are_told_apart():
    rows = [row(1, 1, 1, target="NGC 3603"), row(2, 1, 1, target="ngc-3603")]
    result = generate(pool(rows), RULES)
    names = sorted(of(result, "Asn_Lv3Mosaic")["product_name"])
    assert names == ["r00001_p_o001_ngc-3603_f158", "r00001_p_o001_ngc-3603_f158-2"]
    assert result.associations["file_name"].n_unique() == result.associations.height


def test_missing_values_and_columns():
    source = pool([row(1, 1, 1, target=None)])
    result = generate(source, RULES)
    # the mosaic rule groups a missing target as 'notarget' (fill_missing)
    assert of(result, "Asn_Lv3Mosaic")["product_name"].to_list() == ["r00001_p_o001_notarget_f158"]
    assert len(of(result, "Asn_Lv2Image")) == 1
    strict = parse_rules(
        '[[rule]]\nname = "Strict"\nlevel = 3\ncandidates = "none"\n'
        'group_by = ["target"]\nasn_type = "mosaic"\nproduct_name = "{target}"\n'
    )
    reasons = rule_reasons(prepare(source.table, strict), GenerateOptions(), pl.Series([[0]]))
    assert reasons["reason"].to_list() == ["missing required value in column target"]
    bare = Pool.from_frame(pl.DataFrame({"filename": ["a_uncal.asdf"], "exp_type": ["WFI_IMAGE"]}))
    with pytest.raises(RomanAsnError, match="no rule can run on this pool"):
        generate(bare, RULES)
    no_category = pool([row(1, 1, 1)]).table.drop("category", "subcategory")
    result = generate(Pool.from_frame(no_category), RULES)
    assert result.skipped_rules["Asn_Lv3GBTDSPass"] == (
        "rule skipped: the pool has no columns category, subcategory"
    )


def test_partitions_by_program_give_the_same_files():
    rows = [row(1, 1, 1, program=p, candidates="[]") for p in (1, 2, 3)]
    rows += [row(2, 1, 1, program=p) for p in (1, 3)]
    source = pool(rows)
    whole = generate(source, RULES)
    parts = [
        generate(
            source.table.filter(pl.col("program") == p),
            RULES,
            GenerateOptions(asn_pool=source.name),
        )
        for p in (1, 2, 3)
    ]
    joined = GenerationResult.concat(parts)
    assert dict(render_texts(whole)) == dict(render_texts(joined))


def test_written_files_validate_and_load(tmp_path: Path):
    result = generate(
        candidate_pool(), RULES, GenerateOptions(version_id="v1", data_release_id="dr01")
    )
    paths = write_associations(result, tmp_path, workers=1)
    assert len(paths) == result.associations.height
    for path in paths:
        assert validate_file(path) == []
        asn = load_asn(path)
        assert asn.version_id == "v1" and asn.data_release_id == "dr01"
        assert json.loads(path.read_text())["program"] == "00001"
        assert "_v1_" in path.name
    assert not list(tmp_path.glob(".*"))  # no temporary files left


SHUFFLE_ROWS = [
    row(v, e, d, candidates=c, target=t)
    for v, c, t in [
        (1, "[('o001', 'observation'), ('c1000', 'mosaic')]", "A"),
        (2, "[('o002', 'observation')]", "A"),
        (3, "[]", "B"),
    ]
    for e in (1, 2)
    for d in (1, 2)
]


@settings(max_examples=15, deadline=None)
@given(st.permutations(range(len(SHUFFLE_ROWS))))
def test_row_order_does_not_change_files(order):
    reference = dict(render_texts(generate(pool(SHUFFLE_ROWS), RULES)))
    shuffled = generate(pool([SHUFFLE_ROWS[i] for i in order]), RULES)
    # same names, same bytes (pool_row differs, but it is not written)
    assert dict(render_texts(shuffled)) == reference


SECOND_STAGE = """
[[rule]]
name = "Per_Filter"
level = 3
asn_type = "filter"
candidates = "none"
group_by = ["target", "optical_element"]
member_suffix = "cal"
product_name = "r{program:05d}_{drid}_{target}_{optical_element}"
product_root = "r{program:05d}_{drid}_{target}"
target_column = "optical_element"

[[rule]]
name = "Across_Filters"
level = 3
asn_type = "coadds"
source_rules = ["Per_Filter"]
candidates = "none"
group_by = ["product_root", "target"]
member_suffix = "coadd"
product_name = "{product_root!s}_all"
target_column = "target"
asn_file_name = "product"
"""


def test_a_second_stage_rule_groups_products_by_their_own_columns():
    """Any rule can feed a second stage: the products carry their rule's group
    columns and product_root (nothing in the engine is specific to multiband)."""
    rows = [
        row(1, 1, target="A", optical_element="F158"),
        row(1, 2, target="A", optical_element="F062"),
        row(2, 1, target="B", optical_element="F158"),
        row(2, 2, exp_type="WFI_DARK", target="B", optical_element="F213"),
    ]
    result = generate(pool(rows), parse_rules(SECOND_STAGE))
    per_filter = of(result, "Per_Filter").sort("product_name")
    assert per_filter["product_name"].to_list() == [
        "r00001_p_a_f062",
        "r00001_p_a_f158",
        "r00001_p_b_f158",
        "r00001_p_b_f213",
    ]
    assert per_filter["target"].to_list() == ["F062", "F158", "F158", "F213"]  # target_column
    assert per_filter["skycell"].to_list() == [None] * 4
    across = of(result, "Across_Filters").sort("product_name")
    assert across["file_name"].to_list() == ["r00001_p_a_all_asn.json", "r00001_p_b_all_asn.json"]
    assert across["members"].to_list() == [
        ["r00001_p_a_f062_coadd.asdf", "r00001_p_a_f158_coadd.asdf"],
        ["r00001_p_b_f158_coadd.asdf", "r00001_p_b_f213_coadd.asdf"],
    ]
    assert across["target"].to_list() == ["A", "B"]  # a source rule's group column
    assert across["rows"].to_list() == [[0, 1], [2, 3]]


def test_a_second_stage_rule_whose_sources_lack_its_columns_is_skipped():
    text = SECOND_STAGE.replace('["product_root", "target"]', '["product_root", "skycell"]')
    result = generate(pool([row(1, 1)]), parse_rules(text))
    assert result.skipped_rules == {
        "Across_Filters": "rule skipped: source rule Per_Filter has no skycell"
    }
    text = SECOND_STAGE.replace('product_root = "r{program:05d}_{drid}_{target}"', "")
    result = generate(pool([row(1, 1)]), parse_rules(text))
    assert result.skipped_rules == {
        "Across_Filters": "rule skipped: source rule Per_Filter has no product_root"
    }


def test_two_files_making_one_member_do_not_depend_on_row_order():
    """``x_uncal`` and ``x_rate`` both give member ``x_cal``: which exposure error the
    member keeps follows the file names, never the order of the pool's rows."""
    first = row(visit=1, exposure=1, detector=1, exposerr="ONE")
    second = row(visit=1, exposure=1, detector=1, exposerr="TWO")
    second["filename"] = second["filename"].replace("_uncal", "_rate")
    made = [
        generate(pool(rows), load_rules()).associations.drop("rows").sort("file_name")
        for rows in ([first, second], [second, first])
    ]
    assert made[0].equals(made[1])
    mosaic = made[0].filter(pl.col("asn_type") == "mosaic")
    assert mosaic["exposerr"].to_list() == [["TWO"]]  # from x_rate, first by name
