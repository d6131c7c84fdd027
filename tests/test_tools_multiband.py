"""multiband: grouping coadds per product prefix and sky cell, naming, reporting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roman_asn.association import load_asn
from roman_asn.cli import main
from roman_asn.tools.multiband import CoaddName, parse_coadd_name, plan_multiband

NORTH = "r00001_p_full_270p65x48y69"
SOUTH = "r00001_dr01_v01001001001001_045m12x23y45"


def make(folder: Path, *names: str) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"#ASDF")
    return [str(folder / n) for n in names]


def test_groups_by_prefix_and_skycell(tmp_path: Path, capsys) -> None:
    # a folder with underscores must not confuse the data release id
    data = tmp_path / "my_data_dr99_x"
    files = make(
        data,
        f"{NORTH}_f158_coadd.asdf",
        f"{NORTH}_f062_coadd.asdf",
        f"{NORTH}_f213_coadd.asdf",
        f"{SOUTH}_f106_coadd.asdf",
        f"{SOUTH}_f087_coadd.asdf",
    )
    code = main(["multiband", *files, "-o", str(data), "--psf-match-reference-filter", "F158"])
    assert code == 0
    north = load_asn(data / f"{NORTH}_asn.json", validate=True)
    assert north.asn_type == "multiband"
    assert north.products[0].name == NORTH
    assert [m.expname for m in north.members] == [
        f"{NORTH}_f062_coadd.asdf",
        f"{NORTH}_f158_coadd.asdf",
        f"{NORTH}_f213_coadd.asdf",
    ]
    assert north.data_release_id == "p" and north.program == "00001"
    assert north.target == "270p65x48y69"
    assert north.psf_match_reference_filter == "F158"
    south = load_asn(data / f"{SOUTH}_asn.json", validate=True)
    assert south.data_release_id == "dr01"
    assert [m.expname.split("_")[-2] for m in south.members] == ["f087", "f106"]
    assert "F158 is not among its filters" in capsys.readouterr().err
    assert sorted(p.name for p in data.glob("*_asn.json")) == [
        f"{SOUTH}_asn.json",
        f"{NORTH}_asn.json",
    ]


def test_members_relative_to_output_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    make(tmp_path / "coadds", f"{NORTH}_f158_coadd.asdf")
    name = f"coadds/{NORTH}_f158_coadd.asdf"
    assert main(["multiband", name, "-o", "asns", "--min-filters", "1"]) == 0
    asn = load_asn(tmp_path / "asns" / f"{NORTH}_asn.json")
    assert asn.members[0].expname == f"../coadds/{NORTH}_f158_coadd.asdf"
    # where romancal will look: relative to the association's folder
    assert (tmp_path / "asns" / asn.members[0].expname).is_file()


def test_bad_names_are_reported_with_reason_and_exit_1(tmp_path: Path, capsys) -> None:
    files = make(
        tmp_path,
        f"{NORTH}_f158_coadd.asdf",
        f"{NORTH}_F184_coadd.asdf",
        f"{NORTH}_g184_coadd.asdf",
        "r00001_p_full_notacell_f158_coadd.asdf",
        f"{NORTH}_f158_cat.parquet",
        f"x_{NORTH}_f106_coadd.asdf",
    )
    assert main(["multiband", *files, "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "g184_coadd.asdf: no filter" in err
    assert "notacell_f158_coadd.asdf: no sky-cell name" in err
    assert "cat.parquet: does not end in _coadd.asdf" in err
    assert f"x_{NORTH}_f106_coadd.asdf: expected <root>" in err
    # the good file still made its association
    assert (tmp_path / f"{NORTH}_asn.json").exists()


def test_same_filter_twice_is_rejected(tmp_path: Path) -> None:
    a = make(tmp_path / "a", f"{NORTH}_f158_coadd.asdf")
    b = make(tmp_path / "b", f"{NORTH}_f158_coadd.asdf")
    plan = plan_multiband(a + b + a, tmp_path, min_filters=1)
    assert [r.reason for r in plan.rejected] == [
        f"same product and filter as {a[0]}",
        "listed twice",
    ]
    (asn,) = plan.associations.values()
    assert len(asn.members) == 1


def test_data_release_filter_skips_others(tmp_path: Path) -> None:
    files = make(tmp_path, f"{NORTH}_f158_coadd.asdf", f"{SOUTH}_f158_coadd.asdf")
    plan = plan_multiband(files, tmp_path, data_release_id="dr01", min_filters=1)
    assert [p.name for p in plan.associations] == [f"{SOUTH}_asn.json"]
    assert plan.skipped[0].reason == "data release p, not dr01"
    assert not plan.rejected


def test_nothing_matches(tmp_path: Path) -> None:
    assert main(["multiband", str(tmp_path / "a.txt"), "-o", str(tmp_path)]) == 1
    assert not list(tmp_path.glob("*.json"))


skycells = st.from_regex(r"\d{3}[pm]\d{2}x\d{2}y\d{2}", fullmatch=True)
words = st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)


@given(
    root=words,
    drid=words,
    token=words,
    cell=skycells,
    band=st.integers(0, 999),
    folder=st.from_regex(r"([a-z_]{1,6}/){0,3}", fullmatch=True),
)
def test_parse_coadd_name_round_trip(root, drid, token, cell, band, folder) -> None:
    name = f"{root}_{drid}_{token}_{cell}_f{band:03d}"
    parsed = parse_coadd_name(f"{folder}{name}_coadd.asdf")
    assert parsed == CoaddName(root, drid, token, cell, f"f{band:03d}")
    assert parsed.product == f"{root}_{drid}_{token}_{cell}"


@pytest.mark.parametrize("reference", [None, "F158"])
def test_output_validates_and_has_romancal_layout(tmp_path: Path, reference) -> None:
    files = make(tmp_path, f"{NORTH}_f158_coadd.asdf")
    plan = plan_multiband(files, tmp_path, psf_match_reference_filter=reference, min_filters=1)
    (asn,) = plan.associations.values()
    keys = list(json.loads(asn.dump()))
    assert keys[:4] == ["asn_type", "asn_rule", "code_version", "degraded_status"]
    assert ("psf_match_reference_filter" in keys) == (reference is not None)


def test_absolute_inputs_outside_output_stay_absolute(tmp_path: Path) -> None:
    files = make(tmp_path / "coadds", f"{NORTH}_f158_coadd.asdf")
    plan = plan_multiband(files, tmp_path / "asns", min_filters=1)
    (asn,) = plan.associations.values()
    assert asn.members[0].expname == Path(files[0]).as_posix()


def test_one_filter_makes_no_multiband_association_by_default(tmp_path: Path, capsys) -> None:
    files = make(tmp_path, f"{NORTH}_f158_coadd.asdf", f"{SOUTH}_f087_coadd.asdf")
    files += make(tmp_path, f"{SOUTH}_F106_coadd.asdf")  # upper-case filter token
    assert main(["multiband", *files, "-o", str(tmp_path)]) == 0
    assert [p.name for p in tmp_path.glob("*_asn.json")] == [f"{SOUTH}_asn.json"]
    err = capsys.readouterr().err
    assert f"{NORTH}_f158_coadd.asdf: {NORTH} has fewer than 2 filters" in err
    south = load_asn(tmp_path / f"{SOUTH}_asn.json")
    assert [Path(m.expname).name for m in south.members] == [
        f"{SOUTH}_f087_coadd.asdf",
        f"{SOUTH}_F106_coadd.asdf",
    ]
    assert south.asn_id == "a3001"  # as romancal writes it
    assert main(["multiband", *files, "-o", str(tmp_path / "all"), "--min-filters", "1"]) == 0
    assert len(list((tmp_path / "all").glob("*_asn.json"))) == 2


def test_romancal_cell_names_wildcards_and_missing_files(tmp_path: Path, capsys) -> None:
    cell = "r00001_p_full_270p65x001y001"  # romancal's three-digit x/y form
    make(tmp_path, f"{cell}_f158_coadd.asdf", f"{cell}_f062_coadd.asdf")
    missing = str(tmp_path / f"{cell}_f213_coadd.asdf")
    pattern = str(tmp_path / "*_coadd.asdf")
    nothing = str(tmp_path / "none_*.asdf")
    assert main(["multiband", pattern, missing, nothing, "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "f213_coadd.asdf: no such file" in err
    assert "none_*.asdf: the pattern matches no file" in err
    asn = load_asn(tmp_path / f"{cell}_asn.json")
    assert [m.expname.split("_")[-2] for m in asn.members] == ["f062", "f158"]
    assert asn.target == "270p65x001y001"


def test_multiband_command_and_generator_rule_agree(tmp_path: Path) -> None:
    """One code path: the coadds the generator's sky-cell products name, grouped by
    `multiband`, give the generator's multiband associations."""
    import polars as pl
    from test_generator_skycells import sky_pool

    from roman_asn.generator.engine import generate
    from roman_asn.rules.loader import load_rules

    result = generate(sky_pool(), load_rules())
    sky = result.associations.filter(pl.col("rule").str.starts_with("Asn_Lv3SkyCell"))
    coadds = [
        f"{name}_coadd.asdf"
        for name in sky.filter(pl.col("asn_type") == "image")["product_name"].to_list()
    ]
    files = make(tmp_path, *coadds)
    plan = plan_multiband(files, tmp_path)
    tool = {
        asn.products[0].name: ([Path(m.expname).name for m in asn.members], asn.asn_id, asn.target)
        for asn in plan.associations.values()
    }
    multiband = sky.filter(pl.col("asn_type") == "multiband")
    generated = {
        row["product_name"]: (row["members"], row["asn_id"], row["target"])
        for row in multiband.iter_rows(named=True)
    }
    assert tool == generated and len(tool) == 3
