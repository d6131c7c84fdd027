from pathlib import Path

import pytest
from generator_helpers import pool, row

from roman_asn.cli import main
from roman_asn.errors import RomanAsnError
from roman_asn.generator.explain import explain, find_rows
from roman_asn.generator.options import GenerateOptions
from roman_asn.rules.loader import load_rules

DATA = Path(__file__).parent / "data"
RULES = load_rules()


def test_explain_joined_and_not_joined():
    source = pool(
        [
            row(1, 1, 1, candidates="[('o001', 'observation')]"),
            row(1, 2, 1, exp_type="WFI_GRISM", optical_element="GRISM"),
        ]
    )
    (first,) = explain(source, RULES, GenerateOptions(), "#0")
    assert {j.rule for j in first.joined} == {"Asn_Lv2Image", "Asn_Lv2FOV", "Asn_Lv3Mosaic"}
    no_footprint = "rule skipped: the pool has no footprint or pointing columns"
    assert dict(first.not_joined) == {
        "Asn_Lv3GBTDSPass": "not a GBTDS row (category or subcategory GBTDS) "
        "(category GO, subcategory NONE)",
        "Asn_Lv3GBTDSFull": "not a GBTDS row (category or subcategory GBTDS) "
        "(category GO, subcategory NONE)",
        "Asn_Lv3SkyCellVisit": no_footprint,
        "Asn_Lv3SkyCellPass": no_footprint,
        "Asn_Lv3SkyCellFull": no_footprint,
        "Asn_Lv3SkyCellMultiband": "rule skipped: its source rules Asn_Lv3SkyCellVisit, "
        "Asn_Lv3SkyCellPass, Asn_Lv3SkyCellFull cannot run",
    }
    (grism,) = explain(
        source, RULES, GenerateOptions(), "r0000101001001001001_0002_wfi01_uncal.asdf"
    )
    assert [j.asn_type for j in grism.joined if j.rule == "Asn_Lv2Image"] == ["spec"]
    assert dict(grism.not_joined)["Asn_Lv3Mosaic"] == "not imaging (exp_type WFI_GRISM)"


