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
    written = len(list(tmp_path.glob("*_asn.json")))
    assert written > 100
    run = subprocess.run(
        [ROMANCAL_PYTHON, "-c", LOAD_ALL, str(tmp_path)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert int(run.stdout.split()[-1]) == written
