"""The computed tessellation against romancal's extract of the reference file."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import asdf
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roman_asn.errors import RomanAsnError
from roman_asn.skycells import cells_containing, get_skymap, load_reference, skycell_wcs_info
from roman_asn.skycells import tessellation as tess
from roman_asn.skycells.projection import sky_to_tan

DATA = Path(__file__).parent / "data"
NAME_RE = re.compile(r"^\d{3}[pm]\d{2}x\d{2}y\d{2}$")


@pytest.fixture(scope="module")
def extract():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with asdf.open(DATA / "skymap_subset.asdf") as af:
            return (
                np.asarray(af.tree["roman"]["projection_regions"]).copy(),
                np.asarray(af.tree["roman"]["skycells"]).copy(),
            )


@pytest.fixture(scope="module")
def skymap(tmp_path_factory):
    return get_skymap()


def _angle_diff(a, b):
    return np.abs((np.asarray(a, float) - np.asarray(b, float) + 180.0) % 360.0 - 180.0)


def test_regions_match_extract_every_field(skymap, extract):
    regions, _ = extract
    ours = skymap.regions[: len(regions)]
    for field in regions.dtype.names:
        if regions.dtype[field].kind == "f":
            np.testing.assert_allclose(
                ours[field], regions[field], rtol=0, atol=1e-9, err_msg=field
            )
        else:
            np.testing.assert_array_equal(ours[field], regions[field], err_msg=field)


def test_cells_match_extract_every_field(skymap, extract):
    _, cells = extract
    ours = skymap.records(np.arange(len(cells)))
    np.testing.assert_array_equal(ours["name"], cells["name"])  # names and order exact
    for field in cells.dtype.names[1:]:
        if field.startswith("ra_") or field == "orientat":
            # the same representation as the reference (360.0 on the 0 meridian, unwrapped orientat)
            assert np.max(np.abs(ours[field] - cells[field])) < 1e-9, field
        elif field.endswith("tangent"):
            np.testing.assert_array_equal(ours[field], cells[field], err_msg=field)
        else:
            assert np.max(np.abs(ours[field] - cells[field])) < 1e-9, field


def test_whole_sky_counts(skymap):
    assert skymap.n_regions == tess.N_REGIONS == 4058
    counts = skymap.regions["skycell_end"] - skymap.regions["skycell_start"]
    assert counts.min() == 1927 and counts.max() == 2021
    assert skymap.n_cells == 8045034
    ring_sizes = tess.ring_sizes()
    assert ring_sizes[0] == 8 and ring_sizes[12] == 104 and ring_sizes[-1] == 8


def test_check_values(skymap):
    reg = skymap.regions
    assert (reg[1]["x_tangent"], reg[1]["y_tangent"], reg[1]["nx"], reg[1]["ny"]) == (
        138592.5,
        117834.5,
        277186,
        235670,
    )
    assert (reg[0]["x_tangent"], reg[0]["nx"]) == (117776.5, 235554)
    np.testing.assert_allclose(tess.band_edges()[[0, -1]], [88.200626, -88.200626], atol=1e-6)
    assert skymap.names([100, 999]).tolist() == ["135p90x30y44", "135p90x50y57"]
    c999 = skymap.records([999])[0]
    assert abs(c999["ra_center"] - 224.99999999999997) < 1e-9
    assert abs(c999["dec_center"] - 89.48668040110688) < 1e-12
    assert (c999["orientat"], c999["x_tangent"], c999["y_tangent"]) == (-90.0, -31100.5, 2499.5)
    info = skycell_wcs_info("270p65x69y48", skymap)
    assert info["ra_projection_center"] == 270.0
    assert abs(info["dec_projection_center"] - 64.60237300651185) < 1e-12
    assert (info["x0_projection"], info["y0_projection"]) == (12099.5, -88700.5)
    assert abs(info["ra_center"] - 269.6395821835357) < 1e-9
    assert abs(info["dec_center"] - 65.99501049470985) < 1e-9


def test_reference_file_gives_identical_answers(skymap, extract, monkeypatch):
    ref = load_reference(DATA / "skymap_subset.asdf")
    np.testing.assert_array_equal(ref.grid[:2], skymap.grid[:2])
    for name in ["135p90x30y44", "000p86x65y50", "135p90x50y57"]:
        assert ref.index_of(name) == skymap.index_of(name)
        assert skycell_wcs_info(name, ref).keys() == skycell_wcs_info(name, skymap).keys()
    monkeypatch.setenv("SKYMAP_PATH", str(DATA / "skymap_subset.asdf"))
    assert get_skymap().source.endswith("skymap_subset.asdf")


def test_south_names_and_poles(skymap):
    south = skymap.regions[-1]
    assert (south["ra_tangent"], south["dec_tangent"]) == (225.0, -90.0)
    names = cells_containing([0.0, 123.0], [-90.0, 90.0], skymap).names(skymap).tolist()
    assert names == ["225m90x50y50", "135p90x50y50"]
    ring = skymap.names([skymap.regions["skycell_start"][-2]])[0]
    assert ring.startswith(f"{round(skymap.regions[-2]['ra_tangent']):03d}m86")


@pytest.mark.parametrize(
    ("ra", "expected"), [(22.5, "022"), (67.5, "068"), (157.5, "158"), (337.5, "338")]
)
def test_names_round_half_to_even(skymap, ra, expected):
    ring2 = np.flatnonzero(np.isclose(skymap.regions["ra_tangent"], ra))
    assert len(ring2) > 0
    assert skymap.prefixes[ring2[0]].decode().startswith(expected)


def test_ra_wrap_cells_exist_on_both_sides(skymap):
    both = cells_containing([359.999, 0.001], [0.0, 0.0], skymap).to_lists(skymap)
    assert both[0] == both[1] == ["000p00x50y50"]
    # a point just east of a ring's RA-0 region edge is in cells of two regions
    edge = cells_containing([360.0 / 104 / 2], [10.0], skymap).to_lists(skymap)[0]
    assert len({n[:6] for n in edge}) == 2


@settings(max_examples=60, deadline=None)
@given(
    ra=st.floats(0.0, 360.0, exclude_max=True),
    z=st.floats(-1.0, 1.0),
)
def test_random_point_is_in_a_well_formed_cell(skymap, ra, z):
    dec = float(np.degrees(np.arcsin(z)))
    names = cells_containing([ra], [dec], skymap).to_lists(skymap)[0]
    assert names
    for name in names:
        assert NAME_RE.match(name)
        index = skymap.index_of(name)
        region = skymap.regions[skymap.region_of([index])[0]]
        _, r, c = skymap.lattice_of([index])
        xi, eta, cos_c = sky_to_tan(ra, dec, region["ra_tangent"], region["dec_tangent"])
        step = tess.CELL_STRIDE * tess.PIXEL_SCALE
        assert cos_c > 0
        assert abs(xi / step - c[0]) <= 2500 / 4800 + 1e-9
        assert abs(eta / step - r[0]) <= 2500 / 4800 + 1e-9


def test_cached_map_gives_the_same_cells_without_astropy_modeling(tmp_path):
    """The disk cache holds the grid and the lattice's native vectors: a later process
    gives the same cell records without importing astropy.modeling or astropy.coordinates
    (1.1 s a command)."""
    import json
    import os
    import subprocess
    import sys

    script = (
        "import json, sys\n"
        "from roman_asn.skycells.skymap import computed_skymap\n"
        "SLOW = ('astropy.modeling', 'astropy.coordinates')\n"
        "records = computed_skymap().records([0, 5, 1234567, 7000000])\n"
        "print(json.dumps([[str(r['name']), float(r['ra_center']), float(r['dec_corn3'])]"
        " for r in records] + [any(m in sys.modules for m in SLOW)]))\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}

    def run() -> list:
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        return json.loads(done.stdout)

    runs = [run(), run()]
    (cache,) = (tmp_path / "roman-asn").glob("skycell-grid-*.npz")
    assert runs[0][:-1] == runs[1][:-1]  # the same floats, to the last bit (JSON repr)
    assert runs[0][-1] is True and runs[1][-1] is False


@settings(max_examples=200, deadline=None)
@given(st.floats(-7.0, 7.0, allow_nan=False), st.sampled_from("xyz"))
def test_rotation_matrix_is_astropys_to_the_bit(angle, axis):
    from astropy.coordinates.matrix_utilities import rotation_matrix

    assert np.array_equal(tess.rotation_matrix(angle, axis), rotation_matrix(angle, axis, "rad"))


@pytest.mark.parametrize(
    "damage", ["no regions", "no cells", "negative start", "backwards"], ids=str
)
def test_a_damaged_sky_map_file_is_an_error_naming_it(tmp_path, extract, damage):
    regions, cells = (part.copy() for part in extract)
    if damage == "no regions":
        regions = regions[:0]
    elif damage == "no cells":
        cells = cells[:0]
    elif damage == "negative start":
        regions["skycell_start"][0] = -5
    else:
        regions["skycell_end"][0] = regions["skycell_start"][0] - 1
    path = tmp_path / "damaged.asdf"
    asdf.AsdfFile({"roman": {"projection_regions": regions, "skycells": cells}}).write_to(path)
    with pytest.raises(RomanAsnError, match="not a usable sky-cell table") as caught:
        load_reference(path)
    assert str(path) in str(caught.value)


def test_an_unwritable_cache_folder_only_costs_the_recomputation(tmp_path, monkeypatch):
    from roman_asn.skycells.skymap import computed_skymap

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")  # the cache folder would have to be inside a file
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    skymap = computed_skymap()
    assert str(skymap.records([5])[0]["name"])
    assert blocker.read_text() == "x"


def test_an_altered_cache_is_computed_again_not_trusted(tmp_path, monkeypatch):
    """Arrays edited and saved again make a whole zip with the right shapes: only the
    checksum written beside them says they are not the computed ones."""
    from roman_asn.skycells.skymap import computed_skymap

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    truth = computed_skymap()
    (cache,) = (tmp_path / "roman-asn").glob("skycell-grid-*.npz")
    with np.load(cache) as saved:
        grid, lattice, check = saved["grid"].copy(), saved["lattice"], saved["check"]
    assert np.array_equal(grid, truth.grid)
    kept = int(np.flatnonzero(grid[7].ravel() >= 0)[0])
    grid[7].flat[kept] = -1  # one cell of one region dropped
    np.savez(cache, grid=grid, lattice=lattice, check=check)
    again = computed_skymap()
    assert np.array_equal(again.grid, truth.grid)
    with np.load(cache) as saved:  # and the cache is written right again
        assert np.array_equal(saved["grid"], truth.grid)
    np.savez(cache, grid=truth.grid, lattice=lattice)  # an older cache, without a checksum
    assert np.array_equal(computed_skymap().grid, truth.grid)
    cache.write_bytes(b"PK\x03\x04 a broken zip")  # a damaged one
    assert np.array_equal(computed_skymap().grid, truth.grid)
    with np.load(cache) as saved:
        assert np.array_equal(saved["grid"], truth.grid)


@pytest.mark.parametrize("damage", ["cut short", "bytes changed"])
def test_a_sky_map_file_with_a_damaged_block_is_an_error_naming_it(tmp_path, damage):
    """The YAML reads, the compressed table does not (asdf, zlib and lz4 raise their own
    errors): one line naming the file, from every command that takes --skymap."""
    from roman_asn.cli import main

    data = bytearray((DATA / "skymap_subset.asdf").read_bytes())
    if damage == "cut short":
        data = data[:-100]
    else:
        for i in range(len(data) - 5000, len(data) - 4000, 7):
            data[i] ^= 0x5A
    path = tmp_path / "damaged.asdf"
    path.write_bytes(data)
    with pytest.raises(RomanAsnError, match="cannot read its tables") as caught:
        load_reference(path)
    assert str(path) in str(caught.value)
    assert main(["skycell-lookup", "find", "135", "89", "--skymap", str(path)]) == 2
