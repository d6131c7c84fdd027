"""Hostile inputs an outside suite found: each class gives a one-line error naming the
file, at once, never a traceback or a wait without end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roman_asn.association import MAX_NESTING, load_asn
from roman_asn.cli import main
from roman_asn.errors import AssociationError, PoolError
from roman_asn.pool import read_pool
from roman_asn.pool import reader as pool_reader
from roman_asn.rules.loader import RulesError, parse_rules
from roman_asn.skycells.coordinates import parse_dec, parse_ra
from roman_asn.tools.inputs import read_association_dict
from roman_asn.validate import association_schema, validate_dict, validate_file

ASN = json.loads((Path(__file__).parent / "data" / "asn_level2.json").read_text())


def write_asn(path: Path, data) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "roman_asn", *args], capture_output=True, text=True, timeout=120
    )


# ---------------------------------------------------------------- schema regexes


def _patterns(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for value in node.values() for p in _patterns(value)]
    if isinstance(node, list):
        return [p for value in node for p in _patterns(value)]
    return []


def test_every_schema_pattern_fails_in_linear_time():
    """The expname pattern had two runs that could trade characters: a 60,000-character
    name ending in a line break held validate (and update-path, edit) for minutes."""
    patterns = _patterns(association_schema())
    assert len(patterns) >= 4
    pieces = ["a", " ", ".", "/", "\u2003"]
    ends = ["\n", "\x01", "\\", "/", ""]
    for pattern in patterns:
        compiled = re.compile(pattern)
        for piece in pieces:
            for end in ends:
                text = piece * 20_000 + end
                start = time.perf_counter()
                compiled.search(text)
                took = time.perf_counter() - start
                assert took < 0.5, (pattern, piece, end, took)  # quadratic: 10 s and more


def _expname_rule(text: str) -> bool:
    control = any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)
    return not control and any(not c.isspace() for c in text)


@given(st.text(alphabet=st.sampled_from(list(" \t\n\x00\x01\x1f\x7f\x85\xa0\u2003a.é/"))))
def test_expname_pattern_is_no_control_characters_and_not_blank(text):
    member = {"expname": text, "exptype": "science"}
    data = {"products": [{"name": "p", "members": [member]}]}
    refused = any(p.json_path.endswith(".expname") for p in validate_dict(data))
    # Python's \s (the pattern's) is str.isspace() but for \x1c-\x1f, controls anyway
    assert refused == (not _expname_rule(text))


def test_a_long_expname_with_a_line_break_is_refused_at_once(tmp_path):
    asn = json.loads(json.dumps(ASN))
    asn["products"][0]["members"][0]["expname"] = "a" * 200_000 + "\n"
    path = write_asn(tmp_path / "a_asn.json", asn)
    start = time.perf_counter()
    problems = validate_file(path)
    assert time.perf_counter() - start < 10
    assert [p.json_path for p in problems] == ["$.products[0].members[0].expname"]
    assert "control characters" in problems[0].message
    assert len(problems[0].message) < 200  # the name is quoted cut, not whole


def test_a_huge_value_of_the_wrong_type_is_quoted_cut(tmp_path):
    asn = dict(ASN, asn_type=["x" * 1000] * 1000)
    (problem,) = validate_dict(asn, "a.json")
    assert problem.json_path == "$.asn_type" and "is not of type 'string'" in problem.message
    assert len(problem.message) < 200


# ---------------------------------------------------------------- association JSON


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("where", ["top", "member"])
def test_association_json_nested_beyond_the_limit_is_refused_everywhere(tmp_path, where):
    """900 levels in a key romancal ignores passed the JSON reader, then update-path
    recursed out of its stack writing it, and validate quoting it (tracebacks)."""
    asn = json.loads(json.dumps(ASN))
    holder = asn if where == "top" else asn["products"][0]["members"][0]
    above = 1 if where == "top" else 5  # the levels holding the note: top, or a member
    holder["note"] = _nested(MAX_NESTING - above)
    ok = write_asn(tmp_path / "ok_asn.json", asn)
    assert load_asn(ok) and read_association_dict(str(ok))
    holder["note"] = _nested(MAX_NESTING - above + 1)
    with pytest.raises(AssociationError, match="nested too deeply"):
        load_asn(write_asn(tmp_path / "over_asn.json", asn))
    holder["note"] = _nested(900)
    deep = write_asn(tmp_path / "deep_asn.json", asn)
    with pytest.raises(AssociationError, match="nested too deeply"):
        load_asn(deep)
    with pytest.raises(AssociationError, match="nested too deeply"):
        read_association_dict(str(deep))
    assert "nested too deeply" in validate_file(deep)[0].message
    out = tmp_path / "out"
    update = ["update-path", str(deep), "--path", "x", "-o", str(out)]
    for args in (update, ["validate", str(deep)]):
        done = cli(*args)
        assert "Traceback" not in done.stderr and done.returncode in (1, 2), done.stderr
        assert "nested too deeply" in done.stdout + done.stderr
    assert not out.exists()


def test_a_key_given_twice_is_refused_by_the_folder_tools(tmp_path, capsys):
    """diff and update-path read through a fast path that took the last of two values."""
    text = json.dumps(ASN).replace('"asn_type": ', '"asn_type": "x", "asn_type": ', 1)
    path = write_asn(tmp_path / "dup_asn.json", text)
    with pytest.raises(AssociationError, match="'asn_type' appears twice"):
        read_association_dict(str(path))
    other = write_asn(tmp_path / "other_asn.json", ASN)
    out = tmp_path / "out"
    assert main(["diff", str(path), str(other)]) == 2
    assert main(["update-path", str(path), "--path", "x", "-o", str(out)]) == 2
    assert "appears twice" in capsys.readouterr().err
    assert not out.exists()


# ---------------------------------------------------------------- coordinates


@pytest.mark.parametrize("text", ["1" + "0" * 400 + "h", "1" + "0" * 400 + ":0:0", "1" * 400 + "d"])
def test_an_angle_too_large_for_a_float_is_a_value_error(text):
    for parse in (parse_ra, parse_dec):
        with pytest.raises(ValueError, match="is not an angle") as caught:
            parse(text)
        assert len(str(caught.value)) < 250


def test_skycell_lookup_overflow_is_a_usage_error():
    done = cli("skycell-lookup", "find", "1" + "0" * 400 + "h", "10")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "is not an angle" in done.stderr


# ---------------------------------------------------------------- pools


@pytest.mark.parametrize("datatype", ["[1, 2]", "{a: 1}"])
def test_an_ecsv_datatype_that_is_no_text_is_one_line(tmp_path, datatype):
    path = tmp_path / "p.ecsv"
    path.write_text(
        f"# %ECSV 1.0\n# ---\n# datatype:\n# - {{name: filename, datatype: {datatype}}}\n"
        "filename\na\n"
    )
    with pytest.raises(PoolError, match="datatype must be text") as caught:
        read_pool(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_named_pipe_nobody_writes_to_is_refused_after_a_wait(tmp_path, monkeypatch):
    monkeypatch.setattr(pool_reader, "PIPE_WRITER_WAIT", 0.5)
    fifo = tmp_path / "pool.csv"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(PoolError, match="no program opened for writing") as caught:
        read_pool(fifo)
    assert time.monotonic() - start < 5 and str(fifo) in str(caught.value)


def test_a_named_pipe_is_read_when_its_writer_comes_late_or_writes_nothing(tmp_path):
    fifo = tmp_path / "pool.csv"
    os.mkfifo(fifo)

    def write(data: bytes, delay: float) -> None:
        time.sleep(delay)
        with open(fifo, "wb") as handle:
            handle.write(data)

    late = threading.Thread(target=write, args=(b"FILENAME|PROGRAM\na|1\nb|2\n", 1.0))
    late.start()
    assert len(read_pool(fifo)) == 2
    late.join()
    empty = threading.Thread(target=write, args=(b"", 0.2))
    empty.start()
    with pytest.raises(PoolError, match="empty"):
        read_pool(fifo)
    empty.join()


# ---------------------------------------------------------------- rules


def test_a_rule_list_of_numbers_is_one_line():
    with pytest.raises(RulesError, match=r"rule #1 is int 1, not a \[\[rule\]\] table"):
        parse_rules("rule = [1, 2]\n", "r.toml")


def test_many_deeply_dotted_keys_are_refused_before_parsing():
    """One line of 999 dots is allowed (a few ms); 200 such lines took tomllib 5 s."""
    text = "".join(f"k{i}" + ".x" * 999 + " = 1\n" for i in range(200))
    start = time.perf_counter()
    with pytest.raises(RulesError, match="too many dots in all") as caught:
        parse_rules(text, "r.toml")
    assert time.perf_counter() - start < 1 and "line 2" in str(caught.value)


def test_a_huge_candidate_cell_is_refused_before_python_parses_it(tmp_path):
    """ast.literal_eval held ~500 bytes a character: one 2 MB cell took 1 GB and 25 s."""
    path = tmp_path / "pool.csv"
    cell = "[" + ",".join(["1"] * 1_000_000) + "]"
    path.write_text(f"FILENAME|PROGRAM|ASN_CANDIDATE\na|1|[('o001', 'observation')]\nb|1|{cell}\n")
    start = time.perf_counter()
    with pytest.raises(PoolError, match="at most 65,536") as caught:
        read_pool(path)
    assert time.perf_counter() - start < 5
    message = str(caught.value)
    assert "line 3" in message and "candidates" in message and len(message) < 300
    listed = ", ".join(["('o001', 'observation')"] * 2000)  # 50 kB: still read
    path.write_text(f"FILENAME|PROGRAM|ASN_CANDIDATE\na|1|[{listed}]\n")
    assert len(read_pool(path)) == 1


@pytest.mark.parametrize("spec", ["#" + "9" * 5000, "#" + "0" * 5000 + "1"])
def test_explain_row_numbers_beyond_int_limits_are_one_line(spec, capsys):
    pool = Path(__file__).parents[1] / "src" / "roman_asn" / "data" / "demo_pool.csv"
    code = main(["explain", "--no-skycells", str(pool), spec])
    err = capsys.readouterr().err
    if spec.endswith("1"):
        assert code == 0, err  # #000...01 is row 1
    else:
        assert code == 2 and "is not in the pool" in err and len(err) < 300


def test_a_pool_header_of_many_or_huge_names_is_listed_cut(tmp_path):
    path = tmp_path / "pool.csv"
    path.write_text("|".join(f"c{i}" for i in range(50_000)) + "\n" + "|".join("1" * 50_000) + "\n")
    with pytest.raises(PoolError, match="missing required column") as caught:
        read_pool(path)
    assert "c19 and 49,980 more" in str(caught.value) and len(str(caught.value)) < 400
    path.write_text(f"filename|{'x' * 100_000}|{'X' * 100_000}\na|1|2\n")
    with pytest.raises(PoolError, match="both mean") as caught:
        read_pool(path)
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize(
    "edit",
    [
        lambda a: a["products"][0]["members"][0].update(expname="C:/a:b_cal.asdf"),
        lambda a: a.update(note={"a": {"b": 1}}),
        lambda a: a.update(skycell_wcs_info={"name": "x", "nested": {"k": 1}}),
    ],
)
def test_the_folder_tools_find_a_repeated_key_whatever_else_holds_colons(tmp_path, edit):
    """The fast path counts colons against keys; colons in strings or in objects it does
    not count send it to the slower check, which must still find the repeat."""
    asn = json.loads(json.dumps(ASN))
    edit(asn)
    ok = write_asn(tmp_path / "ok_asn.json", asn)
    assert read_association_dict(str(ok)) == asn
    text = json.dumps(asn).replace('"asn_rule": ', '"asn_rule": "x", "asn_rule": ', 1)
    with pytest.raises(AssociationError, match="appears twice"):
        read_association_dict(str(write_asn(tmp_path / "dup_asn.json", text)))


@pytest.mark.parametrize(
    "number, what",
    [
        ("NaN", "NaN is no JSON number"),
        ("-Infinity", "-Infinity is no JSON number"),
        ("1e999", "beyond the range of a number"),
    ],
)
def test_numbers_json_has_not_are_refused(tmp_path, number, what):
    """validate said 'ok' to a sky cell centred on NaN (NaN passes every range)."""
    wcs = Path(__file__).parent / "data" / "L3_mosaic_wcs_info_asn.json"
    text = re.sub(r'"ra_center": [^,]+', f'"ra_center": {number}', wcs.read_text())
    path = write_asn(tmp_path / "nan_asn.json", text)
    assert what in validate_file(path)[0].message
    for read in (load_asn, lambda p: read_association_dict(str(p))):
        with pytest.raises(AssociationError, match=what):
            read(path)


@pytest.mark.parametrize("program", [{"a": 1}, [1], 1.5, True])
def test_a_program_of_the_wrong_type_is_refused_not_rewritten_as_text(tmp_path, program):
    """edit wrote a program {'a': 1} back as the text "{'a': 1}", schema-valid."""
    path = write_asn(tmp_path / "a_asn.json", dict(ASN, program=program))
    out = tmp_path / "out_asn.json"
    assert main(["edit", "add", str(path), "zz_cal.asdf", "-o", str(out)]) == 2
    assert not out.exists()
    assert load_asn(write_asn(tmp_path / "b_asn.json", dict(ASN, program=7))).program == "7"


def test_a_parquet_file_of_one_repeated_row_is_refused_before_it_is_read(tmp_path):
    """20M rows of one value fit in 300 kB and took 4 GB and 14 s to read (and
    generate --chunked 7 GB); a real pool holds well under a value a byte."""
    import polars as pl

    from roman_asn.pool.batches import read_batches
    from roman_asn.pool.subset import PoolRows

    n = 4_000_000  # 12M values, above the floor of any file
    bomb = tmp_path / "bomb.parquet"
    pl.select(
        filename=pl.repeat("r0000101001001001001_0001_wfi01_cal.asdf", n),
        program=pl.repeat(1, n),
        exp_type=pl.repeat("WFI_IMAGE", n),
    ).write_parquet(bomb)
    assert bomb.stat().st_size < 200_000
    for read in (read_pool, lambda p: next(read_batches(p)), PoolRows.open):
        with pytest.raises(PoolError, match="4,000,000 rows x 3 columns") as caught:
            read(bomb)
        assert str(bomb) in str(caught.value)
    small = tmp_path / "small.parquet"
    pl.select(filename=pl.repeat("a", 1000), program=pl.repeat(1, 1000)).write_parquet(small)
    assert len(read_pool(small)) == 1000  # 2,000 values in a few hundred bytes: under the floor


@pytest.mark.parametrize("nested", [False, True])
def test_a_parquet_dictionary_of_long_text_is_refused_before_it_is_decoded(tmp_path, nested):
    """One 1 MB string taken by every row of a dictionary-encoded column is a 5 kB file
    that took 2.1 GB to read (and 20k rows would take 20 GB); nested in a list too."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from roman_asn.pool.batches import read_batches
    from roman_asn.pool.subset import PoolRows

    n = 300
    long = pa.array(["X" * 1_000_000]).take(pa.array([0] * n, pa.int32())).dictionary_encode()
    column = (
        pa.ListArray.from_arrays(pa.array(range(n + 1), pa.int32()), long.cast(pa.string()))
        if nested
        else long
    )
    bomb = tmp_path / "bomb.parquet"
    name = "comments" if nested else "target"  # a column of lists is no known column
    table = pa.table(
        {"filename": [f"f{i}_cal.asdf" for i in range(n)], "program": [1] * n, name: column}
    )
    pq.write_table(table, bomb, compression="zstd")
    assert bomb.stat().st_size < 20_000
    for read in (read_pool, lambda p: next(read_batches(p)), PoolRows.open):
        with pytest.raises(PoolError, match=f"column '{name}' stands for") as caught:
            read(bomb)
        assert str(bomb) in str(caught.value)
    # the same text a few times is a pool (under the floor), read as before
    pq.write_table(table.slice(0, 3), tmp_path / "few.parquet", compression="zstd")
    assert read_pool(tmp_path / "few.parquet").table["filename"].to_list()[0] == "f0_cal.asdf"


