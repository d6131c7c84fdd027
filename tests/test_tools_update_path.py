"""update-path: member folders rewritten, other keys untouched, atomic and idempotent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roman_asn.association import load_asn
from roman_asn.cli import main
from roman_asn.tools.from_list import asn_from_list
from roman_asn.tools.update_path import new_path, update_path

DATA = Path(__file__).parent / "data"


def test_rewrites_in_place_keeping_other_keys(tmp_path: Path) -> None:
    asn = tmp_path / "L3_mosaic_asn.json"
    shutil.copy(DATA / "L3_mosaic_asn.json", asn)
    before = json.loads(asn.read_text())
    assert main(["update-path", str(asn), "--path", "/data/run1/"]) == 0
    after = json.loads(asn.read_text())
    assert list(after) == list(before)  # the 2024 key order is kept, nothing added
    assert after["products"][0]["members"][0]["expname"] == (
        "/data/run1/r0000101001001001001_0001_wfi01_cal.asdf"
    )
    after["products"][0]["members"][0]["expname"] = before["products"][0]["members"][0]["expname"]
    assert after == before
    load_asn(asn, validate=True)


def test_empty_path_strips_folders_and_output_dir(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in_asn.json"
    asn_from_list(["a/b/x_cal.asdf", ("../y_cal.asdf", "background")], product_name="p").write(src)
    out = tmp_path / "out"
    assert main(["update-path", str(src), "--path", "", "-o", str(out)]) == 0
    members = json.loads((out / "in_asn.json").read_text())["products"][0]["members"]
    assert [m["expname"] for m in members] == ["x_cal.asdf", "y_cal.asdf"]
    assert json.loads(src.read_text())["products"][0]["members"][0]["expname"] == "a/b/x_cal.asdf"
    # a second run changes nothing and says so
    assert main(["update-path", str(out / "in_asn.json"), "--path", ""]) == 0
    assert "unchanged" in capsys.readouterr().out


def test_collision_is_an_error_and_nothing_is_written(tmp_path: Path) -> None:
    good = tmp_path / "good_asn.json"
    bad = tmp_path / "bad_asn.json"
    asn_from_list(["a/x.asdf"], product_name="g").write(good)
    asn_from_list(["a/x.asdf", "b/x.asdf"], product_name="b").write(bad)
    before = good.read_text(), bad.read_text()
    assert main(["update-path", str(good), str(bad), "--path", "new"]) == 2
    assert (good.read_text(), bad.read_text()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad_asn.json", "good_asn.json"]


def test_unreadable_input_is_exit_2(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    assert main(["update-path", str(bad), "--path", "x"]) == 2
    assert "broken.json" in capsys.readouterr().err


def test_tweakreg_catalogs_move_with_members() -> None:
    data = {
        "products": [
            {
                "name": "p",
                "members": [
                    {
                        "expname": "old/a_cal.asdf",
                        "exptype": "science",
                        "tweakreg_catalog": "old/a_cat.parquet",
                    }
                ],
            }
        ]
    }
    moved = update_path(data, "new")
    assert moved["products"][0]["members"][0] == {
        "expname": "new/a_cal.asdf",
        "exptype": "science",
        "tweakreg_catalog": "new/a_cat.parquet",
    }
    assert data["products"][0]["members"][0]["expname"] == "old/a_cal.asdf"  # a copy


folders = st.from_regex(r"(/?[a-z0-9_]{1,6}(/[a-z0-9_]{1,6}){0,2}/?)?", fullmatch=True)
files = st.from_regex(r"([a-z.]{1,4}/){0,2}[a-z0-9_]{1,10}\.asdf", fullmatch=True)


@given(old=files, folder=folders, other=folders)
def test_new_path_is_idempotent_and_keeps_the_file_name(old: str, folder: str, other: str) -> None:
    once = new_path(old, folder)
    assert new_path(once, folder) == once
    assert once.rsplit("/", 1)[-1] == old.rsplit("/", 1)[-1]
    # only the last folder given matters
    assert new_path(new_path(old, other), folder) == once


@given(
    names=st.lists(files, min_size=1, max_size=6, unique_by=lambda f: f.rsplit("/", 1)[-1]),
    folder=folders,
)
def test_update_path_of_association_is_idempotent(names: list[str], folder: str) -> None:
    asn = asn_from_list(names, product_name="p")
    once = update_path(asn, folder)
    assert update_path(once, folder) == once
    assert len(once.members) == len(names)


@pytest.mark.parametrize("name", ["asn_level2.json", "asn_mosaic.json", "L3_regtest_asn.json"])
def test_sample_files_load_after_update(tmp_path: Path, name: str) -> None:
    asn = tmp_path / name
    shutil.copy(DATA / name, asn)
    assert main(["update-path", str(asn), "--path", "moved"]) == 0
    assert all(m.expname.startswith("moved/") for m in load_asn(asn, validate=True).members)


def test_a_lone_surrogate_is_an_error_and_the_file_is_left_as_it_was(tmp_path: Path, capsys):
    """JSON may escape half of a surrogate pair ("\\ud800"); such text cannot be written
    as UTF-8: one line naming the file, exit 2, the file untouched, no temporary."""
    asn = tmp_path / "x_asn.json"
    shutil.copy(DATA / "L3_mosaic_asn.json", asn)
    text = asn.read_text().replace('"asn_pool": "', '"asn_pool": "\\ud800', 1)
    asn.write_text(text)
    assert main(["update-path", str(asn), "--path", "/data/new"]) == 2
    err = capsys.readouterr().err
    assert str(asn) in err and "unpaired surrogate" in err and "Traceback" not in err
    assert asn.read_text() == text and sorted(tmp_path.iterdir()) == [asn]


@pytest.mark.parametrize("folder", ["a\nb", "x\x7f", "\t"])
def test_a_path_with_a_control_character_is_a_fault_of_the_option(tmp_path, capsys, folder):
    """It made every member name invalid, and the error called each (fine) association
    'not a valid association'."""
    asn = tmp_path / "a_asn.json"
    shutil.copy(DATA / "asn_level2.json", asn)
    before = asn.read_bytes()
    assert main(["update-path", str(asn), "--path", folder]) == 2
    err = capsys.readouterr().err
    assert "Invalid value for '--path'" in err and "holds a control character" in err
    assert "not a valid association" not in err and asn.read_bytes() == before
