"""gather: association and members side by side, searched in source folders."""

from __future__ import annotations

import json
import os
from pathlib import Path

from roman_asn.association import load_asn
from roman_asn.cli import main
from roman_asn.tools.from_list import asn_from_list
from roman_asn.tools.gather import gather


def setup_sources(tmp_path: Path) -> tuple[Path, Path]:
    """An association in asns/ whose members live in raw/ and raw2/."""
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw2" / "deep").mkdir(parents=True)
    (tmp_path / "raw" / "a_cal.asdf").write_bytes(b"A" * 1000)
    (tmp_path / "raw2" / "deep" / "b_cal.asdf").write_bytes(b"B" * 10)
    asn = tmp_path / "asns" / "p_asn.json"
    asn_from_list(
        ["a_cal.asdf", ("deep/b_cal.asdf", "background")], product_name="p", asn_id="o001"
    ).write(asn)
    return asn, tmp_path / "work"


def test_copies_members_and_rewrites_names(tmp_path: Path) -> None:
    asn, work = setup_sources(tmp_path)
    code = main(
        [
            "gather",
            str(asn),
            "-s",
            str(tmp_path / "raw"),
            "-s",
            str(tmp_path / "raw2"),
            "--to",
            str(work),
        ]
    )
    assert code == 0
    gathered = load_asn(work / "p_asn.json", validate=True)
    assert [(m.expname, m.exptype) for m in gathered.members] == [
        ("a_cal.asdf", "science"),
        ("b_cal.asdf", "background"),
    ]
    assert gathered.asn_id == "o001"
    assert (work / "a_cal.asdf").read_bytes() == b"A" * 1000
    assert (work / "b_cal.asdf").read_bytes() == b"B" * 10
    assert not (work / "a_cal.asdf").is_symlink()
    assert sorted(p.name for p in work.iterdir()) == ["a_cal.asdf", "b_cal.asdf", "p_asn.json"]
    # a second run copies nothing
    again = gather(asn, work, [tmp_path / "raw", tmp_path / "raw2"])
    assert again.copied == [] and len(again.up_to_date) == 2


def test_link_mode(tmp_path: Path) -> None:
    asn, work = setup_sources(tmp_path)
    result = gather(asn, work, [tmp_path / "raw", tmp_path / "raw2"], link=True)
    assert result.complete and len(result.linked) == 2
    assert (work / "a_cal.asdf").is_symlink()
    assert os.readlink(work / "a_cal.asdf") == str((tmp_path / "raw" / "a_cal.asdf").resolve())
    # asking for copies later replaces the links with real files
    result = gather(asn, work, [tmp_path / "raw", tmp_path / "raw2"])
    assert len(result.copied) == 2 and not (work / "a_cal.asdf").is_symlink()


def test_missing_members_are_reported_exit_1_and_no_association(tmp_path: Path, capsys) -> None:
    asn, work = setup_sources(tmp_path)
    assert main(["gather", str(asn), "-s", str(tmp_path / "raw"), "--to", str(work)]) == 1
    err = capsys.readouterr().err
    assert "missing deep/b_cal.asdf" in err and "raw" in err
    assert not (work / "p_asn.json").exists()
    # what was found is copied whole; no temporary files are left behind
    assert sorted(p.name for p in work.iterdir()) == ["a_cal.asdf"]


def test_exposure_type_selection(tmp_path: Path) -> None:
    asn, work = setup_sources(tmp_path)
    result = gather(asn, work, [tmp_path / "raw"], exclude_types=["BACKGROUND"])
    assert result.complete
    data = json.loads((work / "p_asn.json").read_text())
    assert [m["expname"] for m in data["products"][0]["members"]] == ["a_cal.asdf"]
    assert main(["gather", str(asn), "--to", str(work), "-t", "dark"]) == 2


def test_two_files_with_one_name_is_an_error_before_copying(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    (tmp_path / "x" / "a.asdf").write_bytes(b"1")
    (tmp_path / "y" / "a.asdf").write_bytes(b"2")
    asn = tmp_path / "q_asn.json"
    asn_from_list(["x/a.asdf", "y/a.asdf"], product_name="q").write(asn)
    assert main(["gather", str(asn), "--to", str(tmp_path / "work")]) == 2
    assert not (tmp_path / "work").exists()


def test_gather_into_own_folder_leaves_files_alone(tmp_path: Path) -> None:
    (tmp_path / "a.asdf").write_bytes(b"data")
    asn = tmp_path / "r_asn.json"
    asn_from_list(["a.asdf"], product_name="r").write(asn)
    result = gather(asn, tmp_path, link=True)
    assert result.up_to_date == [tmp_path / "a.asdf"]
    assert not (tmp_path / "a.asdf").is_symlink()
    assert (tmp_path / "a.asdf").read_bytes() == b"data"


def test_absolute_member_found_by_name_in_sources(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a_cal.asdf").write_bytes(b"A")
    asn = tmp_path / "s_asn.json"
    asn_from_list(["/nowhere/run1/a_cal.asdf"], product_name="s").write(asn)
    result = gather(asn, tmp_path / "work", [tmp_path / "raw"])
    assert result.complete and result.copied == [tmp_path / "work" / "a_cal.asdf"]


def test_file_gathered_earlier_counts_as_found(tmp_path: Path) -> None:
    asn, work = setup_sources(tmp_path)
    assert gather(asn, work, [tmp_path / "raw", tmp_path / "raw2"]).complete
    (tmp_path / "raw2" / "deep" / "b_cal.asdf").unlink()
    result = gather(asn, work, [tmp_path / "raw"])
    assert result.complete and len(result.up_to_date) == 2


def test_a_product_without_a_string_name_is_named_by_its_place(tmp_path: Path, capsys) -> None:
    """gather checks what it needs (members); a product name that is missing or not a
    string is no crash: a missing member's product is shown as products[N]."""
    asn, work = setup_sources(tmp_path)
    data = json.loads(asn.read_text())
    for name in (None, 5, ["p"], "absent"):
        if name == "absent":
            data["products"][0].pop("name", None)
        else:
            data["products"][0]["name"] = name
        asn.write_text(json.dumps(data))
        assert main(["gather", str(asn), "--to", str(work)]) == 1
        assert "product products[0]); searched" in capsys.readouterr().err
