import pytest

from roman_asn import PoolError, read_pool
from roman_asn.cli import main


def write(tmp_path, content, name="bad_pool.csv"):
    path = tmp_path / name
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    return path


CASES = [
    ("a|b|c\n1|2|3\n4|5\n", "line 3", "expected 3 '|'-separated fields as in the header, found 2"),
    ("filename|n\nx|1\ny|2|3\n", "line 3", "found 3"),
    ("filename|asn_candidate\nx|[('o001', \n", "line 2", "cannot parse candidate list"),
    ("name|value\nx|1\n", "column 'filename'", "missing required column"),
    ("", "", "the file is empty"),
    ("   \n\n", "", "the file is empty"),
    ("# only a comment\n", "", "no header line"),
    (b"filename|x\n\x00\x01\x02\xff\xfe|1\n", "line 2", "not a text pool"),
    ("filename|program\nx|12a\n", "line 2", "'12a' is not an integer"),
    ("filename|filename\nx|y\n", "line 1", "appears twice"),
    ("filename|FILENAME\nx|y\n", "", "both mean 'filename'"),
    ("filename|OPT_ELEM|FILTER\nx|F158|F158\n", "", "both mean 'optical_element'"),
]


@pytest.mark.parametrize("content, where, message", CASES)
def test_bad_pools_name_file_place_and_problem(tmp_path, content, where, message):
    path = write(tmp_path, content)
    with pytest.raises(PoolError) as error:
        read_pool(path)
    text = str(error.value)
    assert text.startswith(str(path))
    assert where in text
    assert message in text


@pytest.mark.parametrize("content, where, message", CASES)
def test_cli_reports_one_line_and_exit_2(tmp_path, capsys, content, where, message):
    path = write(tmp_path, content)
    assert main(["pool", "info", str(path)]) == 2
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())
    assert "Traceback" not in captured.err
    assert err.startswith("error:") and message in err


def test_debug_shows_the_traceback(tmp_path, capsys):
    path = write(tmp_path, "a|b\n1\n")
    assert main(["--debug", "pool", "info", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "read_pipe_table" in err
    assert err.rstrip().splitlines()[-1].startswith(f"error: {path}, line 2: expected 2")
    # "--debug" as a value of another option is not the flag
    assert main(["pool", "info", str(path), "--debug"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_missing_file_and_directory(tmp_path, capsys):
    assert main(["pool", "info", str(tmp_path / "absent.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(PoolError, match="is a directory"):
        read_pool(tmp_path)


def test_garbage_parquet(tmp_path):
    path = write(tmp_path, b"PAR1 this is not really parquet", "x.parquet")
    with pytest.raises(PoolError, match="unreadable Parquet"):
        read_pool(path)
    fake = write(tmp_path, "filename\nx\n", "y.parquet")
    with pytest.raises(PoolError, match="not a Parquet file"):
        read_pool(fake)


@pytest.mark.parametrize("character", ["\t", "\x01", "\r", "\x1b", "\x7f", "\x00", "\n"])
def test_a_file_name_with_a_control_character_is_refused_naming_its_row(tmp_path, character):
    """It would become a member name no file system or association schema takes; in
    Parquet any character can reach the reader (a legacy line has no line break)."""
    import polars as pl

    names = ["r0000101001001001001_0001_wfi01_cal.asdf", f"r00001{character}_cal.asdf"]
    path = tmp_path / "pool.parquet"
    pl.DataFrame({"filename": names, "program": [1, 1]}).write_parquet(path)
    with pytest.raises(PoolError, match="holds a control character") as error:
        read_pool(path)
    assert "row 2" in str(error.value) and "column 'filename'" in str(error.value)
    if character not in "\r\n\x00":
        legacy = write(tmp_path, "filename|program\n" + "\n".join(f"{n}|1" for n in names) + "\n")
        with pytest.raises(PoolError, match="line 3, column 'filename'"):
            read_pool(legacy)


def test_an_error_quoting_a_huge_value_stays_one_short_line(tmp_path):
    path = write(tmp_path, "filename|program\na_cal.asdf|" + "9" * 5000 + "\n")
    with pytest.raises(PoolError, match="is not an integer") as error:
        read_pool(path)
    assert len(str(error.value)) < 250 and "line 2, column 'program'" in str(error.value)
