"""The ids every command takes are checked by the same click parameter types."""

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roman_asn.cli import main
from roman_asn.cli.params import spread_ids

DATA = Path(__file__).parent / "data"
POOL = str(DATA / "pool_001_candidates.csv")


@pytest.mark.parametrize(
    "args",
    [
        ["generate", POOL, "--dry-run"],
        ["explain", POOL, "#0"],
        ["skycell", "x_cal.asdf", "-o", "r00001"],
        ["from-list", "-o", "x_asn.json", "--product-name", "p", "a.asdf"],
        ["multiband", "x_coadd.asdf"],
    ],
)
@pytest.mark.parametrize("release", ["DR1", "dr 1", ""])
def test_every_command_rejects_a_bad_data_release_id_alike(tmp_path, capsys, args, release):
    assert main([*args, "--data-release-id", release]) == 2
    err = capsys.readouterr().err
    assert "Invalid value for '--data-release-id'" in err
    assert "lower-case letters and digits" in err and "internal error" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--version-id", "v-1"], "Invalid value for '--version-id': must be letters and digits"),
        (["-i", "o001,o.2"], "Invalid value for '-i' / '--ids': 'o.2' is not a candidate id"),
        # no id at all selected every candidate: the whole pool written where one was asked
        (["-i", ""], "Invalid value for '-i' / '--ids': '' names no candidate id"),
        (["-i", "o001", "--ids", " , "], "Invalid value for '-i' / '--ids': ' , ' names no"),
    ],
)
def test_bad_version_and_candidate_ids(capsys, args, message):
    assert main(["generate", POOL, "--dry-run", *args]) == 2
    assert message in capsys.readouterr().err


def test_ids_space_separated_as_jwst_takes_them(tmp_path, capsys):
    pool = str(DATA / "pool_002_wfi_image.csv")  # candidates o001 and o002
    runs = {
        "spaced": ["-i", "o001", "o002"],
        "commas": ["-i", "o001,o002"],
        "repeated": ["-i", "o002", "--ids", "o001"],
    }
    files = {}
    for name, ids in runs.items():
        out = tmp_path / name
        orphans = str(out) + ".csv"
        assert main(["generate", *ids, pool, "-o", str(out), "--save-orphans", orphans]) == 0
        files[name] = {p.name: p.read_bytes() for p in out.iterdir()}
        assert (tmp_path / f"{name}.csv").exists()  # --save-orphans: jwst's name for --orphans
    assert files["spaced"] and files["spaced"] == files["commas"] == files["repeated"]
    only_one = tmp_path / "one"
    assert main(["generate", pool, "-o", str(only_one), "-i", "o001"]) == 0
    assert set(files["spaced"]) > {p.name for p in only_one.iterdir()}


@pytest.mark.parametrize(
    ("args", "spread"),
    [
        (["-i", "o001", "o002", "pool.csv"], ["-i", "o001", "-i", "o002", "pool.csv"]),
        (["--ids=o001", "o002", "-o", "x"], ["--ids=o001", "-i", "o002", "-o", "x"]),
        (["-io001", "o002"], ["-io001", "-i", "o002"]),
        (["-i", "o001", "--", "o002"], ["-i", "o001", "--", "o002"]),
        (["pool.csv", "o001"], ["pool.csv", "o001"]),
        (["-i", "o001", "-o", "o002"], ["-i", "o001", "-o", "o002"]),
    ],
)
def test_spread_ids(args, spread):
    assert spread_ids(args) == spread


def test_output_is_not_cut_at_80_columns_off_a_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "-o", "a-rather-long-output-folder-name-to-pass-eighty-columns"]) == 0
    lines = capsys.readouterr().out.splitlines()
    command = next(line for line in lines if line.startswith("$ roman-asn generate"))
    assert command.endswith("a-rather-long-output-folder-name-to-pass-eighty-columns/orphans.csv")
    assert len(command) > 80


def test_json_summary_is_whole(capsys):
    assert main(["pool", "info", "--json", POOL]) == 0
    json.loads(capsys.readouterr().out)


def test_summary_table_cells_are_not_wrapped_off_a_terminal(capsys):
    assert main(["generate", POOL, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Asn_Lv3SkyCellVisit, Asn_Lv3SkyCellPass, Asn_Lv3SkyCellFull cannot run │" in out


ID = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
ARG = st.from_regex(r"[a-z0-9_./-]{1,8}", fullmatch=True).filter(
    lambda a: a != "--" and not a.startswith(("-i", "--ids"))  # (those start ids)
)


@given(st.lists(ID, min_size=1, max_size=5), st.lists(ARG, max_size=5))
def test_spread_ids_gives_every_id_its_own_option(ids, rest):
    tail = ["x.csv", *rest]  # a file name ends the ids
    spread = spread_ids(["-i", *ids, *tail])
    assert spread == [part for i in ids for part in ("-i", i)] + tail
    assert spread_ids(tail) == tail  # without -i nothing changes


@pytest.mark.parametrize("ra", ["0:60:0", "0:59:60", "17h60m"])
def test_sexagesimal_minutes_and_seconds_stop_below_60(ra):
    from roman_asn.skycells.coordinates import parse_ra

    with pytest.raises(ValueError, match="must be below 60"):
        parse_ra(ra)
    assert parse_ra("12:30:59.99") == pytest.approx(187.749958, abs=1e-5)


def test_a_cone_radius_is_a_number(tmp_path, capsys):
    from roman_asn.cli import main

    assert main(["catalog", "cone", str(tmp_path / "c.db"), "10", "10", "nan"]) == 2
    assert "is not a number of degrees" in capsys.readouterr().err


def test_an_empty_scheduler_address_is_refused(tmp_path, capsys):
    """--scheduler "" (an unset $SCHEDULER) ran on this machine as if not given."""
    bundle = tmp_path / "b.jsonl"
    assert main(["generate", POOL, "--bundle", str(bundle), "--scheduler", " "]) == 2
    assert "Invalid value for '--scheduler': an empty address" in capsys.readouterr().err
    assert not bundle.exists()
