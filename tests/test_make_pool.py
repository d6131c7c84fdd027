"""make-pool: real Roman ASDF files made with roman_datamodels, read back with read_pool."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import asdf
import numpy as np
import pytest
from astropy import coordinates as coord
from astropy import units as u
from astropy.modeling import models
from gwcs import WCS
from gwcs import coordinate_frames as cf
from roman_datamodels import datamodels as dm

from roman_asn.cli import main
from roman_asn.make_pool import CORNER_COLUMNS, build_pool, read_exposure_row, scan_file, scan_files
from roman_asn.pool import read_pool

PIXEL_DEG = 0.11 / 3600


def tan_wcs(ra: float, dec: float, shape: tuple[int, int]) -> WCS:
    """A TAN imaging WCS with the reference at the array centre, north up, east left."""
    ny, nx = shape
    transform = (
        models.Shift(-(nx - 1) / 2) & models.Shift(-(ny - 1) / 2)
        | models.Scale(-PIXEL_DEG) & models.Scale(PIXEL_DEG)
        | models.Pix2Sky_TAN()
        | models.RotateNative2Celestial(ra, dec, 180)
    )
    detector = cf.Frame2D(name="detector", axes_order=(0, 1), unit=(u.pix, u.pix))
    sky = cf.CelestialFrame(reference_frame=coord.ICRS(), name="world", unit=(u.deg, u.deg))
    wcs = WCS([(detector, transform), (sky, None)])
    wcs.bounding_box = ((-0.5, nx - 0.5), (-0.5, ny - 0.5))
    return wcs


def set_meta(model, *, program, visit, exposure, detector, optical_element, pass_=1) -> None:
    obs = model.meta.observation
    obs["program"] = program
    obs["execution_plan"] = 1
    obs["pass"] = pass_
    obs["segment"] = 1
    obs["observation"] = 1
    obs["visit"] = visit
    obs["exposure"] = exposure
    obs["visit_id"] = f"{program:05d}01{pass_:03d}001001{visit:03d}"
    model.meta.instrument["detector"] = detector
    model.meta.instrument["optical_element"] = optical_element
    model.meta.exposure["type"] = "WFI_IMAGE"
    model.meta.program["category"] = "SURVEY"
    model.meta.program["subcategory"] = "HLWA"
    model.meta.pointing["target_ra"] = 10.0
    model.meta.pointing["target_dec"] = -20.0
    model.meta.pointing["pa_aperture"] = 45.0


def l2_name(program: int, visit: int, exposure: int, detector: str, suffix: str = "cal") -> str:
    return f"r{program:05d}01001001001{visit:03d}_{exposure:04d}_{detector.lower()}_{suffix}.asdf"


def make_l2(
    folder: Path,
    *,
    program: int = 1,
    visit: int = 1,
    exposure: int = 1,
    detector: str = "WFI01",
    optical_element: str = "F158",
    ra: float = 10.0,
    dec: float = -20.0,
    shape: tuple[int, int] = (6, 8),
    suffix: str = "cal",
    bounding_box: bool = True,
) -> Path:
    model = dm.ImageModel.create_fake_data(shape=shape)
    set_meta(
        model,
        program=program,
        visit=visit,
        exposure=exposure,
        detector=detector,
        optical_element=optical_element,
    )
    model.meta["wcs"] = tan_wcs(ra, dec, shape)
    if not bounding_box:
        model.meta["wcs"].bounding_box = None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / l2_name(program, visit, exposure, detector, suffix)
    model.meta["filename"] = path.name
    model.save(path, all_array_storage="internal")  # blocks, as in real files
    return path


def make_l1(
    folder: Path, *, exposure: int = 1, detector: str = "WFI02", s_region: str | None = None
) -> Path:
    model = dm.ScienceRawModel.create_fake_data(shape=(2, 8, 8))
    set_meta(
        model, program=7, visit=2, exposure=exposure, detector=detector, optical_element="F087"
    )
    if s_region is not None:
        model.meta.wcsinfo["s_region"] = s_region
    model.meta.exposure["start_time"] = model.meta.exposure["start_time"].__class__(
        "2027-03-04T05:06:07.250", format="isot", scale="utc"
    )
    path = folder / l2_name(7, 2, exposure, detector, "uncal")
    model.meta["filename"] = path.name
    model.save(path, all_array_storage="internal")  # blocks, as in real files
    return path


def run(*args: str) -> int:
    return main(["make-pool", *map(str, args)])


# ---------------------------------------------------------------- values


def test_level2_row_has_metadata_and_footprint(tmp_path: Path) -> None:
    path = make_l2(tmp_path, program=12, visit=3, exposure=4, detector="WFI07", ra=150.0, dec=2.0)
    row = read_exposure_row(path)
    assert row["filename"] == path.name
    assert (row["program"], row["execution_plan"], row["pass"]) == (12, 1, 1)
    assert (row["segment"], row["observation"], row["visit"], row["exposure"]) == (1, 1, 3, 4)
    assert row["visit_id"] == "0001201001001001003"
    assert (row["detector"], row["optical_element"]) == ("WFI07", "F158")
    assert row["exp_type"] == "WFI_IMAGE"
    assert row["instrument"] == "WFI"
    assert (row["category"], row["subcategory"]) == ("SURVEY", "HLWA")
    assert (row["pointing_ra"], row["pointing_dec"], row["pointing_pa"]) == (10.0, -20.0, 45.0)
    assert row["target"] is None and row["candidates"] == [] and row["exposerr"] is None

    expected = tan_wcs(150.0, 2.0, (6, 8))([-0.5, 7.5, 7.5, -0.5], [-0.5, -0.5, 5.5, 5.5])
    for i in range(4):
        assert row[f"ra_corn{i + 1}"] == pytest.approx(expected[0][i], abs=1e-12)
        assert row[f"dec_corn{i + 1}"] == pytest.approx(expected[1][i], abs=1e-12)
    # 8 x 6 pixels of 0.11": corners 1-2 span x, 2-3 span y
    half_x = (row["ra_corn1"] - row["ra_corn2"]) * np.cos(np.radians(2.0)) * 3600
    assert half_x == pytest.approx(8 * 0.11, rel=1e-3)
    assert (row["dec_corn3"] - row["dec_corn2"]) * 3600 == pytest.approx(6 * 0.11, rel=1e-3)
    assert row["s_region"].startswith("POLYGON ICRS ")


def test_footprint_without_bounding_box_uses_the_array_shape(tmp_path: Path) -> None:
    with_box = read_exposure_row(make_l2(tmp_path / "a", shape=(6, 8)))
    without = read_exposure_row(make_l2(tmp_path / "b", shape=(6, 8), bounding_box=False))
    for name in (name for pair in CORNER_COLUMNS for name in pair):
        assert without[name] == pytest.approx(with_box[name], abs=1e-12)


def test_footprint_from_s_region_without_wcs(tmp_path: Path) -> None:
    polygon = "POLYGON ICRS 1.0 2.0 1.1 2.0 1.1 2.1 1.0 2.1"
    path = make_l1(tmp_path, s_region=polygon)  # Level 1: no gwcs, only wcsinfo
    row = read_exposure_row(path)
    assert row["s_region"] == polygon
    assert [row[f"ra_corn{i}"] for i in range(1, 5)] == [1.0, 1.1, 1.1, 1.0]
    assert [row[f"dec_corn{i}"] for i in range(1, 5)] == [2.0, 2.0, 2.1, 2.1]


def test_level1_has_no_footprint_and_iso_start_time(tmp_path: Path) -> None:
    row = read_exposure_row(make_l1(tmp_path))
    assert row["start_time"] == "2027-03-04T05:06:07.250"
    assert (row["program"], row["visit"], row["optical_element"]) == (7, 2, "F087")
    assert "ra_corn1" not in row and "dec_corn4" not in row
    assert row["s_region"] is None


def test_pixel_arrays_are_never_read(tmp_path: Path, monkeypatch) -> None:
    import asdf._block.reader as block_reader

    path = make_l2(tmp_path, shape=(64, 64))
    make_l1(tmp_path)

    def refuse(self):
        raise AssertionError("a data block was read")

    monkeypatch.setattr(block_reader.ReadBlock, "load", refuse)
    monkeypatch.setattr(block_reader.ReadBlock, "data", property(refuse))
    for file in sorted(tmp_path.glob("*.asdf")):
        result = scan_file(str(file))
        assert result.row is not None, result.reason
    # the same file does need its blocks for the pixels: the guard is real
    with asdf.open(path, lazy_load=True) as af, pytest.raises(AssertionError):
        np.asarray(af["roman"]["data"]).sum()


# ---------------------------------------------------------------- CLI and formats


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".ecsv"])
def test_cli_writes_every_format_sorted(tmp_path: Path, suffix: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    made = [
        make_l2(data, visit=2, exposure=1, detector="WFI03"),
        make_l2(data, visit=1, exposure=2, detector="WFI01", optical_element="F062"),
        make_l2(data, visit=1, exposure=1, detector="WFI18"),
    ]
    out = tmp_path / f"pool{suffix}"
    assert run(data, "-o", out, "-j", "1", "-q") == 0
    pool = read_pool(out)
    assert pool.table["filename"].to_list() == sorted(p.name for p in made)
    row = pool.table.row(1, named=True)  # visit 1, exposure 2
    assert row["optical_element"] == "F062" and row["exposure"] == 2
    assert row["visit_id"] == "0000101001001001001"
    assert row["candidates"] == [] and row["exposerr"] is None
    assert row["ra_corn1"] is not None and row["dec_corn4"] is not None


def _only_good_and_rejects(data: Path, out: Path, good: Path, workers: str) -> dict[str, str]:
    """make-pool over ``data`` exits 1 with ``good`` alone in the pool: the rejects'
    reasons by file name."""
    rejects = out.parent / "rejects.csv"
    assert run(data, "-o", out, "--rejects", rejects, "-j", workers, "-q") == 1
    assert read_pool(out).table["filename"].to_list() == [good.name]
    reasons = dict(line.split(",", 1) for line in rejects.read_text().splitlines()[1:])
    return {Path(k).name: v for k, v in reasons.items()}


def test_rejects_are_listed_and_exit_status_is_1(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    data.mkdir()
    good = make_l2(data)
    (data / "text [bold].asdf").write_text("hello\n")  # brackets: not rich markup
    broken = data / "broken_cal.asdf"
    broken.write_bytes(good.read_bytes()[:300])
    asdf.AsdfFile({"something": 1}).write_to(data / "plain.asdf")
    ref = dm.DarkRefModel.create_fake_data(shape=(2, 8, 8))
    ref.save(data / "dark.asdf")
    incomplete = dm.ImageModel.create_fake_data(shape=(4, 4))
    incomplete.meta["filename"] = "incomplete_cal.asdf"
    incomplete.save(data / "incomplete_cal.asdf")
    mosaic = dm.MosaicModel.create_fake_data(shape=(4, 4))
    mosaic.meta["filename"] = "mosaic_coadd.asdf"
    mosaic.save(data / "mosaic_coadd.asdf")

    reasons = _only_good_and_rejects(data, tmp_path / "pool.parquet", good, "2")
    assert set(reasons) == {
        "text [bold].asdf",
        "broken_cal.asdf",
        "plain.asdf",
        "dark.asdf",
        "incomplete_cal.asdf",
        "mosaic_coadd.asdf",
    }
    assert reasons["text [bold].asdf"] == "not an ASDF file"
    assert reasons["plain.asdf"].startswith("ASDF file without a 'roman' tree")
    assert reasons["dark.asdf"].startswith("a reference file")
    assert "meta.observation.program" in reasons["incomplete_cal.asdf"]
    assert "wfi_mosaic" in reasons["mosaic_coadd.asdf"]
    assert reasons["broken_cal.asdf"]
    err = capsys.readouterr().err
    assert "text [bold].asdf: not an ASDF file" in err


def test_nothing_readable_exits_2_without_a_pool(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.asdf"
    bad.write_text("not asdf")
    out = tmp_path / "pool.csv"
    assert run(bad, "-o", out) == 2
    assert not out.exists()
    assert "none of the 1 file(s)" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(empty, "-o", out) == 2
    assert "no *.asdf files found" in capsys.readouterr().err


def test_missing_input_is_a_reject(tmp_path: Path) -> None:
    good = make_l2(tmp_path)
    out = tmp_path / "pool.csv"
    assert run(good, tmp_path / "nowhere.asdf", "-o", out, "-q") == 1
    assert len(read_pool(out)) == 1


def test_recursive_search_and_duplicate_names(tmp_path: Path) -> None:
    top = tmp_path / "top"
    (top / "a").mkdir(parents=True)
    (top / "b").mkdir()
    shallow = make_l2(top, visit=1)
    make_l2(top / "a", visit=2)
    make_l2(top / "b", visit=2)  # same name as in a/
    out = tmp_path / "pool.csv"
    assert run(top, "-o", out, "-q", "-j", "1") == 0
    assert read_pool(out).table["filename"].to_list() == [shallow.name]
    rejects = tmp_path / "rejects.csv"
    assert run(top, shallow, "-R", "-o", out, "-q", "--rejects", rejects) == 1
    assert len(read_pool(out)) == 2  # shallow counted once though named twice
    assert "duplicate file name" in rejects.read_text()
    assert str(top / "b") in rejects.read_text()


def test_row_order_does_not_depend_on_workers(tmp_path: Path) -> None:
    files = [make_l2(tmp_path, exposure=e, detector=f"WFI{d:02d}") for e in (2, 1) for d in (3, 1)]
    serial = build_pool(scan_files(files, jobs=1)).pool.table
    parallel = build_pool(scan_files(list(reversed(files)), jobs=2, parallel_from=0)).pool.table
    assert serial.equals(parallel)
    assert serial["filename"].to_list() == sorted(f.name for f in files)


def test_case_of_file_names_is_kept(tmp_path: Path) -> None:
    path = make_l2(tmp_path)
    upper = path.with_name("r0000101001001001001_0001_WFI_uncal.asdf")
    path.rename(upper)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        made = build_pool(scan_files([upper], jobs=1))
    assert made.pool.table["filename"].to_list() == [upper.name]


# ---------------------------------------------------------------- with the generator


def test_made_pool_feeds_the_generator(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    files = [make_l2(data, exposure=e, detector=d) for e in (1, 2) for d in ("WFI01", "WFI02")]
    pool = tmp_path / "pool.csv"
    assert run(data, "-o", pool, "-q") == 0
    out = tmp_path / "asn"
    status = main(["generate", str(pool), "-o", str(out)])
    assert status == 0
    members = set()
    rules = set()
    mosaics = 0
    for asn_file in out.glob("*_asn.json"):
        asn = json.loads(asn_file.read_text())
        if asn["asn_type"] == "multiband":  # its members are the sky-cell coadds
            continue
        rules.add(asn["asn_rule"])
        if asn["asn_rule"] == "Asn_Lv3Mosaic":  # files carry no target: grouped as notarget
            assert "_notarget_" in asn["products"][0]["name"]
            mosaics += 1
        for product in asn["products"]:
            members.update(m["expname"] for m in product["members"])
    assert members, "the generator made no association"
    assert any("lv2" in rule.lower() for rule in rules), f"no Level 2 rule among {rules}"
    assert mosaics > 0 and "Asn_Lv3SkyCellFull" in rules
    # every pooled file is a member and every member is a pooled file (the suffix may change)
    stems = {f.name.rsplit("_", 1)[0] for f in files}
    assert {m.rsplit("_", 1)[0] for m in members} == stems


@pytest.fixture(scope="module")
def exposure_files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("exposures")
    for exposure in range(1, 13):
        make_l2(folder, exposure=exposure, ra=10.0 + exposure * 0.01)
    return folder


_PARALLEL_MAKE_POOL = """
import sys
if __name__ == "__main__":  # the fork server's workers import this file again
    import roman_asn.make_pool as make_pool
    make_pool.scan_files.__kwdefaults__["parallel_from"] = 0  # workers for a few files
    from roman_asn.cli import main
    print("start", flush=True)
    sys.exit(main(["make-pool", sys.argv[1], "-o", sys.argv[2], "-j", "2", "-q"]))
