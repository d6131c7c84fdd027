import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from roman_asn import load_asn
from roman_asn.cli import main
from roman_asn.cli.demo import demo_pool_resource

DATA = Path(__file__).parent / "data"


def test_pool_info_json_counts(capsys):
    assert main(["pool", "info", "--json", str(DATA / "pool_002_wfi_image.csv")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 2
    assert summary["programs"] == {"00992": 2}
    assert summary["exp_types"] == {"WFI_IMAGE": 2}
    assert summary["filters"] == {"F158": 2}
    assert summary["candidates"] == {"o001 (observation)": 1, "o002 (observation)": 1}
    assert summary["missing"]["exposerr"] == 2
    assert summary["missing"]["filename"] == 0


def test_pool_info_table(capsys):
    assert main(["pool", "info", str(DATA / "pool_001_candidates.csv")]) == 0
    out = capsys.readouterr().out
    assert "6 rows, 3 distinct files, 29 columns" in out
    assert "3 rows repeat a file name" in out
    assert "o001 (observation)" in out


def test_pool_convert(tmp_path, capsys):
    target = tmp_path / "pool.parquet"
    assert main(["pool", "convert", str(DATA / "pool_001_candidates.csv"), str(target)]) == 0
    assert target.read_bytes()[:4] == b"PAR1"


def test_demo_runs_on_the_shipped_pool(tmp_path, capsys, monkeypatch):
    """make demo: every association of the shipped pool, and the one orphan with its reason."""
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Demo pool demo_pool.csv: 145 rows" in out
    assert "$ roman-asn generate " in out and "--orphans demo-output/orphans.csv" in out
    assert "rows: 145, in associations: 144, orphans: 1" in out
    assert "wrote 1,487 association files to demo-output" in out
    folder = tmp_path / "demo-output"
    files = sorted(folder.glob("*_asn.json"))
    assert len(files) == 1487
    # the catalog part: two halves ingested, then what changed
    assert "$ roman-asn catalog ingest demo-output/catalog.db demo_pool_day2.csv" in out
    assert "$ roman-asn catalog changes demo-output/catalog.db" in out
    from roman_asn.catalog import Catalog

    with Catalog.open(folder / "catalog.db") as catalog:
        assert catalog.stats()["associations"] == 1487
        assert [r["inputs"] for r in catalog.runs()] == [
            ["demo_pool_day1.csv"],
            ["demo_pool_day2.csv"],
        ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo-output"]  # nothing elsewhere
    kinds = {}
    for path in files[::50]:
        asn = load_asn(path, validate=True)
        kinds[asn.asn_rule] = asn.asn_type
    assert {"Asn_Lv2Image", "Asn_Lv3SkyCellMultiband"} <= set(kinds)
    orphans = pl.read_csv(folder / "orphans.csv")
    assert orphans["filename"].to_list() == ["r0000101001001003001_0001_wfi01_uncal.asdf"]
    assert orphans["reasons"][0].startswith("not a science type (exp_type WFI_DARK)")


@pytest.mark.parametrize("kind", ["another catalog", "another file"])
def test_demo_replaces_its_own_catalog_only(tmp_path, capsys, monkeypatch, kind):
    """A second demo into the same folder makes its catalog anew; a catalog.db the
    demo did not make (the user's) is refused before any work, and left as it was."""
    from roman_asn.catalog import Catalog

    monkeypatch.chdir(tmp_path)
    assert main(["demo", "-o", "mine"]) == 0
    assert main(["demo", "-o", "mine"]) == 0  # its own: replaced
    with Catalog.open(tmp_path / "mine" / "catalog.db") as catalog:
        assert len(catalog.runs()) == 2
    folder = tmp_path / "theirs"
    folder.mkdir()
    theirs = folder / "catalog.db"
    if kind == "another catalog":
        assert main(["catalog", "ingest", str(theirs), str(demo_pool_resource())]) == 0
    else:
        theirs.write_text("notes\n")
    before = theirs.read_bytes()
    capsys.readouterr()
    assert main(["demo", "-o", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"{theirs}: is not a catalog the demo made" in err
    assert theirs.read_bytes() == before
    assert not list(folder.glob("*_asn.json"))  # refused before any work


def test_module_entry_point_and_unknown_command():
    run = subprocess.run(
        [sys.executable, "-m", "roman_asn", "--help"], capture_output=True, text=True
    )
    assert run.returncode == 0 and "validate" in run.stdout and "pool" in run.stdout
    run = subprocess.run(
        [sys.executable, "-m", "roman_asn", "nonsense"], capture_output=True, text=True
    )
    assert run.returncode == 2 and "No such command" in run.stderr


def test_an_exit_with_a_message_prints_it():
    """A SystemExit carrying a message (``sys.exit("...")``) says it, as Python would:
    no path out of the command line ends silently with status 1."""
    script = (
        "import sys, click\n"
        "from roman_asn.cli.common import run_cli\n"
        "@click.group()\n"
        "def g(): pass\n"
        "@g.command()\n"
        "def stop(): sys.exit('the reason')\n"
        "sys.exit(run_cli(g, ['stop']))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip() == "error: the reason"


def test_an_error_is_one_line_whatever_names_it_holds(tmp_path, capsys):
    """A name given back in an error may hold a newline: the error stays one line."""
    from roman_asn.errors import RomanAsnError

    error = RomanAsnError("no current association named a\nb", path=str(tmp_path / "c.db"))
    error.show()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a\\nb" in err