# ---------------------------------------------------------------- names shown back

DEMO = Path(__file__).parents[1] / "src" / "roman_asn" / "data" / "demo_pool.csv"


def test_names_holding_brackets_are_printed_as_they_are(tmp_path, capsys):
    """rich read '[/x]' in an output folder, a pool file name or a pool value as a
    closing tag: a MarkupError traceback after the files were written (and '[red]'
    vanished from the name shown)."""
    lines = DEMO.read_text().splitlines()
    first, second = lines[1].split("|", 1), lines[2].split("|")
    second[lines[0].split("|").index("exp_type")] = "WFI[/b]"
    pool = tmp_path / "p[red].csv"
    pool.write_text("\n".join([lines[0], "r[/x][red]_uncal.asdf|" + first[1], "|".join(second)]))
    out = tmp_path / "o[/x]"
    runs = [
        (["generate", str(DEMO), "-o", str(out), "--no-skycells"], f"files to {out}"),
        (["pool", "convert", str(DEMO), str(tmp_path / "q[/x].parquet")], "q[/x].parquet"),
        (["pool", "info", str(pool)], "WFI[/B]"),
        (["pool", "info", str(pool)], f"{pool} (legacy pool)"),
        (["explain", str(pool), "#0", "--no-skycells"], "r[/x][red]_uncal.asdf (row #0"),
        (["validate", str(out / "r00001-o001_fov_001_asn.json")], "ok " + str(out)),
    ]
    for args, shown in runs:
        assert main(args) == 0, args
        assert shown in capsys.readouterr().out, args


