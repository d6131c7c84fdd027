"""edit: add and remove members of an association (jwst's asn_edit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from roman_asn.association import load_asn
from roman_asn.cli import main
from roman_asn.validate import validate_file


def _asn(tmp_path: Path) -> Path:
    path = tmp_path / "asns" / "mosaic_asn.json"
    path.parent.mkdir(parents=True)
    code = main(
        ["from-list", "a_cal.asdf", "b_cal.asdf", "-o", str(path), "--product-name", "mosaic"]
    )
    assert code == 0
    return path


def test_add_and_remove_members(tmp_path: Path, monkeypatch) -> None:
    path = _asn(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "c_cal.asdf").write_bytes(b"#ASDF")
    monkeypatch.chdir(tmp_path)
    assert main(["edit", "add", str(path), "data/c_cal.asdf", "--exptype", "background"]) == 0
    asn = load_asn(path)
    assert [(m.expname, m.exptype) for m in asn.members] == [
        ("a_cal.asdf", "science"),
        ("b_cal.asdf", "science"),
        ("../data/c_cal.asdf", "background"),
    ]
    # the new member opens relative to the association file, as romancal opens it
    assert (path.parent / asn.members[2].expname).resolve() == (tmp_path / "data/c_cal.asdf")
    assert validate_file(path) == []
    assert main(["edit", "remove", str(path), "a_cal.asdf", "data/c_cal.asdf"]) == 0
    assert [m.expname for m in load_asn(path).members] == ["b_cal.asdf"]


@pytest.mark.parametrize(
    ("action", "name", "message"),
    [
        # files to add are paths from the working folder (here the association's parent)
        ("add", "asns/a_cal.asdf", "asns/a_cal.asdf is already a member (as a_cal.asdf)"),
        ("add", "asns/./b_cal.asdf", "is already a member (as b_cal.asdf)"),
        ("remove", "z_cal.asdf", "z_cal.asdf is not a member"),
    ],
)
def test_duplicates_and_absent_members_are_refused(
    tmp_path: Path, monkeypatch, capsys, action, name, message
) -> None:
    path = _asn(tmp_path)
    before = path.read_bytes()
    monkeypatch.chdir(tmp_path)
    assert main(["edit", action, str(path), name]) == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err
    assert path.read_bytes() == before  # nothing written


def test_removing_every_member_is_refused_and_output_goes_elsewhere(tmp_path: Path, capsys):
    path = _asn(tmp_path)
    before = path.read_bytes()
    assert main(["edit", "remove", str(path), "a_cal.asdf", "b_cal.asdf"]) == 2
    assert "without members" in capsys.readouterr().err
    assert path.read_bytes() == before
    out = tmp_path / "asns" / "edited_asn.json"
    assert main(["edit", "remove", str(path), "a_cal.asdf", "-o", str(out)]) == 0
    assert path.read_bytes() == before
    assert [m.expname for m in load_asn(out).members] == ["b_cal.asdf"]


def test_broken_association_is_one_line_error(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad_asn.json"
    path.write_text("{not json")
    assert main(["edit", "add", str(path), "x_cal.asdf"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad_asn.json" in err[0] and "not valid JSON" in err[0]


def test_from_list_tweakreg_catalogs(tmp_path: Path) -> None:
    out = tmp_path / "asn.json"
    files = ["a_cal.asdf", "sub/dir/b-cal.asdf", "c_unknown.asdf"]
    args = ["from-list", *files, "-o", str(out), "--product-name", "p"]
    assert main([*args, "--_tweakreg-catalogs"]) == 0
    members = json.loads(out.read_text())["products"][0]["members"]
    assert [m["tweakreg_catalog"] for m in members] == [
        "a_cat.parquet",
        "sub/dir/b-cat.parquet",
        "c_unknown_cat.parquet",
    ]
    assert list(members[0]) == ["expname", "exptype", "tweakreg_catalog"]
    assert validate_file(out) == []
    assert main(args) == 0
    assert all(
        "tweakreg_catalog" not in m for m in json.loads(out.read_text())["products"][0]["members"]
    )


def test_a_file_named_like_json_text_is_a_file_and_empty_members_are_refused(
    tmp_path, monkeypatch, capsys
):
    """'[v2]_asn.json' is a file name, not JSON text; '' or a folder is no member."""
    from roman_asn.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["from-list", "a_cal.asdf", "-o", "[v2]_asn.json", "--product-name", "p"]) == 0
    assert main(["edit", "add", "[v2]_asn.json", "b_cal.asdf"]) == 0
    assert "b_cal.asdf" in (tmp_path / "[v2]_asn.json").read_text()
    for bad in ("", "x/", ".."):
        assert main(["edit", "add", "[v2]_asn.json", bad]) == 2
        assert "is not a file name" in capsys.readouterr().err


def test_written_to_another_folder_every_member_still_names_its_file(tmp_path: Path) -> None:
    """-o elsewhere: the members already there are rewritten relative to the new folder,
    as the added one is (only that one was, and the others pointed nowhere)."""
    path = _asn(tmp_path)  # asns/mosaic_asn.json with a_cal.asdf, b_cal.asdf
    (tmp_path / "data").mkdir()
    out = tmp_path / "elsewhere" / "deep" / "edited_asn.json"
    added = tmp_path / "data" / "c_cal.asdf"
    assert main(["edit", "add", str(path), str(added), "-o", str(out)]) == 0
    members = [m.expname for m in load_asn(out).members]
    # given as an absolute path outside the folder, the added one stays absolute
    assert members == ["../../asns/a_cal.asdf", "../../asns/b_cal.asdf", added.as_posix()]
    wanted = ["asns/a_cal.asdf", "asns/b_cal.asdf", "data/c_cal.asdf"]
    for name, expected in zip(members, wanted, strict=True):
        assert (out.parent / name).resolve() == (tmp_path / expected).resolve()
    # a member is named for removal as the association names it
    assert main(["edit", "remove", str(path), "a_cal.asdf", "-o", str(out)]) == 0
    assert [m.expname for m in load_asn(out).members] == ["../../asns/b_cal.asdf"]


@pytest.mark.parametrize("name", [5, None, ["p"], "absent"])
@pytest.mark.parametrize("action", ["add", "remove"])
def test_a_product_name_that_is_no_text_is_named_by_its_place(tmp_path, capsys, name, action):
    """Loading checks what romancal needs (members); edit joined the product names
    into its messages as text, and a name of 5 or null was a TypeError traceback."""
    path = _asn(tmp_path)
    data = json.loads(path.read_text())
    data["products"].append({"name": "other", "members": [{"expname": "c", "exptype": "x"}]})
    if name == "absent":
        del data["products"][0]["name"]
    else:
        data["products"][0]["name"] = name
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    members = ["z_cal.asdf"] if action == "add" else ["a_cal.asdf", "b_cal.asdf"]
    assert main(["edit", action, str(path), *members]) == 2
    err = capsys.readouterr().err
    expected = (
        "has 2 products (products[0], other): name one"
        if action == "add"
        else "leaves product products[0] without members"
    )
    assert expected in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert path.read_bytes() == before