"""


@pytest.mark.parametrize(
    "stop, delay, group",
    [
        ("SIGINT", 0.2, True),
        ("SIGINT", 1.0, True),
        ("SIGTERM", 1.0, True),
        ("SIGTERM", 0.2, False),
    ],
)
def test_stopping_make_pool_with_workers_prints_no_traceback(
    exposure_files, tmp_path, stop, delay, group
):
    """Ctrl-C reaches the whole process group (the fork server and its workers too), as
    does a SIGTERM sent to the group; a SIGTERM sent to make-pool alone leaves workers
    starting with nothing to start from. Stopped while the workers start or scan,
    make-pool says it was stopped, once, writes nothing, and leaves no process behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "parallel_make_pool.py"
    script.write_text(_PARALLEL_MAKE_POOL)
    out = tmp_path / "pool.csv"
    child = subprocess.Popen(
        [sys.executable, str(script), str(exposure_files), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, as a shell's job
    )
    assert child.stdout.readline().strip() == "start"
    time.sleep(delay)
    (os.killpg if group else os.kill)(child.pid, getattr(signal, stop))
    _, err = child.communicate(timeout=60)
    assert "Traceback" not in err, err
    if child.returncode != 0:  # else it finished first
        assert child.returncode == {"SIGINT": 130, "SIGTERM": 143}[stop]
        assert err.strip() in ("Interrupted.", "Terminated.")
        assert not out.exists()
    deadline = time.monotonic() + 20  # the workers end once their files are done
    while time.monotonic() < deadline:
        try:
            os.killpg(child.pid, 0)
        except ProcessLookupError:
            break  # nothing of the group is left
        time.sleep(0.1)
    else:
        pytest.fail("make-pool's workers outlived it")


def test_a_detector_that_is_none_of_the_18_is_a_reject(tmp_path: Path) -> None:
    """A detector value no WFI file has (WFI19) or a list where a name goes is refused
    with its reason, not written into the pool (a list as its Python repr)."""
    data = tmp_path / "data"
    data.mkdir()
    good = make_l2(data)
    raw = good.read_bytes()  # edited as text: the data models would not write these
    assert raw.count(b"detector: WFI01") == 1
    for value, name in ((b"WFI19", "odd_wfi19_cal.asdf"), (b"[WFI01]", "odd_list_cal.asdf")):
        (data / name).write_bytes(raw.replace(b"detector: WFI01", b"detector: " + value))
    reasons = _only_good_and_rejects(data, tmp_path / "pool.csv", good, "1")
    assert "'WFI19', not one of WFI01..WFI18" in reasons["odd_wfi19_cal.asdf"]
    assert "meta.instrument.detector is not a text" in reasons["odd_list_cal.asdf"]


def test_folders_among_the_inputs_are_listed_not_dropped(tmp_path: Path) -> None:
    """A folder named like an ASDF file inside a scanned folder, and an empty folder
    named beside other inputs, are rejects with a reason (exit 1), never silent."""
    data = tmp_path / "data"
    data.mkdir()
    good = make_l2(data)
    (data / "folder_cal.asdf").mkdir()
    empty = tmp_path / "empty"
    empty.mkdir()
    rejects = tmp_path / "rejects.csv"
    out = tmp_path / "pool.csv"
    assert run(data, empty, "-o", out, "--rejects", rejects, "-j", "1", "-q") == 1
    assert read_pool(out).table["filename"].to_list() == [good.name]
    with rejects.open(newline="") as handle:
        reasons = dict(list(csv.reader(handle))[1:])
    assert reasons == {
        str(data / "folder_cal.asdf"): "a folder, not an ASDF file",
        str(empty): "a folder with no *.asdf files",
    }


def distorted_wcs(ra: float, dec: float, shape: tuple[int, int], bow: float) -> WCS:
    """tan_wcs with a quadratic distortion: x + bow y^2, y + bow x^2 (pixels)."""
    wcs = tan_wcs(ra, dec, shape)
    ny, nx = shape
    centre = models.Shift(-(nx - 1) / 2) & models.Shift(-(ny - 1) / 2)
    quadratic = models.Mapping((0, 1, 0, 1)) | (
        models.Polynomial2D(2, c1_0=1.0, c0_2=bow) & models.Polynomial2D(2, c0_1=1.0, c2_0=bow)
    )
    uncentre = models.Shift((nx - 1) / 2) & models.Shift((ny - 1) / 2)
    box = wcs.bounding_box
    distorted = WCS(
        [
            (wcs.input_frame, centre | quadratic | uncentre | wcs.forward_transform),
            (wcs.output_frame, None),
        ]
    )
    distorted.bounding_box = box
    return distorted


def test_a_distorted_wcs_gives_the_outline_skycell_asn_samples(tmp_path: Path) -> None:
    """Distortion bows a detector's edges off the great circles through its corners:
    the pool then carries the sampled outline (no corners), the same one skycell-asn
    and the plots read from the file, so every command puts it on the same cells."""
    import polars as pl

    from roman_asn.skycells.footprints import EDGE_SAMPLES, footprints_from_table, read_level2

    straight = read_exposure_row(make_l2(tmp_path / "straight", shape=(400, 500)))
    assert straight["ra_corn1"] is not None  # no distortion: four corners say it all

    path = make_l2(tmp_path / "bowed", shape=(400, 500))
    model = dm.open(path)
    model.meta["wcs"] = distorted_wcs(10.0, -20.0, (400, 500), bow=2e-4)  # 12 px at a corner
    model.save(tmp_path / path.name)
    model.close()
    row = read_exposure_row(tmp_path / path.name)
    assert all(row.get(f"{axis}_corn{i}") is None for axis in ("ra", "dec") for i in range(1, 5))
    table = pl.DataFrame({"s_region": [row["s_region"]]})
    ra, dec, source = footprints_from_table(table)
    assert list(source) == ["s_region"] and ra.shape == (1, 4 * EDGE_SAMPLES)
    sampled = read_level2(tmp_path / path.name)
    assert np.allclose(ra[0], sampled["ra"], atol=1e-9)
    assert np.allclose(dec[0], sampled["dec"], atol=1e-9)


def test_a_pointing_of_another_aperture_is_taken_to_wfi_cen(tmp_path: Path) -> None:
    """meta.pointing places target_aperture on the target; a Level 1 file with no WCS
    is placed by it, so the pool's WFI_CEN pointing must come through the SIAF. A name
    the SIAF lacks cannot place a file that has nothing else, and is said so."""
    import warnings

    import polars as pl
    import pysiaf
    from pysiaf.utils import rotations

    from roman_asn.skycells.footprints import footprints_from_table

    def level1(folder: Path, aperture: str, s_region: str | None = None) -> Path:
        path = make_l1(folder, detector="WFI05", s_region=s_region)
        model = dm.open(path)
        model.meta.pointing["target_aperture"] = aperture
        model.save(folder / ("x_" + path.name))
        model.close()
        return folder / ("x_" + path.name)

    (tmp_path / "a").mkdir()
    row = read_exposure_row(level1(tmp_path / "a", "WFI02_FULL"))
    ra, dec, source = footprints_from_table(pl.DataFrame([row]))
    assert list(source) == ["pointing"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        siaf = pysiaf.Siaf("Roman")
    aperture = siaf["WFI02_FULL"]
    attitude = rotations.attitude(
        aperture.V2Ref, aperture.V3Ref, 10.0, -20.0, 45.0 - aperture.V3IdlYAngle
    )
    detector = siaf["WFI05_FULL"]
    detector.set_attitude_matrix(attitude)
    expected_ra, expected_dec = detector.corners("sky")
    assert np.allclose(ra[0, :4], expected_ra, atol=1e-9)
    assert np.allclose(dec[0, :4], expected_dec, atol=1e-9)

    (tmp_path / "b").mkdir()
    with pytest.raises(Exception, match="wcsinfo, and meta.pointing.target_aperture 'NOPE' is no"):
        read_exposure_row(level1(tmp_path / "b", "NOPE"))
    (tmp_path / "c").mkdir()
    polygon = "POLYGON ICRS 1.0 2.0 1.1 2.0 1.1 2.1 1.0 2.1"
    row = read_exposure_row(level1(tmp_path / "c", "NOPE", s_region=polygon))
    assert row["ra_corn1"] == 1.0 and row["pointing_ra"] is None


def test_a_level1_file_is_placed_by_its_wcsinfo(tmp_path: Path) -> None:
    """A Level 1 file has no WCS yet; romancal's assign_wcs will make one from
    meta.wcsinfo (v23tosky: ra_ref, dec_ref at v2_ref, v3_ref, rolled by roll_ref), so
    the pool takes the detector's corners from there, before the target pointing."""
    import warnings

    import pysiaf
    from astropy.modeling.models import RotationSequence3D, Scale
    from gwcs.geometry import CartesianToSpherical, SphericalToCartesian

    path = make_l1(tmp_path, detector="WFI07", s_region="CIRCLE ICRS 1 2 0.1")  # no polygon
    model = dm.open(path)
    info = {"ra_ref": 200.5, "dec_ref": -30.25, "roll_ref": 112.0}
    info.update(v2_ref=536.014439839392, v3_ref=-1718.7477566076013)  # WFI07_FULL
    for key, value in info.items():
        model.meta.wcsinfo[key] = value
    model.save(tmp_path / ("w_" + path.name))
    model.close()
    row = read_exposure_row(tmp_path / ("w_" + path.name))

    # romancal's v23tosky, written out, on the SIAF corners of WFI07
    angles = [info["v2_ref"] / 3600, -info["v3_ref"] / 3600, info["roll_ref"]]
    rotation = RotationSequence3D([*angles, info["dec_ref"], -info["ra_ref"]], axes_order="zyxyz")
    v23tosky = (
        (Scale(1 / 3600) & Scale(1 / 3600))
        | SphericalToCartesian(wrap_lon_at=180)
        | rotation
        | CartesianToSpherical(wrap_lon_at=360)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v2, v3 = pysiaf.Siaf("Roman")["WFI07_FULL"].corners("tel")
    expected_ra, expected_dec = v23tosky(v2, v3)
    assert [row[f"ra_corn{i}"] for i in range(1, 5)] == pytest.approx(expected_ra, abs=1e-9)
    assert [row[f"dec_corn{i}"] for i in range(1, 5)] == pytest.approx(expected_dec, abs=1e-9)
    assert row["s_region"] == "CIRCLE ICRS 1 2 0.1"  # the file's, as it is
