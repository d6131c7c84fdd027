from pathlib import Path

import polars as pl
import pytest

from roman_asn import read_pool
from roman_asn.pool.candidates import CandidateSyntaxError, format_candidates, parse_candidates
from roman_asn.pool.columns import LEGACY_ALIASES

DATA = Path(__file__).parent / "data"


def test_romancal_candidates_pool():
    pool = read_pool(DATA / "pool_001_candidates.csv")
    t = pool.table
    assert len(pool) == 6 and pool.format == "legacy"
    assert pool.name == "pool_001_candidates.csv"
    assert t["filename"][0] == "r0099201005001001001_00101_0001_WFI_uncal.asdf"  # case kept
    assert t["program"].to_list() == [992] * 6
    assert t["observation"].to_list() == [1, 1, 1, 2, 2, 2]
    assert t["exposure"].to_list() == [1, 2, 3, 1, 2, 3]
    assert t["visit_id"].unique().to_list() == ["0099201005001001001"]  # padding stripped
    assert t["optical_element"].unique().to_list() == ["F158"]
    assert t["category"].unique().to_list() == ["Survey"]
    assert t["subcategory"].unique().to_list() == ["GBTDS"]
    assert t["exposerr"].null_count() == 6  # NULL is missing
    assert t["subpix_dither"].unique().to_list() == ["NONE"]  # NONE is a value
    # [('o001'),('OBSERVATION')] is ONE candidate
    assert t["candidates"].to_list() == [[{"id": "o001", "type": "observation"}]] * 6
    assert pool.lines.tolist() == [2, 3, 4, 5, 6, 7]
    assert t["pool_row"].to_list() == list(range(6))


def test_romancal_image_pool_has_two_observation_candidates():
    pool = read_pool(DATA / "pool_002_wfi_image.csv")
    ids = [c[0]["id"] for c in pool.table["candidates"].to_list()]
    assert ids == ["o001", "o002"]


def test_every_legacy_column_of_the_samples_gets_its_roman_name():
    pool = read_pool(DATA / "pool_001_candidates.csv")
    header = [
        n.strip() for n in (DATA / "pool_001_candidates.csv").read_text().splitlines()[0].split("|")
    ]
    for name in header:
        expected = LEGACY_ALIASES.get(name, name.lower())
        assert expected in pool.table.columns


@pytest.mark.parametrize(
    "cell, expected",
    [
        (
            "[('o001', 'observation'), ('c1000', 'mosaic')]",
            [("o001", "observation"), ("c1000", "mosaic")],
        ),
        ("[('o001'),('OBSERVATION')]", [("o001", "observation")]),
        (
            "[('o001'),('OBSERVATION'),('c1000'),('GROUP')]",
            [("o001", "observation"), ("c1000", "group")],
        ),
        ("('a3001', 'discovered')", [("a3001", "discovered")]),
        ("[]", []),
        ("", []),
        ("NULL", []),
        (None, []),
    ],
)
def test_candidate_forms(cell, expected):
    assert parse_candidates(cell) == expected


@pytest.mark.parametrize(
    "cell",
    [
        "[('o001', 'observation'",
        "[('o001'),('OBSERVATION'),('x')]",
        "[1, 2]",
        "o001",
        "[('o 1', 'x')]",
    ],
)
def test_bad_candidate_cells(cell):
    with pytest.raises(CandidateSyntaxError):
        parse_candidates(cell)


def test_candidate_format_round_trips():
    pairs = [("o001", "observation"), ("c1000", "mosaic")]
    assert parse_candidates(format_candidates(pairs)) == pairs


