"""One reader of exposure files: make-pool and skycell-asn (and plot, through
read_level2) refuse a given bad file with the same reason."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path

import asdf
import pytest
from roman_datamodels import datamodels as dm

from roman_asn.cli import main
from roman_asn.errors import RomanAsnError
from roman_asn.make_pool import scan_file
from roman_asn.skycells.associations import build_skycell_associations, level2_table
from roman_asn.skycells.footprints import read_level2

sys.path.insert(0, str(Path(__file__).parent))
from l2_maker import make_cal, tan_gwcs  # noqa: E402

GOOD_NAME = "r0000101001001001001_0001_wfi01_cal.asdf"


def good_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return make_cal(folder / GOOD_NAME, 10.0, -30.0)


def cut_file(folder: Path) -> Path:
    """An exposure file cut inside its YAML tree (a copy that stopped half way)."""
    data = good_file(folder / "whole").read_bytes()
    path = folder / "r0000101001001001001_0002_wfi01_cal.asdf"
    path.write_bytes(data[: data.index(b"\n...") // 2])
    return path


def coadd_file(folder: Path) -> Path:
    mosaic = dm.MosaicModel.create_fake_data(shape=(4, 4))
    path = folder / "r00001_p_v01001001001001_270p65x48y69_f158_coadd.asdf"
    mosaic.save(path)
    return path


def skycells_reference(folder: Path) -> Path:
    path = folder / "roman_wfi_skycells_0001.asdf"
    dm.SkycellsRefModel.create_fake_data().save(path)
    return path


def no_exposure_type(folder: Path) -> Path:
    """A real exposure file whose meta.exposure.type key is spelt otherwise (same
    length: the blocks stay where the file says)."""
    data = good_file(folder / "whole").read_bytes()
    assert data.count(b"\n      type: WFI_IMAGE\n") == 1
    path = folder / "r0000101001001001001_0003_wfi01_cal.asdf"
    path.write_bytes(data.replace(b"\n      type: WFI_IMAGE\n", b"\n      typo: WFI_IMAGE\n"))
    return path


def fill_exposure_type(folder: Path) -> Path:
    """An untagged Roman tree with all make-pool needs, but RAD's fill value for the
    exposure type."""
    path = folder / "r0000101001001001001_0004_wfi01_cal.asdf"
    observation = dict(program=1, execution_plan=1, segment=1, observation=1, visit=1)
    observation.update({"pass": 1, "exposure": 4})
    meta = {
        "observation": observation,
        "instrument": {"name": "WFI", "detector": "WFI01", "optical_element": "F158"},
        "exposure": {"type": "?"},
        "wcs": tan_gwcs(10.0, -30.0),
    }
    asdf.AsdfFile({"roman": {"meta": meta}}).write_to(path)
    return path


def text_file(folder: Path) -> Path:
    path = folder / "r0000101001001001001_0005_wfi01_cal.asdf"
    path.write_text("not asdf\n")
    return path


def no_roman_tree(folder: Path) -> Path:
    path = folder / "r0000101001001001001_0006_wfi01_cal.asdf"
    asdf.AsdfFile({"something": 1}).write_to(path)
    return path


def no_roman_meta(folder: Path) -> Path:
    path = folder / "r0000101001001001001_0007_wfi01_cal.asdf"
    asdf.AsdfFile({"roman": {"data": [1, 2]}}).write_to(path)
    return path


def no_wcs(folder: Path) -> Path:
    """A Level 2 image whose meta.wcs key is spelt otherwise: the data models refuse
    to write one without (RAD requires it), and romancal cannot open it."""
    data = good_file(folder / "whole").read_bytes()
    assert data.count(b"\n    wcs: !<") == 1
    path = folder / "r0000101001001001001_0008_wfi01_cal.asdf"
    path.write_bytes(data.replace(b"\n    wcs: !<", b"\n    not_wcs: !<"))
    return path


MISSING_TYPE = "missing required metadata: meta.exposure.type"
# each bad file and make-pool's reason; one ending in ": " is the start of a reason
# that goes on with asdf's words (End of YAML marker not found)
BAD_FILES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "cut": (cut_file, "broken ASDF file: "),
    "coadd": (coadd_file, "not a WFI exposure file (the roman tree is a wfi_mosaic)"),
    "reference": (skycells_reference, "a reference file (reference_files/skycells)"),
    "no exposure type": (no_exposure_type, MISSING_TYPE),
    "fill exposure type": (fill_exposure_type, MISSING_TYPE),
    "not asdf": (text_file, "not an ASDF file"),
    "no roman tree": (no_roman_tree, "ASDF file without a 'roman' tree (not a Roman data file)"),
    "no roman.meta": (no_roman_meta, "no roman.meta"),
    "no wcs": (
        no_wcs,
        "a wfi_image without meta.wcs (RAD requires one; romancal cannot open the file)",
    ),
}


def is_reason(text: str | None, expected: str) -> bool:
    if expected.endswith(": "):
        return text is not None and text.startswith(expected) and text != expected
    return text == expected


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_make_pool_and_skycell_asn_give_one_reason(tmp_path: Path, case: str) -> None:
    make, expected = BAD_FILES[case]
    path = make(tmp_path)
    reason = scan_file(str(path)).reason
    assert is_reason(reason, expected)
    run = build_skycell_associations([path], out_dir=tmp_path / "asn")
    assert [(r.path, r.reason) for r in run.skipped] == [(str(path), reason)]
    assert not run.associations
    if expected != MISSING_TYPE:  # the footprint needs no exposure type: plot draws the file
        with pytest.raises(RomanAsnError) as caught:
            read_level2(path)
        assert (caught.value.message, caught.value.path) == (reason, str(path))


def test_the_commands_list_the_same_reasons(tmp_path: Path, capsys) -> None:
    """make-pool's rejects file and skycell-asn's skipped lines, over one folder of a
    good file and every bad one: the same reason for each file, the good one used."""
    data = tmp_path / "data"
    data.mkdir()
    good = good_file(data)
    bad = {make(data): reason for make, reason in BAD_FILES.values()}
    files = sorted(data.glob("*.asdf"))  # the good and bad files, not their whole copies
    rejects = tmp_path / "rejects.csv"
    pool = tmp_path / "pool.csv"
    args = ["make-pool", *map(str, files), "-o", str(pool), "--rejects", str(rejects)]
    assert main([*args, "-j", "1", "-q"]) == 1
    with rejects.open() as handle:
        made_pool = {row["path"]: row["reason"] for row in csv.DictReader(handle)}
    assert set(made_pool) == {str(path) for path in bad}
    assert all(is_reason(made_pool[str(path)], expected) for path, expected in bad.items())
    capsys.readouterr()
    out = tmp_path / "asn"
    assert main(["skycell-asn", *map(str, files), "-o", "r00001", "-d", str(out)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    for path, reason in made_pool.items():
        assert f"skipped {path}: {reason}" in err
    members = {
        Path(member["expname"]).name
        for asn in out.glob("*_asn.json")
        for member in json.loads(asn.read_text())["products"][0]["members"]
    }
    assert members == {good.name}


def test_skycell_asn_takes_the_exposure_type_from_the_file(tmp_path: Path) -> None:
    """No WFI_IMAGE assumed: the type is the file's."""
    table, _, skipped, _ = level2_table([good_file(tmp_path)])
    assert skipped == [] and table["exp_type"].to_list() == ["WFI_IMAGE"]
