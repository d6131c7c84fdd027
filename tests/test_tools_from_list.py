"""from-list: romancal's output layout, the FILE:TYPE rule, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roman_asn.association import TOP_LEVEL_KEYS, load_asn
from roman_asn.cli import main
from roman_asn.errors import RomanAsnError
from roman_asn.tools.from_list import asn_from_list, parse_item
from roman_asn.validate import validate_dict

# What romancal 1.1.0's asn_from_list writes for `-o out --product-name my_mosaic a b`
# (captured from the real tool; code_version is the writer's version).
ROMANCAL_OUTPUT = {
    "asn_type": "None",
    "asn_rule": "DMS_ELPP_Base",
    "code_version": "1.1.0",
    "degraded_status": "No known degraded exposures in association.",
    "program": "noprogram",
    "data_release_id": "p",
    "version_id": None,
    "target": "None",
    "constraints": "No constraints",
    "asn_id": "a3001",
    "asn_pool": "none",
    "skycell_wcs_info": "none",
    "products": [
        {
            "name": "my_mosaic",
            "members": [
                {"expname": "a_cal.asdf", "exptype": "science"},
                {"expname": "b_cal.asdf", "exptype": "science"},
            ],
        }
    ],
}


def test_cli_output_matches_romancal_keys_order_and_values(tmp_path: Path) -> None:
    out = tmp_path / "out_asn.json"
    code = main(
        ["from-list", "-o", str(out), "--product-name", "my_mosaic", "a_cal.asdf", "b_cal.asdf"]
    )
    assert code == 0
    data = json.loads(out.read_text())
    assert list(data) == list(ROMANCAL_OUTPUT)
    expected = dict(ROMANCAL_OUTPUT, code_version=data["code_version"])
    assert data == expected
    assert out.read_text().startswith('{\n    "asn_type": "None",\n')


def test_optional_keys_like_romancal(tmp_path: Path) -> None:
    out = tmp_path / "m_asn.json"
    args = [
        "from-list",
        "-o",
        str(out),
        "--product-name",
        "m",
        "-t",
        "270p65x48y69",
        "--data-release-id",
        "dr01",
        "--psf-match-reference-filter",
        "F158",
        "a.asdf",
        "sky.asdf:background",
    ]
    assert main(args) == 0
    data = json.loads(out.read_text())
    assert list(data)[-1] == "psf_match_reference_filter"
    assert list(data) == [k for k in TOP_LEVEL_KEYS if k in data]
    assert data["data_release_id"] == "dr01" and data["target"] == "270p65x48y69"
    assert data["products"][0]["members"] == [
        {"expname": "a.asdf", "exptype": "science"},
        {"expname": "sky.asdf", "exptype": "background"},
    ]
    assert load_asn(out, validate=True).psf_match_reference_filter == "F158"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a_cal.asdf", ("a_cal.asdf", "science")),
        ("a_cal.asdf:dark", ("a_cal.asdf", "dark")),
        ("data/a_cal.asdf:target_acquisition", ("data/a_cal.asdf", "target_acquisition")),
        ("C:\\data\\a.asdf", ("C:\\data\\a.asdf", "science")),
        ("odd:name.asdf", ("odd:name.asdf", "science")),
        ("odd:word:science", ("odd:word", "science")),
        ("dir:x/a.asdf", ("dir:x/a.asdf", "science")),
        (":dark", (":dark", "science")),
    ],
)
def test_parse_item_rule(text: str, expected: tuple[str, str]) -> None:
    assert parse_item(text) == expected


def test_exptype_option_is_the_default(tmp_path: Path) -> None:
    out = tmp_path / "f.json"
    assert (
        main(
            [
                "from-list",
                "-o",
                str(out),
                "--product-name",
                "p",
                "--exptype",
                "flat",
                "a.asdf",
                "b.asdf:science",
            ]
        )
        == 0
    )
    members = json.loads(out.read_text())["products"][0]["members"]
    assert [m["exptype"] for m in members] == ["flat", "science"]


@pytest.mark.parametrize(
    "args",
    [
        ["a.asdf"],  # no product name
        ["--product-name", "p"],  # no files
        ["--product-name", "", "a.asdf"],
        ["--product-name", "p", "a.asdf", "a.asdf:dark"],
        ["--product-name", "p", "--data-release-id", "DR 1", "a.asdf"],
        ["--product-name", "p", "-i", "x12", "a.asdf"],
    ],
)
def test_errors_exit_2_and_write_nothing(tmp_path: Path, args: list[str], capsys) -> None:
    out = tmp_path / "x_asn.json"
    assert main(["from-list", "-o", str(out), *args]) == 2
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    assert "Traceback" not in capsys.readouterr().err


def test_api_accepts_names_paths_and_pairs() -> None:
    asn = asn_from_list(
        ["a.asdf", Path("b.asdf"), ("c.asdf", "background")], product_name="prod", asn_id="o001"
    )
    assert [(m.expname, m.exptype) for m in asn.members] == [
        ("a.asdf", "science"),
        ("b.asdf", "science"),
        ("c.asdf", "background"),
    ]
    assert asn.asn_id == "o001"
    with pytest.raises(RomanAsnError, match="no files"):
        asn_from_list([], product_name="prod")


names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda s: s.strip())
exptypes = st.sampled_from(["science", "background", "dark", "flat", "target_acquisition"])


# a product name is a file name: romancal writes its product under it
product_names = names.filter(
    lambda s: "/" not in s and "\\" not in s and s[0] != "." and not s[0].isspace()
)


@given(
    items=st.lists(st.tuples(names, exptypes), min_size=1, max_size=8, unique_by=lambda t: t[0]),
    product=product_names,
)
def test_round_trip_through_file_text(items: list[tuple[str, str]], product: str) -> None:
    asn = asn_from_list(items, product_name=product)
    assert validate_dict(asn.to_dict()) == []
    again = load_asn(asn.dump(), validate=True)
    assert again == asn
    assert [(m.expname, m.exptype) for m in again.members] == items


@given(name=st.from_regex(r"[A-Za-z0-9_./-]{1,20}\.asdf", fullmatch=True), exptype=exptypes)
def test_parse_item_inverts_file_colon_type(name: str, exptype: str) -> None:
    assert parse_item(f"{name}:{exptype}") == (name, exptype)
    assert parse_item(name) == (name, "science")


# absolute: the tests run it (and its asn_from_list) from temporary folders
ROMANCAL_PYTHON = (
    os.path.abspath(os.environ["ROMANCAL_PYTHON"]) if os.environ.get("ROMANCAL_PYTHON") else None
)


@pytest.mark.skipif(not ROMANCAL_PYTHON, reason="set ROMANCAL_PYTHON to a python with romancal")
def test_same_as_real_romancal_tool(tmp_path: Path) -> None:
    tool = Path(ROMANCAL_PYTHON).parent / "asn_from_list"
    args = [
        "--product-name",
        "mos",
        "-t",
        "270p65x48y69",
        "--data-release-id",
        "dr01",
        "--psf-match-reference-filter",
        "F158",
        "a_cal.asdf",
        "b_cal.asdf",
    ]
    subprocess.run(
        [str(tool), "-o", "theirs.json", *args], cwd=tmp_path, check=True, capture_output=True
    )
    assert main(["from-list", "-o", str(tmp_path / "ours.json"), *args]) == 0
    theirs = json.loads((tmp_path / "theirs.json").read_text())
    ours = json.loads((tmp_path / "ours.json").read_text())
    assert list(ours) == list(theirs)
    assert ours == dict(theirs, code_version=ours["code_version"])
    # and romancal reads ours
    check = "import sys; from romancal.associations import load_asn;load_asn(open(sys.argv[1]))"
    subprocess.run([ROMANCAL_PYTHON, "-c", check, str(tmp_path / "ours.json")], check=True)
