"""roman-asn plot writes a real PNG with drawn content."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import polars as pl
from matplotlib.image import imread

from roman_asn.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from l2_maker import make_cal  # noqa: E402

DEMO_POOL = Path(__file__).parents[1] / "src/roman_asn/data/demo_pool.csv"


def _check_png(path: Path) -> None:
    image = imread(path)
    assert image.shape[:2] == (800, 800)
    assert np.unique(image.reshape(-1, image.shape[2]), axis=0).shape[0] > 10


def test_plot_association_with_members(tmp_path):
    make_cal(tmp_path / "r0000101001001001001_0001_wfi01_cal.asdf", 45.0, 86.0)
    assert (
        main(
            [
                "skycell",
                str(tmp_path / "r0000101001001001001_0001_wfi01_cal.asdf"),
                "-o",
                "r00001",
                "-d",
                str(tmp_path),
            ]
        )
        == 0
    )
    asn = sorted(tmp_path.glob("*_asn.json"))[0]
    out = tmp_path / "coverage.png"
    assert main(["plot", str(asn), "-o", str(out)]) == 0
    _check_png(out)


def test_plot_association_without_members_uses_cell_outline(tmp_path):
    data = json.loads((Path(__file__).parent / "data" / "L3_mosaic_asn.json").read_text())
    from roman_asn.skycells import skycell_wcs_info

    data["skycell_wcs_info"] = skycell_wcs_info("270p65x69y48")
    asn = tmp_path / "a_asn.json"
    asn.write_text(json.dumps(data))
    out = tmp_path / "cell.png"
    assert main(["plot", str(asn), "-o", str(out)]) == 0
    _check_png(out)


def test_plot_pool_from_pointing(tmp_path):
    pool = tmp_path / "pool.parquet"
    pl.DataFrame(
        {
            "filename": [f"r0000101001001001001_0001_wfi{i:02d}_cal.asdf" for i in range(1, 19)],
            "pointing_ra": [150.0] * 18,
            "pointing_dec": [2.0] * 18,
            "pointing_pa": [20.0] * 18,
            "detector": [f"WFI{i:02d}" for i in range(1, 19)],
        }
    ).write_parquet(pool)
    out = tmp_path / "pool.png"
    assert main(["plot", str(pool), "-o", str(out)]) == 0
    _check_png(out)


def test_fields_far_apart_get_their_own_panels(tmp_path):
    from roman_asn.plotting import _fields

    square = np.array([0.0, 0.1, 0.1, 0.0])
    north = (270.0 + square, 66.0 + np.roll(square, 1))
    south = (268.5 + square, -29.3 + np.roll(square, 1))
    assert _fields([north, south, north, north]) == [[0, 2, 3], [1]]
    assert main(["plot", str(DEMO_POOL), "-o", str(tmp_path / "demo.png")]) == 0
    _check_png(tmp_path / "demo.png")


def test_missing_members_are_named_with_the_folder_searched(tmp_path, capsys):
    data = json.loads((Path(__file__).parent / "data" / "L3_mosaic_asn.json").read_text())
    from roman_asn.skycells import skycell_wcs_info

    data["skycell_wcs_info"] = skycell_wcs_info("270p65x69y48")
    asn = tmp_path / "a_asn.json"
    asn.write_text(json.dumps(data))
    assert main(["plot", str(asn), "-o", str(tmp_path / "a.png")]) == 0
    captured = capsys.readouterr()
    assert len(data["products"][0]["members"]) == 1
    assert f"1 of 1 member file not found in {tmp_path.resolve()}" in captured.err
    assert "sky-cell outline instead of member footprints" in captured.err
    assert "1 footprint over 9 sky cells" in captured.out  # singular, no "1 footprints"


def test_plural():
    from roman_asn.plotting import plural

    assert [plural(n, "sky cell") for n in (0, 1, 2, 1234)] == [
        "0 sky cells",
        "1 sky cell",
        "2 sky cells",
        "1,234 sky cells",
    ]


def test_cell_names_only_where_they_fit(tmp_path):
    """Crowded panels leave names out (and say so) instead of overprinting them."""
    from roman_asn.plotting import plot_coverage

    def pool(n: int) -> Path:
        path = tmp_path / f"pool{n}.parquet"
        pl.DataFrame(
            {
                "filename": [
                    f"r0000101001001001001_0001_wfi{i:02d}_cal.asdf" for i in range(1, n + 1)
                ],
                "pointing_ra": [150.0] * n,
                "pointing_dec": [-2.0] * n,
                "pointing_pa": [20.0] * n,
                "detector": [f"WFI{i:02d}" for i in range(1, n + 1)],
            }
        ).write_parquet(path)
        return path

    few = plot_coverage(pool(3), tmp_path / "few.png")
    assert not any("left out" in note for note in few["notes"])
    many = plot_coverage(pool(18), tmp_path / "many.png")
    assert f"{len(many['cells'])} sky-cell names left out: too small to read" in many["notes"]


def test_a_sky_cell_wcs_that_cannot_be_drawn_is_named_not_a_crash(tmp_path, capsys):
    """skycell_wcs_info with a value of the wrong kind (text, a list, infinity, a side
    of 10^40 pixels): one line naming the key, exit 2, no file written. Infinity is no
    JSON number: the reader refuses the file before the plot reads the key."""
    from roman_asn.skycells import skycell_wcs_info

    data = json.loads((Path(__file__).parent / "data" / "L3_mosaic_asn.json").read_text())
    for key, value in [
        ("pixel_scale", "abc"),
        ("ra_projection_center", [1]),
        ("dec_projection_center", float("inf")),
        ("nx", 10**40),
        ("ny", None),
    ]:
        info = skycell_wcs_info("270p65x69y48")
        info[key] = value
        data["skycell_wcs_info"] = info
        asn = tmp_path / "a_asn.json"
        asn.write_text(json.dumps(data))
        out = tmp_path / "cell.png"
        assert main(["plot", str(asn), "-o", str(out)]) == 2
        expected = (
            "not valid JSON: Infinity is no JSON number"
            if value == float("inf")
            else f"no sky-cell outline: skycell_wcs_info.{key}: "
        )
        assert expected in capsys.readouterr().err
        assert not out.exists()


def test_a_sky_cell_wcs_without_a_name_still_draws(tmp_path, capsys):
    """skycell_wcs_info with no name (or an empty one) has no cell to draw heavier:
    the outline is drawn; an empty mapping is named as undrawable."""
    from roman_asn.skycells import skycell_wcs_info

    data = json.loads((Path(__file__).parent / "data" / "L3_mosaic_asn.json").read_text())
    info = skycell_wcs_info("270p65x69y48")
    del info["name"]
    data["skycell_wcs_info"] = info
    asn = tmp_path / "a_asn.json"
    asn.write_text(json.dumps(data))
    assert main(["plot", str(asn), "-o", str(tmp_path / "a.png")]) == 0
    _check_png(tmp_path / "a.png")
    data["skycell_wcs_info"] = {}
    asn.write_text(json.dumps(data))
    assert main(["plot", str(asn), "-o", str(tmp_path / "b.png")]) == 2
    err = capsys.readouterr().err
    assert "nothing to draw" in err and "Traceback" not in err


def test_footprints_too_wide_to_be_real_are_left_out_with_a_note(tmp_path, capsys):
    """A pool row whose corners span the sky (bad metadata) is noted, not a crash;
    the other rows are drawn."""
    frame = pl.read_csv(DEMO_POOL, separator="|", infer_schema_length=0).head(4)
    corners = [c for c in frame.columns if c.startswith(("ra_corn", "dec_corn"))]
    assert corners, frame.columns
    bad = frame.head(1).with_columns(
        [pl.lit("250" if c.startswith("ra") else "45").alias(c) for c in corners[:2]]
        + [pl.lit("290" if c.startswith("ra") else "85").alias(c) for c in corners[2:4]]
    )
    pool = tmp_path / "p.csv"
    pl.concat([bad, frame.tail(3)]).write_csv(pool, separator="|")
    assert main(["plot", str(pool), "-o", str(tmp_path / "c.png")]) == 0
    captured = capsys.readouterr()
    assert "3 footprints" in captured.out and "1 footprint left out" in captured.err


def test_plot_one_exposure_file(tmp_path):
    cal = tmp_path / "r0000101001001001001_0001_wfi01_cal.asdf"
    make_cal(cal, 45.0, 86.0)
    out = tmp_path / "one.png"
    assert main(["plot", str(cal), "-o", str(out)]) == 0
    _check_png(out)


def test_the_image_is_the_format_its_name_says_and_the_same_each_time(tmp_path, capsys):
    """-o x.svg or x.pdf was written as a PNG under that name; a suffix no image has is
    refused before the sky map or the source is read, and nothing is written. SVG and
    PDF carry no time stamp (nor random ids), so a plot made twice is one file."""
    heads = {"a.svg": b"<?xml", "a.pdf": b"%PDF", "a.PNG": b"\x89PNG", "a": b"\x89PNG"}
    for name, head in heads.items():
        assert main(["plot", str(DEMO_POOL), "-o", str(tmp_path / name)]) == 0
        assert (tmp_path / name).read_bytes().startswith(head), name
    for name in ("a.svg", "a.pdf"):
        again = tmp_path / f"again{Path(name).suffix}"
        assert main(["plot", str(DEMO_POOL), "-o", str(again)]) == 0
        assert again.read_bytes() == (tmp_path / name).read_bytes(), name
    capsys.readouterr()
    for name in ("a.txt", "a.jpg"):
        assert main(["plot", str(DEMO_POOL), "-o", str(tmp_path / name)]) == 2
        assert f"{tmp_path / name}: a plot is written as .png, .pdf or .svg" in (
            capsys.readouterr().err
        )
        assert not (tmp_path / name).exists()