def test_control_characters_in_names_are_escaped_on_one_line(tmp_path, capsys):
    """A folder's file names are given back by validate, and any path by an error: a
    line break split the line, an escape sequence could erase it on a terminal."""
    folder = tmp_path / "asns"
    folder.mkdir()
    for name in ("a\nb_asn.json", "c\x1b[2Kd_asn.json", "e\u2028f_asn.json"):
        (folder / name).write_text(json.dumps(ASN))
    assert main(["validate", str(folder)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"ok {folder}/a\\nb_asn.json",
        f"ok {folder}/c\\x1b[2Kd_asn.json",
        f"ok {folder}/e\\u2028f_asn.json",
        "3 valid, 0 invalid",
    ]
    assert main(["pool", "info", str(tmp_path / "x\x0by\u2028z.csv")]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"error: {tmp_path}/x\\x0by\\u2028z.csv: no such file"]


@pytest.mark.parametrize(
    "text, what",
    [
        ('{"x": 1}', "an object with neither 'new' nor 'changed'"),
        ('{"retired": [{"name": "a"}]}', "an object with neither 'new' nor 'changed'"),
        ("[]", "lists no association name: nothing to mark"),
        ('{"new": [], "changed": []}', "lists no association name: nothing to mark"),
        ("\n  \n", "lists no association name: nothing to mark"),
    ],
)
def test_a_mark_list_that_names_nothing_says_so_naming_the_file(tmp_path, capsys, text, what):
    """Any JSON object was read as an empty change list, and a list naming nothing
    ended in 'name associations with --processed NAME, --from FILE or --all', which
    named no file though --from FILE was given."""
    listing = tmp_path / "list.json"
    listing.write_text(text)
    assert main(["catalog", "mark", str(tmp_path / "c.db"), "--from", str(listing)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {listing}: {what}")
    assert not (tmp_path / "c.db").exists()
