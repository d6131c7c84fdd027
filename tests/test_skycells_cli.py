"""roman-asn skycells / skycell on real Level 2 files."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roman_asn.cli import main
from roman_asn.validate import validate_dict

sys.path.insert(0, str(Path(__file__).parent))
from l2_maker import make_cal  # noqa: E402

DATA = Path(__file__).parent / "data"


def test_find_and_show(capsys):
    assert main(["skycells", "find", "0.88955854", "87.53857137"]) == 0
    assert "000p86x66y51" in capsys.readouterr().out
    assert main(["skycells", "show", "270p65x69y48"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["skycell_wcs_info"]["x0_projection"] == 12099.5
    assert (
        main(["skycells", "show", "270p65x69y48", "--skymap", str(DATA / "skymap_subset.asdf")])
        == 2
    )


@pytest.mark.parametrize("name", ["nonsense", "270p65x99y48", "999p65x50y50"])
def test_show_bad_names_exit_2(name, capsys):
    assert main(["skycells", "show", name]) == 2
    assert name in capsys.readouterr().err


def test_skycell_associations(tmp_path, capsys):
    a = make_cal(tmp_path / "r0000101001001001001_0001_wfi01_cal.asdf", 270.0, 66.0)
    b = make_cal(
        tmp_path / "r0000101001002001001_0001_wfi01_cal.asdf",
        270.0,
        66.0,
        visit_id="0000101001002001001",
    )
    out = tmp_path / "asn"
    code = main(
        ["skycell", str(a), str(b), "-o", "r00001", "--product-type", "pass", "-d", str(out)]
    )
    assert code == 0
    files = sorted(out.glob("*_asn.json"))
    assert files and all(
        f.name.startswith("r00001_p_p01001_270p65x") and f.name.endswith("_f158_asn.json")
        for f in files
    )
    data = json.loads(files[0].read_text())
    assert validate_dict(data, files[0].name) == []
    assert data["asn_type"] == "image" and data["target"] == data["skycell_wcs_info"]["name"]
    assert list(data["skycell_wcs_info"]) == list(
        json.loads((DATA / "L3_mosaic_asn.json").read_text())["skycell_wcs_info"]
    )
    assert data["products"][0]["name"] == files[0].name[: -len("_asn.json")]
    assert len(data["products"][0]["members"]) == 2  # both segments share the pass
    # per visit: two groups, the token is v + 14 digits
    main(
        [
            "skycell",
            str(a),
            str(b),
            "-o",
            "r00001",
            "--data-release-id",
            "dr01",
            "-d",
            str(tmp_path / "v"),
        ]
    )
    tokens = {f.name.split("_")[2] for f in (tmp_path / "v").glob("*.json")}
    assert tokens == {"v01001001001001", "v01001002001001"}


def test_skycell_reports_unreadable_files(tmp_path, capsys):
    good = make_cal(tmp_path / "r0000101001001001001_0001_wfi01_cal.asdf", 10.0, -30.0)
    nobox = make_cal(
        tmp_path / "r0000101001001001001_0002_wfi01_cal.asdf", 10.0, -30.0, with_bbox=False
    )
    nowcs = make_cal(
        tmp_path / "r0000101001001001001_0003_wfi01_cal.asdf", 10.0, -30.0, with_wcs=False
    )
    text = tmp_path / "notes_cal.asdf"
    text.write_text("not asdf")
    args = [str(good), str(nobox), str(nowcs), str(text), str(tmp_path / "missing.asdf")]
    assert main(["skycell", *args, "-o", "r00001", "-d", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert (
        "no bounding box" in err
        and "no WCS" in err
        and f"{text}: not an ASDF file\n" in err  # make-pool's reason, nothing added
        and "no such file" in err
    )
    assert main(["skycell", str(text), "-o", "r00001", "-d", str(tmp_path / "o2")]) == 2


def _cells_of(folder: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.rglob("*_asn.json"))}


def test_two_programs_in_one_cell_each_get_their_own_associations(tmp_path, capsys):
    a = make_cal(tmp_path / "r0000101001001001001_0001_wfi01_cal.asdf", 270.0, 66.0)
    b = make_cal(
        tmp_path / "r0000201001001001001_0001_wfi01_cal.asdf",
        270.0,
        66.0,
        visit_id="0000201001001001001",
    )
    out = tmp_path / "asn"
    assert main(["skycell", str(a), str(b), "--product-type", "full", "-d", str(out)]) == 0
    written = _cells_of(out)
    programs = {name.split("_")[0] for name in written}
    assert programs == {"r00001", "r00002"}
    members = sorted(m["expname"] for d in written.values() for m in d["products"][0]["members"])
    assert {Path(m).name for m in members} == {a.name, b.name}  # no file lost
    for name, data in written.items():
        assert data["program"] == name[1:6]
        assert data["asn_id"] == "a3001"  # as romancal writes it
    # an explicit root cannot name two programs' products
    capsys.readouterr()
    code = main(["skycell", str(a), str(b), "-o", "r00001", "-d", str(tmp_path / "x")])
    assert code == 2
    err = capsys.readouterr().err
    assert "00001, 00002" in err and "-o" in err
    assert not (tmp_path / "x").exists() or not list((tmp_path / "x").iterdir())


def test_members_open_relative_to_each_association_file(tmp_path, monkeypatch):
    inputs = tmp_path / "data" / "cal"
    inputs.mkdir(parents=True)
    a = make_cal(inputs / "r0000101001001001001_0001_wfi01_cal.asdf", 10.0, -30.0)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    # romancal's habit: a folder in the root; inputs given relative to the cwd
    rel = os.path.relpath(a, work)
    assert main(["skycell", rel, "-o", "out/r00001", "-d", "asn"]) == 0
    written = sorted((work / "asn" / "out").glob("*_asn.json"))
    assert written
    for path in written:
        data = json.loads(path.read_text())
        assert data["products"][0]["name"].startswith("r00001_p_v")
        for member in data["products"][0]["members"]:
            assert (path.parent / member["expname"]).resolve() == a.resolve()


def test_wcs_without_bounding_box_uses_pixel_shape_then_data_shape(tmp_path, capsys):
    from l2_maker import tan_gwcs

    from roman_asn.skycells.footprints import footprint_and_source

    wcs = tan_gwcs(10.0, -30.0, shape=(16, 16))
    boxed = footprint_and_source(wcs, 1)
    wcs.bounding_box = None
    wcs.pixel_shape = (16, 16)
    by_shape = footprint_and_source(wcs, 1)
    assert by_shape[2] == "no bounding box: used the WCS pixel_shape"
    np.testing.assert_allclose(by_shape[0], boxed[0], atol=1e-12)
    wcs.pixel_shape = None
    by_data = footprint_and_source(wcs, 1, data_shape=(16, 16))
    assert by_data[2] == "no bounding box: used the data array shape"
    np.testing.assert_allclose(by_data[1], boxed[1], atol=1e-12)
    with pytest.raises(ValueError, match="no bounding box, no pixel_shape"):
        footprint_and_source(wcs, 1)
    # the command uses such a file and says so
    nobox = make_cal(
        tmp_path / "r0000101001001001001_0002_wfi01_cal.asdf", 10.0, -30.0, with_bbox=False
    )
    assert main(["skycell", str(nobox), "-d", str(tmp_path / "o")]) == 0
    assert "no bounding box: used the" in capsys.readouterr().err
    assert list((tmp_path / "o").glob("*_asn.json"))


def test_skycell_command_and_generator_rules_agree(tmp_path):
    """One code path: the same files through `skycell` and through make-pool + generate."""
    from roman_asn.generator.engine import generate
    from roman_asn.make_pool import make_pool
    from roman_asn.rules.loader import load_rules

    cal = tmp_path / "cal"
    cal.mkdir()
    files = [
        make_cal(cal / "r0000101001001001001_0001_wfi01_cal.asdf", 269.64, 66.0),
        make_cal(cal / "r0000101001001001002_0001_wfi01_cal.asdf", 269.64, 66.0),
        make_cal(
            cal / "r0000101001001001001_0002_wfi01_cal.asdf", 269.64, 66.0, optical_element="F087"
        ),
    ]
    pool = make_pool([cal]).pool
    result = generate(pool, load_rules())
    for product_type, rule in (
        ("visit", "Asn_Lv3SkyCellVisit"),
        ("pass", "Asn_Lv3SkyCellPass"),
        ("full", "Asn_Lv3SkyCellFull"),
    ):
        out = tmp_path / product_type
        assert (
            main(["skycell", *map(str, files), "--product-type", product_type, "-d", str(out)]) == 0
        )
        tool = {
            d["products"][0]["name"]: (
                [Path(m["expname"]).name for m in d["products"][0]["members"]],
                d["skycell_wcs_info"],
                d["asn_id"],
                d["target"],
            )
            for d in _cells_of(out).values()
        }
        generated = result.associations.filter(pl.col("rule") == rule)
        from roman_asn.skycells import skycell_wcs_info

        gen = {
            row["product_name"]: (
                row["members"],
                skycell_wcs_info(row["skycell"]),
                row["asn_id"],
                row["target"],
            )
            for row in generated.iter_rows(named=True)
        }
        assert tool == gen and tool


@pytest.mark.parametrize(
    ("ra", "dec", "cell"),
    [
        ("12.3", "-33.3", "014m34x64y32"),
        ("0", "-90", "225m90x50y50"),
        ("17:45:40", "-29:00:28", "267m27x29y49"),
        ("17h45m40s", "-29d00m28s", "267m27x29y49"),
        ("266.41667", "-29.00778", "267m27x29y49"),
    ],
)
@pytest.mark.parametrize("command", ["skycell-lookup", "skycells"])  # new name and old
def test_find_takes_coordinates_as_people_type_them(command, ra, dec, cell, capsys):
    assert main([command, "find", ra, dec]) == 0
    assert f"* {cell}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("ra", "dec", "message"),
    [
        ("360", "0", "RA 360 is outside [0, 360)"),
        ("-1", "0", "RA -1 is outside [0, 360)"),
        ("24:00:01", "0", "outside [0, 360)"),
        ("10", "-90.5", "Dec -90.5 is outside [-90, 90]"),
        ("10", "91", "Dec 91 is outside [-90, 90]"),
        ("ten", "0", "'ten' is not an angle"),
        ("nan", "0", "not a finite angle"),
    ],
)
def test_coordinates_out_of_range_are_errors(ra, dec, message, capsys):
    assert main(["skycell-lookup", "find", ra, dec]) == 2
    assert message in capsys.readouterr().err


@given(ra=st.floats(0, 360, exclude_max=True), dec=st.floats(-90, 90))
def test_coordinate_parsers_round_trip_degrees_and_sexagesimal(ra, dec):
    from astropy import units as u
    from astropy.coordinates import Angle

    from roman_asn.skycells.coordinates import parse_dec, parse_ra

    assert parse_ra(repr(ra)) == ra and parse_dec(repr(dec)) == dec
    hms = Angle(ra, u.deg).to_string(unit=u.hourangle, sep=":", precision=6)
    dms = Angle(dec, u.deg).to_string(unit=u.deg, sep=":", precision=6, alwayssign=True)
    if hms.startswith("24"):  # rounding to 24h is outside the range by design
        return
    assert parse_ra(hms) == pytest.approx(ra, abs=1e-6)
    assert parse_dec(dms) == pytest.approx(dec, abs=1e-6)


def test_old_command_names_keep_working(tmp_path, capsys):
    a = make_cal(tmp_path / "r0000101001001001001_0001_wfi01_cal.asdf", 10.0, -30.0)
    assert main(["skycell", str(a), "-d", str(tmp_path / "old")]) == 0
    assert main(["skycell-asn", str(a), "-d", str(tmp_path / "new")]) == 0
    old = {p.name: p.read_text() for p in (tmp_path / "old").glob("*.json")}
    new = {p.name: p.read_text() for p in (tmp_path / "new").glob("*.json")}
    assert old == new and old
    capsys.readouterr()
    main(["--help"])
    help_text = capsys.readouterr().out
    assert "skycell-asn" in help_text and "skycell-lookup" in help_text


def test_skymap_option_is_used_for_matching_and_not_kept(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SKYMAP_PATH", raising=False)
    far = make_cal(tmp_path / "r0000101001001001001_0001_wfi01_cal.asdf", 270.0, 66.0)
    subset = str(DATA / "skymap_subset.asdf")  # the north cap only
    assert main(["skycell-asn", str(far), "-d", str(tmp_path / "o"), "--skymap", subset]) == 2
    assert "footprint touches no sky cell" in capsys.readouterr().err
    assert "SKYMAP_PATH" not in os.environ
    assert main(["skycell-asn", str(far), "-d", str(tmp_path / "c")]) == 0


@pytest.mark.parametrize(
    ("product_type", "tokens"),
    [("daily", {"d01001001", "d01001002"}), ("user", {"user"}), ("full", {"full"})],
)
def test_daily_and_user_product_types(tmp_path, product_type, tokens):
    a = make_cal(tmp_path / "r0000101001001001001_0001_wfi01_cal.asdf", 10.0, -30.0)
    b = make_cal(
        tmp_path / "r0000101001002001001_0001_wfi01_cal.asdf",
        10.0,
        -30.0,
        visit_id="0000101001002001001",
    )
    out = tmp_path / product_type
    assert (
        main(["skycell-asn", str(a), str(b), "--product-type", product_type, "-d", str(out)]) == 0
    )
    written = _cells_of(out)
    assert {name.split("_")[2] for name in written} == tokens
    members = {len(d["products"][0]["members"]) for d in written.values()}
    assert members == ({1} if product_type == "daily" else {2})  # segments 001 and 002


@pytest.mark.parametrize("root", ["../../x/r00001", "/tmp/elsewhere/r00001", "a/../../r00001"])
def test_a_root_folder_outside_the_output_folder_is_refused(tmp_path, root):
    from roman_asn.errors import RomanAsnError
    from roman_asn.skycells.associations import _split_root

    with pytest.raises(RomanAsnError, match="must lie inside the output folder"):
        _split_root(root, tmp_path / "out")
    name, folder = _split_root("sub/r00001", tmp_path / "out")
    assert (name, folder) == ("r00001", tmp_path / "out" / "sub")


def test_a_root_too_long_for_a_file_name_is_said_not_a_traceback(tmp_path, capsys):
    """-o with 300 letters made a product name template of 304 fixed bytes: a
    TemplateError traceback (exit 1). With 220 the names came out too long and the
    file was 'accepted, but its association was dropped', with no word of why."""
    cal = make_cal(tmp_path / "r0000101001001001001_0001_wfi01_cal.asdf", 10.0, 10.0)
    out = tmp_path / "out"
    assert main(["skycell-asn", str(cal), "-d", str(out), "-o", "r" * 300]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: output file root 'rrr") and "Traceback" not in err
    assert "304 bytes, and file systems take at most 255" in err and len(err) < 300
    assert main(["skycell-asn", str(cal), "-d", str(out), "-o", "r" * 220]) == 2
    err = capsys.readouterr().err
    assert "note: not written: 9 product name 'rrr" in err and "or too long)" in err
    assert not out.exists()
