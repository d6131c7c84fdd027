"""Footprints and matching: check value, CSR shape, pool columns, SIAF pointing."""

from __future__ import annotations

import re
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roman_asn.skycells import (
    detector_footprints,
    footprints_from_table,
    get_skymap,
    match_footprints,
    parse_s_region,
)
from roman_asn.skycells.projection import tan_to_sky


def _square(ra, dec, half, angle_deg=0.0):
    a = np.radians(angle_deg + np.array([45.0, 135.0, 225.0, 315.0]))
    r = half * np.sqrt(2.0)
    return tan_to_sky(r * np.cos(a), r * np.sin(a), ra, dec)


def test_check_value_footprint():
    ra, dec = _square(0.88955854, 87.53857137, 0.0005, angle_deg=45.0)
    names = match_footprints(ra[None], dec[None]).to_lists()[0]
    assert sorted(names) == sorted(["000p86x65y50", "000p86x66y50", "000p86x66y51", "000p86x65y51"])


def test_csr_layout_with_null_rows_and_padding():
    r1, d1 = _square(10.0, 20.0, 0.05)
    ra = np.array([r1, [np.nan] * 4, [*r1[:3], np.nan]])
    dec = np.array([d1, [np.nan] * 4, [*d1[:3], np.nan]])
    m = match_footprints(ra, dec)
    assert len(m) == 3 and m.offsets[0] == 0 and m.offsets[-1] == len(m.cells)
    assert m.counts()[1] == 0 and m.counts()[0] > 0
    assert set(m.cells_of(2)) <= set(m.cells_of(0))
    assert np.all(np.diff(m.cells_of(0)) > 0)


@pytest.mark.parametrize(
    ("ra", "dec"), [(0.0, 90.0), (200.0, -89.95), (0.0, 0.0), (359.97, 45.0), (45.0, 88.2)]
)
def test_footprints_at_poles_wrap_and_edges_match_brute_force(ra, dec):
    """Every matched cell overlaps, and no overlapping cell nearby is missed."""
    skymap = get_skymap()
    fr, fd = _square(ra, dec, 0.06, angle_deg=17.0)
    found = set(match_footprints(fr[None], fd[None], skymap).cells.tolist())
    # brute force: dense points inside the footprint must each fall in a found cell
    u = np.linspace(-0.06, 0.06, 25)
    xs, ys = np.meshgrid(u, u)
    a = np.radians(17.0)
    px, py = xs * np.cos(a) - ys * np.sin(a), xs * np.sin(a) + ys * np.cos(a)
    pr, pd = tan_to_sky(px.ravel(), py.ravel(), ra, dec)
    points = match_footprints(pr[:, None], pd[:, None], skymap)
    assert set(points.cells.tolist()) <= found
    assert len(found) >= 1


def test_s_region_parsing():
    ra, dec = parse_s_region("POLYGON ICRS 1.0 2.0 1.1 2.0 1.1 2.1 1.0 2.1")
    assert ra.tolist() == [1.0, 1.1, 1.1, 1.0] and dec.tolist() == [2.0, 2.0, 2.1, 2.1]
    assert parse_s_region("CIRCLE ICRS 1 2 3") is None
    assert parse_s_region("POLYGON 1 2 3") is None


def test_pointing_matches_pysiaf():
    import pysiaf
    from pysiaf.utils import rotations

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        siaf = pysiaf.Siaf("Roman")
    cen = siaf["WFI_CEN"]
    att = rotations.attitude(cen.V2Ref, cen.V3Ref, 150.0, 2.0, 30.0 - cen.V3IdlYAngle)
    ra, dec = detector_footprints(
        np.array([150.0]), np.array([2.0]), np.array([30.0]), np.array([7])
    )
    exp_ra, exp_dec = rotations.pointing(att, *siaf["WFI07_FULL"].corners("tel"))
    np.testing.assert_allclose(ra[0], exp_ra, atol=1e-10)
    np.testing.assert_allclose(dec[0], exp_dec, atol=1e-10)


def test_table_footprints_prefer_corners_then_s_region_then_pointing():
    table = pl.DataFrame(
        {
            "RA_CORN1": [1.0, None, None, None],
            "ra_corn2": [1.1, None, None, None],
            "ra_corn3": [1.1, None, None, None],
            "ra_corn4": [1.0, None, None, None],
            "dec_corn1": [1.0, None, None, None],
            "dec_corn2": [1.0, None, None, None],
            "dec_corn3": [1.1, None, None, None],
            "dec_corn4": [1.1, None, None, None],
            "s_region": [None, "POLYGON ICRS 5 5 5.1 5 5.1 5.1 5 5.1 5 5.05", None, "junk"],
            "pointing_ra": [None, None, 80.0, None],
            "pointing_dec": [None, None, -30.0, None],
            "pointing_pa": [None, None, 10.0, None],
            "detector": [None, None, "WFI18", "WFI01"],
        }
    )
    ra, dec, source = footprints_from_table(table)
    assert source.tolist() == ["corners", "s_region", "pointing", ""]
    assert ra.shape == (4, 5) and np.isnan(ra[3]).all()
    counts = match_footprints(ra, dec).counts()
    assert counts[3] == 0 and (counts[:3] > 0).all()


