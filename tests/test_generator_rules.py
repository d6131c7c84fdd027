from pathlib import Path

import pytest

from roman_asn.rules.loader import RulesError, load_rules, parse_rules, read_rules_file

GOOD = """
[[rule]]
name = "My_Visit"
level = 3
asn_type = "visitmosaic"
candidates = "none"
group_by = ["visit_id", "OPT_ELEM"]
member_suffix = "cal"
product_name = "r{program:05d}_{drid}_v{visit_id!s}_{optical_element}"
[[rule.select]]
column = "exp_type"
values = ["WFI_IMAGE"]
"""

# GOOD grouping by a derived column too, and its [[rule.derive]] table
PART = GOOD.replace('"OPT_ELEM"]', '"OPT_ELEM", "part"]')
DERIVE = """[[rule.derive]]
name = "part"
column = "subcategory"
when = { column = "category", values = ["GBTDS"] }
"""


def test_default_rules_load():
    rules = load_rules()
    assert [r.name for r in rules] == [
        "Asn_Lv2Image",
        "Asn_Lv2FOV",
        "Asn_Lv3Mosaic",
        "Asn_Lv3GBTDSPass",
        "Asn_Lv3GBTDSFull",
        "Asn_Lv3SkyCellVisit",
        "Asn_Lv3SkyCellPass",
        "Asn_Lv3SkyCellFull",
        "Asn_Lv3SkyCellMultiband",
    ]
    gbtds = [r for r in rules if r.name.startswith("Asn_Lv3GBTDS")]
    for rule in gbtds:  # the sub-survey: subcategory where the category is GBTDS
        assert rule.keys[-1] == "gbtds_subcategory" and rule.derived_inputs == (
            "subcategory",
            "category",
        )
        assert rule.fill_missing == {"gbtds_subcategory": "gbtds"}
    assert rules[0].asn_type_map == {
        "WFI_IMAGE": "image",
        "WFI_SPECTRAL": "spec",
        "WFI_GRISM": "spec",
        "WFI_PRISM": "spec",
    }


def test_user_rules_add_and_replace(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD)
    rules = load_rules([path])
    assert rules[-1].name == "My_Visit"
    assert rules[-1].group_by == ("visit_id", "optical_element")  # legacy alias mapped
    only = load_rules([path], ignore_default=True)
    assert [r.name for r in only] == ["My_Visit"]
    replaced = path.with_name("replace.toml")
    replaced.write_text(GOOD.replace("My_Visit", "Asn_Lv3Mosaic"))
    rules = load_rules([replaced])
    assert len(rules) == 9
    assert next(r for r in rules if r.name == "Asn_Lv3Mosaic").asn_type == "visitmosaic"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[rule]\nname=1", "not valid TOML"),
        (GOOD.replace("level = 3", "level = 4"), "rule 'My_Visit': 'level' must be 2 or 3"),
        (GOOD.replace('candidates = "none"', 'candidate = "none"'), "unknown key(s) candidate"),
        (GOOD.replace("{optical_element}", "{target}"), "product_name uses {target}"),
        (
            GOOD.replace('"WFI_IMAGE"]', '"WFI_IMAGE"]\nvalue = 3'),
            "select #1 has unknown key(s) value",
        ),
        (GOOD.replace('candidates = "none"', 'candidates = "each"'), "must put {acid}"),
        (GOOD.replace('member_suffix = "cal"', 'expand = "nope"'), "unknown expand hook 'nope'"),
        ("format = 1\n", "no [[rule]] tables"),
        (
            GOOD.replace('member_suffix = "cal"', 'skycell_column = "skycell"'),
            "'skycell_column' must be one of the group_by columns",
        ),
        (
            GOOD.replace('member_suffix = "cal"', 'product_root = "r{target}"'),
            "product_root uses {target}",
        ),
        (GOOD + GOOD, "defined twice"),
        (
            GOOD.replace('member_suffix = "cal"', 'asn_id = "x1"'),
            "'asn_id' must be a candidate id",
        ),
        (
            GOOD.replace('member_suffix = "cal"', 'asn_id = "a3001"'),
            "a fixed 'asn_id' needs candidates = 'none' and asn_file_name = 'product'",
        ),
        (
            GOOD.replace('member_suffix = "cal"', "min_filters = 2"),
            "'min_filters' applies to a rule with 'source_rules'",
        ),
        (
            GOOD.replace('member_suffix = "cal"', "min_filters = 0"),
            "'min_filters' must be a whole number, 1 or more",
        ),
        (GOOD.replace('member_suffix = "cal"', "fixed_target = 1"), "'fixed_target' must be"),
        (GOOD.replace('member_suffix = "cal"', 'fixed_target = ""'), "'fixed_target' must be"),
        # a product name is a file name: a rule's fixed text may not make it escape
        (GOOD.replace('product_name = "', 'product_name = "../'), "names a file"),
        (GOOD.replace('product_name = "', 'product_name = ".'), "names a file"),
        (GOOD.replace('product_name = "r', 'product_name = "r\\\\'), "names a file"),
        (
            GOOD.replace('member_suffix = "cal"', 'product_root = "r/{visit_id}"'),
            "bad product_root template: names a file",
        ),
        # [[rule.derive]]: a group column made from another
        (GOOD.replace('member_suffix = "cal"', 'derive = "x"'), "'derive' must be a list"),
        (PART + DERIVE.replace('name = "part"\n', ""), "derive #1 needs 'name'"),
        (PART + DERIVE.replace('column = "subcategory"\n', ""), "derive #1 needs 'column'"),
        (PART + DERIVE + "values = 1\n", "derive #1 has unknown key(s) values"),
        (GOOD + DERIVE, "derive #1: 'part' is made to group by: put it in 'group_by'"),
        (PART + DERIVE.replace('"category", values', '"category", value'), "'when' has unknown"),
        (PART + DERIVE.replace(', values = ["GBTDS"]', ""), "derive #1: 'when' needs 'values'"),
        (PART + DERIVE.replace('column = "subcategory"', 'column = "part"'), "a new column"),
        (PART + DERIVE + DERIVE, "derive #2: 'part' is derived twice"),
    ],
)
def test_bad_rules_name_file_rule_and_key(text, expected):
    with pytest.raises(RulesError) as info:
        parse_rules(text, "bad.toml")
    assert expected in str(info.value)
    assert str(info.value).startswith("bad.toml")