def write(tmp_path, text: str, name: str = "pool.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_missing_value_rule(tmp_path):
    path = write(
        tmp_path,
        "# a comment\n"
        "FILENAME | OPT_ELEM | FLAG | NOTE  | EXPOSERR\n"
        "a_uncal.asdf | F158 | T | N/A   | NULL\n"
        "\n"
        "  # an indented comment\n"
        "b_uncal.asdf | f062 | F |  N    |\n"
        "c_uncal.asdf | F213 |   | F     | GUIDING_LOST\n",
    )
    pool = read_pool(path)
    t = pool.table
    assert t["flag"].dtype == pl.Boolean and t["flag"].to_list() == [True, False, None]
    assert t["note"].to_list() == ["N/A", "N", "F"]  # real values, never missing
    assert t["exposerr"].to_list() == [None, None, "GUIDING_LOST"]
    assert t["optical_element"].to_list() == ["F158", "F062", "F213"]
    assert pool.lines.tolist() == [3, 6, 7]


def test_plain_csv_pool_with_quoted_candidates(tmp_path):
    path = write(
        tmp_path,
        "filename,program,exp_type,candidates\n"
        "r0000101001001001001_0001_wfi01_uncal.asdf,1,WFI_IMAGE,"
        "\"[('o001', 'observation'), ('c1000', 'mosaic')]\"\n"
        "r0000101001001001001_0001_wfi02_uncal.asdf,1,WFI_IMAGE,NULL\n",
    )
    pool = read_pool(path)
    assert pool.format == "csv"
    assert pool.lines.tolist() == [2, 3]
    assert pool.table["candidates"].to_list()[0] == [
        {"id": "o001", "type": "observation"},
        {"id": "c1000", "type": "mosaic"},
    ]
    assert pool.table["candidates"].to_list()[1] == []
    # visit-level numbers come from the file's visit_id when the pool has no column for them
    assert "execution_plan" not in pool.table.columns


def test_numbers_are_filled_from_visit_id_only_where_missing(tmp_path):
    path = write(
        tmp_path,
        "filename|visit_id|pass\n"
        "r0000203004005006007_0001_wfi01_uncal.asdf|0000203004005006007|NULL\n"
        "r0000203004005006007_0001_wfi02_uncal.asdf|0000203004005006007|9\n",
    )
    t = read_pool(path).table
    assert t["program"].to_list() == [2, 2]
    assert t["execution_plan"].to_list() == [3, 3]
    assert t["pass"].to_list() == [4, 9]
    assert t["segment"].to_list() == [5, 5]
    assert t["observation"].to_list() == [6, 6]
    assert t["visit"].to_list() == [7, 7]


def test_astropy_table(tmp_path):
    table = read_pool(DATA / "pool_001_candidates.csv").to_astropy()
    assert len(table) == 6
    assert table["candidates"][0] == "[('o001', 'observation')]"
    assert table["exposerr"].mask.all()
    assert "pool_row" not in table.colnames


def test_ecsv_written_by_astropy_is_read(tmp_path):
    from astropy.table import MaskedColumn, Table

    table = Table()
    table["FILENAME"] = ["a b_uncal.asdf", "c_uncal.asdf", 'q"z_uncal.asdf']
    table["PROGRAM"] = MaskedColumn([1, 0, 3], mask=[False, True, False])
    table["flag"] = [True, False, True]
    table["ra_corn1"] = [1.5, 2.25, 3e-9]
    table["ASN_CANDIDATE"] = ["[('o001', 'observation')]", "[]", ""]
    path = tmp_path / "pool.ecsv"
    table.write(path, format="ascii.ecsv")
    t = read_pool(path).table
    assert t["filename"].to_list() == ["a b_uncal.asdf", "c_uncal.asdf", 'q"z_uncal.asdf']
    assert t["program"].to_list() == [1, None, 3]
    assert t["flag"].to_list() == [True, False, True]
    assert t["ra_corn1"].to_list() == [1.5, 2.25, 3e-9]
    assert t["candidates"].to_list() == [[{"id": "o001", "type": "observation"}], [], []]


def test_ecsv_we_write_reads_in_astropy(tmp_path):
    from astropy.table import Table

    pool = read_pool(DATA / "pool_001_candidates.csv")
    path = tmp_path / "pool.ecsv"
    pool.write(path)
    table = Table.read(path, format="ascii.ecsv")
    assert list(table["filename"]) == pool.table["filename"].to_list()
    assert list(table["observation"]) == [1, 1, 1, 2, 2, 2]
    assert table["exposerr"].mask.all()
    assert table["candidates"][0] == "[('o001', 'observation')]"


def test_ecsv_with_multidimensional_column_falls_back_to_astropy(tmp_path):
    import numpy as np
    from astropy.table import Table

    table = Table({"filename": ["a", "b"], "vec": np.array([[1, 2], [3, 4]])})
    path = tmp_path / "pool.ecsv"
    table.write(path, format="ascii.ecsv")
    t = read_pool(path).table
    assert t["filename"].to_list() == ["a", "b"]
    assert t["vec"].to_list() == [[1, 2], [3, 4]]


def test_boolean_missing_values_survive_the_legacy_format(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("filename|flag\na|T\nb|NULL\nc|F\n")
    pool = read_pool(path)
    pool.write(tmp_path / "q.csv")
    assert read_pool(tmp_path / "q.csv").table["flag"].to_list() == [True, None, False]


def test_thousands_of_extra_columns_are_cleaned_and_kept(tmp_path):
    """Pools carry whatever metadata a site adds: 3,000 extra columns, padded and with
    NULLs, are read (each column cleaned; the frame rewritten once, not per column)."""
    extra = [f"x{i}" for i in range(3000)]
    header = "|".join(["filename", "program", "exp_type", *extra])
    rows = [
        "|".join([f"f{r}_cal.asdf", "1", "WFI_IMAGE", *(" v " if r else "NULL" for _ in extra)])
        for r in range(3)
    ]
    path = tmp_path / "wide.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    table = read_pool(path).table
    assert len(table.columns) == 3 + 3000 + 1
    assert table["x0"].to_list() == [None, "v", "v"]
    assert table["x2999"].to_list() == [None, "v", "v"]