@given(
    vertices=st.lists(st.tuples(st.floats(-360, 720), st.floats(-90, 90)), min_size=3, max_size=40),
    frame=st.sampled_from(["", "ICRS ", "icrs ", "J2000 "]),
)
def test_s_region_vertices_round_trip(vertices, frame):
    """One S_REGION parser for make-pool, the generator and the tools: 3+ vertices."""
    from roman_asn.skycells.footprints import s_region_vertices

    text = f"POLYGON {frame}" + " ".join(f"{r!r} {d!r}" for r, d in vertices)
    ra, dec = s_region_vertices(text)
    assert np.all((ra >= 0) & (ra < 360))
    # the same direction: RA differs by a multiple of 360 (tiny negatives wrap to 0)
    turns = (ra - np.array([r for r, _ in vertices])) / 360.0
    np.testing.assert_allclose(turns, np.round(turns), atol=1e-9)
    assert dec.tolist() == [d for _, d in vertices]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("POLYGON ICRS 1 2 3 4", "3 or more vertices, found 2"),
        ("POLYGON ICRS 1 2 3 4 5 95", "Dec 95.0 is outside [-90, 90]"),
        ("POLYGON ICRS 1 2 3 4 5 nan", "not a POLYGON"),
        ("POLYGON ICRS 1 2 3 4 5 inf", "not a POLYGON"),
        ("CIRCLE ICRS 1 2 3", "not a POLYGON"),
        ("POLYGON ICRS 1 2 3 4 5", "not a POLYGON"),
    ],
)
def test_s_region_vertices_errors_say_what_is_wrong(text, message):
    from roman_asn.skycells.footprints import s_region_vertices

    with pytest.raises(ValueError, match=re.escape(message)):
        s_region_vertices(text)
    assert parse_s_region(text) is None


_SPACES = st.sampled_from([" ", " ", "  ", "\t", "\n ", "\x1c", "\xa0"])
_FLAWED_TOKENS = ["90.5", "-91", "721", "1e999", "nan", "inf", "1.2.3", "--1", "1e", "\u0661"]
_FLAWED_SPACES = ["", " x ", ",", "\u2003"]


@st.composite
def _s_region_texts(draw) -> str:
    """A polygon written in one of many ways, with at most one flaw that may make it
    unusable (a token, a space, the head, the count)."""
    pairs = draw(
        st.lists(
            st.tuples(st.floats(-720, 720, allow_nan=False), st.floats(-90, 90, allow_nan=False)),
            min_size=3,
            max_size=8,
        )
    )
    style = draw(st.sampled_from(["{!r}", "{:.3f}", "{:e}", "{:+g}", "{:.0f}."]))
    tokens = [style.format(value) for pair in pairs for value in pair]
    spaces = [draw(_SPACES)] * len(tokens)
    head = "POLYGON" + draw(_SPACES) + draw(st.sampled_from(["", "ICRS ", "J2000\t", "icrs  "]))
    flaw = draw(st.sampled_from(["none", "token", "space", "head", "count"]))
    where = draw(st.integers(0, len(tokens) - 1))
    if flaw == "token":
        tokens[where] = draw(st.sampled_from(_FLAWED_TOKENS))
    elif flaw == "space":
        spaces[where] = draw(st.sampled_from(_FLAWED_SPACES))
    elif flaw == "head":
        head = draw(st.sampled_from(["CIRCLE ", "POLYGON5 ", "polygon ", " POLYGON 2000 "]))
    elif flaw == "count":
        tokens, spaces = tokens[:-1], spaces[:-1]
    return head + "".join(t + sp for t, sp in zip(tokens, spaces, strict=True))


@given(st.lists(st.one_of(st.none(), _s_region_texts()), max_size=12))
def test_s_region_column_parse_equals_the_row_parse(texts):
    """The whole-column parse a pool's s_region takes is parse_s_region row by row:
    the same polygons, the same rows refused (odd spaces and other scripts' digits too)."""
    from roman_asn.skycells.footprints import s_region_arrays

    ra, dec = s_region_arrays(pl.Series(texts, dtype=pl.Utf8))
    assert ra.shape[0] == len(texts) and ra.shape[1] >= 4
    for i, text in enumerate(texts):
        expected = parse_s_region(text)
        if expected is None:
            assert np.isnan(ra[i]).all() and np.isnan(dec[i]).all(), text
            continue
        k = len(expected[0])
        assert np.array_equal(ra[i, :k], expected[0]), text
        assert np.array_equal(dec[i, :k], expected[1]), text
        assert np.isnan(ra[i, k:]).all() and np.isnan(dec[i, k:]).all()


def test_a_hostile_s_region_fails_at_once():
    """The S_REGION regex failed by trying every split of digits among numbers: 30 pairs
    and a stray character took hours. In a subprocess, as the regex holds the GIL, so a
    regression fails on the timeout instead of hanging the run."""
    import subprocess
    import sys

    code = (
        "from roman_asn.skycells.footprints import parse_s_region as p\n"
        "assert p('POLYGON ' + '1 1' * 40 + ' x') is None\n"
        "assert p('POLYGON ' + '12 ' * 81 + 'x') is None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
