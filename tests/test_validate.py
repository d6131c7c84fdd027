import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roman_asn.cli import main
from roman_asn.generator.naming import ACID_PLACEHOLDER, unsafe_product_name
from roman_asn.validate import validate_dict, validate_file

DATA = Path(__file__).parent / "data"


def good() -> dict:
    return json.loads((DATA / "L3_mosaic_wcs_info_asn.json").read_text())


@pytest.mark.parametrize("path", sorted(DATA.glob("*.json")), ids=lambda p: p.name)
def test_romancal_samples_are_valid(path):
    assert validate_file(path) == []


def test_every_problem_is_reported_with_its_json_path():
    data = good()
    data["program"] = 1
    data["skycell_wcs_info"]["nx"] = "5000"
    data["products"][0]["name"] = ""
    data["products"][0]["members"][2]["expname"] = data["products"][0]["members"][0]["expname"]
    data["products"][0]["members"][1]["exptype"] = None
    problems = validate_dict(data, "x_asn.json")
    paths = [p.json_path for p in problems]
    assert paths == [
        "$.products[0].members[1].exptype",
        "$.products[0].members[2].expname",
        "$.products[0].name",
        "$.program",
        "$.skycell_wcs_info",
    ]
    assert all(p.path == "x_asn.json" for p in problems)
    assert "nx" in problems[-1].message


def test_skycell_wcs_info_must_be_none_or_the_full_object():
    data = good()
    data["skycell_wcs_info"] = "None"
    assert [p.json_path for p in validate_dict(data)] == ["$.skycell_wcs_info"]
    data["skycell_wcs_info"] = {"name": "225p90x49y67"}
    (problem,) = validate_dict(data)
    assert "required" in problem.message


def test_empty_products_and_members_are_invalid():
    assert [p.json_path for p in validate_dict({"products": []})] == ["$.products"]
    assert [p.json_path for p in validate_dict({"products": [{"name": "a", "members": []}]})] == [
        "$.products[0].members"
    ]


def test_validate_cli_exit_status(tmp_path, capsys):
    bad = tmp_path / "bad_asn.json"
    bad.write_text(json.dumps({"products": [{"name": "", "members": [{"expname": "a"}]}]}))
    broken = tmp_path / "broken_asn.json"
    broken.write_text("{not json")
    assert main(["validate", str(DATA / "L3_regtest_asn.json")]) == 0
    assert main(["validate", str(DATA / "L3_regtest_asn.json"), str(bad), str(broken)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}: $.products[0].members[0]: 'exptype' is a required property" in out.replace(
        "\n", ""
    )
    assert f"{broken}: $: line 1: not valid JSON" in out
    assert "1 valid, 2 invalid" in out


WRONG = [None, 5, 2.5, True, "text", [], [5], {}, {"x": 1}]


def _places(data, path=()):
    """Every (path) in ``data``: keys of objects and items of lists, all levels."""
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        yield (*path, key)
        if isinstance(value, dict | list) and value:
            yield from _places(value, (*path, key))


@pytest.mark.parametrize("wrong", WRONG, ids=repr)
def test_any_value_of_any_type_anywhere_is_a_problem_not_a_crash(wrong):
    """Each value of a good association replaced by a value of another type: validate
    reports problems (or none) and never raises."""
    for place in _places(good()):
        data = good()
        target = data
        for key in place[:-1]:
            target = target[key]
        target[place[-1]] = wrong
        problems = validate_dict(data, "x")
        assert all(p.json_path.startswith("$") for p in problems), place


def test_a_product_name_too_long_for_a_file_name_is_a_problem(tmp_path, capsys):
    """The generator drops such groups; validate, and the tools writing through it
    (from-list, multiband, skycell-asn), say so too."""
    from roman_asn.generator.naming import MAX_PRODUCT_NAME_BYTES
    from roman_asn.validate import validate_dict

    data = json.loads((DATA / "L3_regtest_asn.json").read_text())
    data["products"][0]["name"] = "p" * MAX_PRODUCT_NAME_BYTES
    assert validate_dict(data) == []
    data["products"][0]["name"] += "p"
    (problem,) = validate_dict(data)
    assert problem.json_path == "$.products[0].name" and "at most 246" in problem.message
    out = tmp_path / "long_asn.json"
    args = ["from-list", "a_cal.asdf", "-o", str(out), "--product-name", "p" * 5000]
    assert main(args) == 2 and not out.exists()
    assert len(capsys.readouterr().err) < 400


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        st.characters(exclude_categories=("Cs",), exclude_characters=ACID_PLACEHOLDER), max_size=12
    )
)
def test_the_schema_and_the_engine_agree_on_which_product_names_are_plain(name):
    """The schema's product-name pattern and naming.unsafe_product_name say one rule in
    two languages (JSON Schema for other readers, polars for the engine): they agree.
    (The engine's placeholder for a discovered id, a NUL, never reaches a file.)"""
    import re

    import polars as pl

    from roman_asn.validate import _validator

    schema = _validator().schema
    pattern = schema["$defs"]["product"]["properties"]["name"]["pattern"]
    by_schema = re.search(pattern, name) is not None
    by_engine = not pl.select(unsafe_product_name(pl.lit(name, dtype=pl.Utf8))).item()
    assert by_schema == by_engine, repr(name)


@pytest.mark.parametrize(
    "where", ["data_release_id", "product name", "expname", "skycell name"], ids=str
)
def test_a_line_break_after_a_value_is_a_problem(where):
    """Python's $ also matches before a final line break: the schema's patterns do not."""
    from roman_asn.validate import validate_dict

    data = json.loads((DATA / "L3_mosaic_wcs_info_asn.json").read_text())
    assert validate_dict(data) == []
    product = data["products"][0]
    if where == "data_release_id":
        data["data_release_id"] = "p\n"
    elif where == "product name":
        product["name"] += "\n"
    elif where == "expname":
        product["members"][0]["expname"] += "\n"
    else:
        data["skycell_wcs_info"]["name"] += "\n"
    assert len(validate_dict(data)) == 1


@pytest.mark.parametrize(
    "place",
    [("products", 0, "name"), ("products", 0, "members", 0, "expname"), ("asn_pool",)],
)
def test_an_unpaired_surrogate_is_a_problem_at_its_place(tmp_path, capsys, place):
    """JSON's \\ud800 escape reads as no character: validate said ok (or, in a product
    name, crashed measuring its bytes) for a file no tool can write again."""
    data = good()
    holder = data
    for key in place[:-1]:
        holder = holder[key]
    holder[place[-1]] = "r0000101001001001001_0001_wfi01\ud800"
    path = tmp_path / "bad_asn.json"
    path.write_text(json.dumps(data, indent=4))  # ASCII: the surrogate as an escape
    (problem,) = [p for p in validate_file(path) if "surrogate" in p.message]
    expected = "$" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in place)
    assert problem.json_path == expected and "'\\ud800'" in problem.message
    assert main(["validate", str(path)]) == 1
    assert "unpaired surrogate" in capsys.readouterr().out