def test_explain_says_which_group_and_why(tmp_path, capsys):
    """Each association a row joined comes with its group values, and each derived group
    value (the GBTDS sub-survey) with how the row's columns made it."""
    rows = [
        row(1, 1, 1, category="GBTDS", subcategory="A"),
        row(2, 1, 1, category="GBTDS", subcategory="B"),
        row(3, 1, 1, category="Survey", subcategory="GBTDS"),
        row(4, 1, 1, category="GBTDS", subcategory=None),
    ]
    source = pool(rows)
    told = {}
    for number in range(4):
        (story,) = explain(source, RULES, GenerateOptions(), f"#{number}")
        (passed,) = [j for j in story.joined if j.rule == "Asn_Lv3GBTDSPass"]
        assert passed.constraints.startswith("program=1, target=FIELD1, pass=1, optical_")
        mosaic = next(j for j in story.joined if j.rule == "Asn_Lv3Mosaic")
        assert mosaic.derived == []  # the mosaic derives no group value
        told[number] = (passed.product_name, passed.derived)
    assert told == {
        0: (
            "r00001_p_p001_field1_f158",
            ["gbtds_subcategory=a: subcategory A, in a GBTDS-category row (category GBTDS)"],
        ),
        1: (
            "r00001_p_p001_field1_f158-2",
            ["gbtds_subcategory=b: subcategory B, in a GBTDS-category row (category GBTDS)"],
        ),
        2: (
            "r00001_p_p001_field1_f158-3",
            [
                "gbtds_subcategory=gbtds: not a GBTDS-category row (category Survey); "
                "the rule's fill_missing value"
            ],
        ),
        3: (
            "r00001_p_p001_field1_f158-3",
            [
                "gbtds_subcategory=gbtds: subcategory empty, in a GBTDS-category row "
                "(category GBTDS); the rule's fill_missing value"
            ],
        ),
    }
    path = tmp_path / "gbtds.csv"
    lines = ["|".join(rows[0])] + ["|".join(v or "NULL" for v in r.values()) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    assert main(["explain", str(path), "#1"]) == 0
    out = capsys.readouterr().out
    assert "group: program=1, target=FIELD1, pass=1, optical_element=F158, " in out
    assert "gbtds_subcategory=b, asn_candidate=a3" in out
    assert "gbtds_subcategory=b: subcategory B, in a GBTDS-category row (category GBTDS)" in out


def test_explain_names_the_duplicate_that_won():
    source = pool([row(1, 1, 1)])
    (story,) = explain(source, RULES, GenerateOptions(), "#0")
    assert any(j.rule == "Asn_Lv3Mosaic" and j.asn_id == "o001" for j in story.joined)
    # the discovered twin of the o001 mosaic is named with the association that won
    ((rule, acid, product, why),) = story.dropped
    assert (rule, acid) == ("Asn_Lv3Mosaic", None)
    winner = next(j.file_name for j in story.joined if j.rule == "Asn_Lv3Mosaic")
    assert why == f"dropped as duplicate of {winner}"
    only_discovered = GenerateOptions.from_flags(discover=True)
    (story,) = explain(source, RULES, only_discovered, "#0")
    assert "Asn_Lv3Mosaic" in dict(story.not_joined)
    assert "not written" in dict(story.not_joined)["Asn_Lv3Mosaic"]


def test_explain_duplicate_file_names_give_every_row():
    from roman_asn.pool import read_pool

    source = read_pool(DATA / "pool_001_candidates.csv")
    stories = explain(
        source, RULES, GenerateOptions(), "r0099201005001001001_00101_0001_WFI_uncal.asdf"
    )
    assert [s.pool_row for s in stories] == [0, 3]
    assert stories[0].line == 2
    assert all(len(s.joined) == 18 + 1 + 3 for s in stories)


def test_find_rows_errors():
    source = pool([row(1, 1, 1)])
    with pytest.raises(RomanAsnError, match="row #5 is not in the pool"):
        find_rows(source, "#5")
    with pytest.raises(RomanAsnError, match="no row has file name"):
        find_rows(source, "nothing.asdf")
    for bad in ("#x", "#\u0663", "#-0", "#+0", "#0_0", "# 0"):  # \u0663: Arabic-Indic 3
        with pytest.raises(RomanAsnError, match="expected #N"):
            find_rows(source, bad)


def test_explain_cli(capsys):
    pool_path = str(DATA / "pool_002_wfi_image.csv")
    assert main(["explain", pool_path, "#1", "-i", "o001"]) == 0
    out = capsys.readouterr().out
    assert "joined no association (orphan)" in out
    assert "not in Asn_Lv2Image: not in the selected candidates (o001)" in out
    assert main(["explain", pool_path, "#1"]) == 0
    assert "r00992-o002_mosaic_001_asn.json" in capsys.readouterr().out
    assert main(["explain", pool_path, "#9"]) == 2
    assert "row #9 is not in the pool" in capsys.readouterr().err


def test_explain_refuses_the_names_generate_refuses(tmp_path, capsys):
    """explain used to say a row joined '../../x_asn.json', which generate refuses."""
    from roman_asn.cli import main

    rules = tmp_path / "slash.toml"
    rules.write_text(
        '[[rule]]\nname = "Slash"\nlevel = 2\ncandidates = "none"\ngroup_by = ["program"]\n'
        'asn_type = "image"\nasn_file_name = "product"\nproduct_name = "../r{program}"\n'
    )
    pool = Path(__file__).parents[1] / "src" / "roman_asn" / "data" / "demo_pool.csv"
    args = ["-r", str(rules), "--ignore-default"]
    assert main(["explain", str(pool), "#3", *args]) == 2
    explained = capsys.readouterr().err
    assert main(["generate", str(pool), "-o", str(tmp_path / "out"), *args]) == 2
    assert explained == capsys.readouterr().err


def test_a_row_without_a_file_name_is_explained_as_the_orphan_report_says(tmp_path):
    """It showed as 'None', each rule giving the reason its hook gives a file it cannot
    list (for a detector row: 'exposure-level row ...')."""
    from roman_asn.generator.engine import NAMELESS
    from roman_asn.pool import read_pool

    path = tmp_path / "pool.csv"
    path.write_text(
        "filename|program|exp_type|visit_id|detector|optical_element\n"
        "r0000101001001001001_0001_wfi01_uncal.asdf|1|WFI_IMAGE|0000101001001001001|WFI01|F158\n"
        "|1|WFI_IMAGE|0000101001001001001|WFI02|F158\n"
    )
    nameless = read_pool(path)
    for whole in (False, True):
        (story,) = explain(nameless, RULES, GenerateOptions(), "#1", whole=whole)
        assert story.filename == "(no file name)" and not story.joined
        assert {why for _, why in story.not_joined} == {NAMELESS}
