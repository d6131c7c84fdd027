"""Our files in romancal itself. Runs when ROMANCAL_PYTHON names a Python that has
romancal installed (its own virtual environment: `make compat`)."""

import os
import subprocess
from importlib.resources import as_file, files
from pathlib import Path

import pytest

from roman_asn.cli import main

# absolute: the tests run it (and its asn_from_list) from temporary folders
ROMANCAL_PYTHON = (
    os.path.abspath(os.environ["ROMANCAL_PYTHON"]) if os.environ.get("ROMANCAL_PYTHON") else None
)
pytestmark = pytest.mark.skipif(
    not ROMANCAL_PYTHON, reason="set ROMANCAL_PYTHON to a python with romancal (make compat)"
)

LOAD_ALL = """
import sys
from pathlib import Path
from romancal.associations import load_asn
names = sorted(Path(sys.argv[1]).glob("*_asn.json"))
for path in names:
    with open(path) as handle:
        asn = load_asn(handle)
    assert asn["products"][0]["members"], path
print(len(names))
"""


def test_romancal_loads_every_generated_association(tmp_path: Path) -> None:
    with as_file(files("roman_asn.data").joinpath("demo_pool.csv")) as pool:
        assert main(["generate", str(pool), "-o", str(tmp_path), "--no-progress"]) == 0
    _romancal_loads_all(tmp_path)


def _romancal_loads_all(folder: Path) -> None:
    """romancal's load_asn reads every association file of ``folder`` (more than 100)."""
    written = len(list(folder.glob("*_asn.json")))
    assert written > 100
    run = subprocess.run(
        [ROMANCAL_PYTHON, "-c", LOAD_ALL, str(folder)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert int(run.stdout.split()[-1]) == written


def test_romancal_loads_every_catalog_export(tmp_path: Path) -> None:
    """The catalog writes the same files: romancal loads every one it exports."""
    with as_file(files("roman_asn.data").joinpath("demo_pool.csv")) as pool:
        catalog = str(tmp_path / "archive.db")
        assert main(["catalog", "ingest", catalog, str(pool)]) == 0
    out = tmp_path / "asn"
    assert main(["catalog", "export", catalog, "-o", str(out)]) == 0
    _romancal_loads_all(out)


MAKE_CAL = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from l2_maker import make_cal
out = Path(sys.argv[2])
make_cal(out / "r0000101001001001001_0001_wfi01_cal.asdf", 5.0, 86.0)
make_cal(out / "r0000201001001001001_0001_wfi01_cal.asdf", 5.01, 86.0,
         visit_id="0000201001001001001")
"""

OPEN_MEMBERS = """
import sys, warnings
from pathlib import Path
warnings.simplefilter("ignore")
from romancal.datamodels import ModelLibrary
names = sorted(Path(sys.argv[1]).rglob("*_asn.json"))
for path in names:
    library = ModelLibrary(str(path))
    with library:
        for index, model in enumerate(library):
            library.shelve(model, index, modify=False)
print(len(names))
"""


def test_romancal_opens_the_members_of_sky_cell_associations(tmp_path: Path, monkeypatch) -> None:
    """Files made by romancal's own datamodels, associations by skycell-asn with a
    folder in the root: romancal's ModelLibrary opens every member."""
    cal = tmp_path / "data" / "cal"
    cal.mkdir(parents=True)
    tests = str(Path(__file__).parent)
    run = subprocess.run([ROMANCAL_PYTHON, "-c", MAKE_CAL, tests, str(cal)], capture_output=True)
    assert run.returncode == 0, run.stderr
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    skymap = str(Path(__file__).parent / "data" / "skymap_subset.asdf")
    args = ["skycell-asn", "../data/cal/r0000101001001001001_0001_wfi01_cal.asdf"]
    assert main([*args, "-o", "out/r00001", "-d", "asn", "--skymap", skymap]) == 0
    assert (
        main(["skycell-asn", *map(str, sorted(cal.iterdir())), "-d", "all", "--skymap", skymap])
        == 0
    )
    run = subprocess.run(
        [ROMANCAL_PYTHON, "-c", OPEN_MEMBERS, str(work)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert int(run.stdout.split()[-1]) == len(list(work.rglob("*_asn.json"))) > 0


SKY_CELLS_OF_ALL = """
import json, sys
from pathlib import Path
from romancal.skycell.skymap import SkyCells, SkyMap
skymap = SkyMap(sys.argv[2])
cells = none = 0
for path in sorted(Path(sys.argv[1]).glob("*_asn.json")):
    asn = json.loads(path.read_text())
    if not asn["asn_rule"].startswith("Asn_Lv3"):
        continue
    try:  # what romancal's resample step asks of a Level 3 association
        SkyCells.from_asns([asn], skymap=skymap)
        cells += 1
    except ValueError:  # "None": the step computes the output WCS from its inputs
        none += 1
print(cells, none)
"""


def test_romancal_finds_the_sky_cell_of_every_level3_association_or_none(
    tmp_path: Path, monkeypatch
) -> None:
    """romancal's resample step (resample_on_skycell, its default) takes a Level 3
    association's target as a sky cell name unless it is "None", and fails on any
    other text. Files made by romancal's datamodels, a pool made of them, every
    association: the sky-cell ones name their cell, the others say "None"."""
    cal = tmp_path / "cal"
    cal.mkdir()
    tests = str(Path(__file__).parent)
    run = subprocess.run([ROMANCAL_PYTHON, "-c", MAKE_CAL, tests, str(cal)], capture_output=True)
    assert run.returncode == 0, run.stderr
    skymap = str(Path(__file__).parent / "data" / "skymap_subset.asdf")
    monkeypatch.setenv("SKYMAP_PATH", skymap)
    pool, out = str(tmp_path / "pool.csv"), tmp_path / "asn"
    assert main(["make-pool", str(cal), "-o", pool, "-q"]) == 0
    assert main(["generate", pool, "-o", str(out), "--no-progress"]) == 0
    run = subprocess.run(
        [ROMANCAL_PYTHON, "-c", SKY_CELLS_OF_ALL, str(out), skymap], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    cells, none = map(int, run.stdout.split())
    assert cells > 0 and none > 0