def test_missing_rules_file(tmp_path: Path):
    with pytest.raises(RulesError, match="no such rules file"):
        read_rules_file(tmp_path / "none.toml")


def test_without_skycells_drops_sky_cell_rules_and_those_built_on_them():
    from roman_asn.rules.loader import load_rules, without_skycells

    names = [r.name for r in without_skycells(load_rules())]
    assert names == [
        "Asn_Lv2Image",
        "Asn_Lv2FOV",
        "Asn_Lv3Mosaic",
        "Asn_Lv3GBTDSPass",
        "Asn_Lv3GBTDSFull",
    ]


def test_no_skycells_flag(tmp_path):
    from importlib.resources import as_file, files

    from roman_asn.cli import main

    with as_file(files("roman_asn.data").joinpath("demo_pool.csv")) as pool:
        assert main(["generate", str(pool), "-o", str(tmp_path), "--no-skycells"]) == 0
    names = [p.name for p in tmp_path.glob("*_asn.json")]
    assert len(names) == 159
    assert all(n.startswith(("r00001-", "r00992-")) for n in names)


def test_an_expand_hook_registered_twice_is_refused():
    from roman_asn.rules.hooks import expanders, register_expander

    assert {"wfi_detectors", "skycells"} <= set(expanders())
    with pytest.raises(ValueError, match="'skycells' is already registered"):
        register_expander("skycells")(lambda frame: frame)
    assert expanders()["skycells"].label == "sky-cell rules"


def test_a_registered_hook_is_usable_by_rules_without_touching_the_engine():
    import polars as pl

    from roman_asn.generator.engine import generate
    from roman_asn.rules.hooks import register_expander

    @register_expander("test_twice", label="doubling rules")
    def twice(frame: pl.DataFrame) -> pl.DataFrame:
        files = pl.concat_list(pl.col("filename") + "_a", pl.col("filename") + "_b")
        return frame.with_columns(files.alias("file")).explode("file")

    text = GOOD.replace('member_suffix = "cal"', 'expand = "test_twice"').replace(
        '["visit_id", "OPT_ELEM"]', '["file"]'
    )
    rules = parse_rules(text.replace("_v{visit_id!s}_{optical_element}", "_{file_root!s}"))
    pool = pl.DataFrame({"filename": ["x.asdf"], "program": [1], "exp_type": ["WFI_IMAGE"]})
    result = generate(pool, rules)
    assert sorted(m for ms in result.associations["members"] for m in ms) == [
        "x.asdf_a",
        "x.asdf_b",
    ]


def test_hooks_of_installed_packages_are_loaded_from_entry_points(monkeypatch):
    import importlib.metadata

    from roman_asn.rules import hooks

    loaded = []

    class Entry:
        def load(self):
            loaded.append(True)
            hooks.register_expander("test_plugin_hook", label="plugin rules")(lambda f: f)

    def entry_points(group):
        return [Entry()] if group == hooks.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    monkeypatch.setattr(hooks, "_plugins_loaded", False)
    assert hooks.expanders()["test_plugin_hook"].label == "plugin rules"
    hooks.expanders()
    assert loaded == [True]  # once


def test_a_value_python_will_not_make_is_a_rules_error():
    """tomllib raises a plain ValueError for an integer past Python's 4,300 digits."""
    with pytest.raises(RulesError, match="not usable TOML") as caught:
        parse_rules("x = " + "9" * 5000, "big.toml")
    assert "big.toml" in str(caught.value)
