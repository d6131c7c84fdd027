"""Hostile input at the edge: every pool format, rules and association files give a
one-line error naming the file and the line or row, never a traceback, never a
write outside the output folder, never a silently lost row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from generator_helpers import pool, row

from roman_asn.association import load_asn
from roman_asn.cli import main
from roman_asn.errors import AssociationError, PoolError, RomanAsnError
from roman_asn.generator.engine import generate
from roman_asn.generator.options import GenerateOptions
from roman_asn.generator.writer import write_associations
from roman_asn.pool import read_pool
from roman_asn.pool.formats import PoolFormat, format_names, get_format, register_format
from roman_asn.rules.loader import RulesError, load_rules, parse_rules
from roman_asn.validate import validate_file

DEMO = Path(__file__).parents[1] / "src" / "roman_asn" / "data" / "demo_pool.csv"


def one_line_error(path: Path, exc_type=PoolError, **kwargs) -> str:
    with pytest.raises(exc_type) as caught:
        read_pool(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


# ---------------------------------------------------------------- readers (class 5)


@pytest.mark.parametrize(
    "name, content, where, what",
    [
        ("p.csv", "filename,program,exp_type\na,1,X\nb,X\n", "line 3", "expected 3"),
        ("p.csv", 'filename,program\n"a,1",1\nb\n', "line 3", "expected 2"),
        ("p.csv", "filename,program\na,1,9\n", "line 2", "expected 2"),
        (
            "p.ecsv",
            "# %ECSV 1.0\n# ---\n# datatype:\n# - {name: filename, datatype: string}\n"
            "# - {name: program, datatype: int64}\nfilename program\na 1\nb\n",
            "line 8",
            "expected 2",
        ),
        (
            "p.ecsv",
            "# %ECSV 1.0\n# ---\n# datatype:\n# - {name: filename, datatype: string}\n"
            "# - {name: program, datatype: int64}\nfilename program\na abc\n",
            "line 7",
            "'abc'",
        ),
        (
            "p.ecsv",
            "# %ECSV 1.0\n# ---\n# datatype:\n# - {datatype: string}\nfilename\na\n",
            "p.ecsv",
            "no column name",
        ),
        (
            "p.ecsv",
            "# %ECSV 1.0\n# ---\n# delimiter: '|'\n# datatype:\n"
            "# - {name: filename, datatype: string}\nfilename\na\n",
            "p.ecsv",
            "delimiter",
        ),
        ("p.ecsv", "# %ECSV 1.0\n# ---\n# datatype: [\n# - {a\nfilename\na\n", "p.ecsv", "header"),
    ],
)
def test_text_readers_are_strict(tmp_path, name, content, where, what):
    path = tmp_path / name
    path.write_text(content)
    message = one_line_error(path)
    assert where in message and what in message


def test_latin1_ecsv_header_is_one_line(tmp_path):
    path = tmp_path / "p.ecsv"
    path.write_bytes(
        b"# %ECSV 1.0\n# ---\n# datatype:\n# - {name: filename, datatype: string}\n"
        b"# caf\xe9: 1\nfilename\na\n"
    )
    assert "line 5" in one_line_error(path)


def test_bom_cr_only_and_pipes_read_like_the_file(tmp_path):
    plain = b"FILENAME|PROGRAM\na.asdf|1\nb.asdf|2\n"
    expected = read_pool(_write(tmp_path / "plain.csv", plain)).table
    for name, data in [
        ("bom.csv", b"\xef\xbb\xbf" + plain),
        ("cr.csv", plain.replace(b"\n", b"\r")),
        ("crlf.csv", plain.replace(b"\n", b"\r\n")),
    ]:
        assert read_pool(_write(tmp_path / name, data)).table.equals(expected), name
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen([sys.executable, "-c", f"open({str(fifo)!r}, 'wb').write({plain!r})"])
    assert read_pool(fifo).table.equals(expected)
    writer.wait()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_stdin_is_a_pool(tmp_path):
    code = "import sys; from roman_asn.pool import read_pool; print(len(read_pool('-')))"
    done = subprocess.run(
        [sys.executable, "-c", code], input=b"FILENAME|PROGRAM\na|1\n", capture_output=True
    )
    assert done.stdout.strip() == b"1"


def test_parquet_cells_must_fit_their_column(tmp_path):
    path = tmp_path / "p.parquet"
    pl.DataFrame({"filename": ["a", "b"], "program": [1.0, 1.5]}).write_parquet(path)
    assert "row 2" in one_line_error(path) and "1.5" in one_line_error(path)
    pl.DataFrame({"filename": ["a"], "program": [[1]]}).write_parquet(path)
    assert "program" in one_line_error(path)


def test_registry_refuses_duplicates_and_lists_formats():
    assert set(format_names()) >= {"legacy", "csv", "ecsv", "parquet"}
    with pytest.raises(ValueError, match="already registered"):
        register_format(PoolFormat("csv", *[get_format("csv").identify] * 1, *[None] * 3))
    with pytest.raises(PoolError, match="unknown pool format"):
        get_format("fits")


def test_read_pool_with_an_explicit_format(tmp_path):
    path = _write(tmp_path / "pool.txt", b"filename,program\na,1\n")
    assert read_pool(path, fmt="csv").format == "csv"


# ---------------------------------------------------------------- outside the folder (3)


@pytest.mark.parametrize("bad", ["../x", "a/b", "o/../../x", "", "o 1"])
def test_parquet_candidate_structs_are_checked(tmp_path, bad):
    path = tmp_path / "p.parquet"
    pl.DataFrame(
        {"filename": ["a", "b"], "candidates": [[], [{"id": bad, "type": "observation"}]]}
    ).write_parquet(path)
    message = one_line_error(path)
    assert "row 2" in message and "candidates" in message


def rule_text(asn_type: str = "image", product_name: str = "p{program}") -> str:
    return f"""
[[rule]]
name = "R"
level = 2
asn_type = "{asn_type}"
group_by = ["exposure"]
product_name = "{product_name}"
"""


@pytest.mark.parametrize("asn_type", ["a/b", "../x", "Image", "a\\u0000b", ""])
def test_rules_asn_type_is_a_safe_file_name_part(asn_type):
    with pytest.raises(RulesError) as caught:
        parse_rules(rule_text(asn_type=asn_type), "r.toml")
    assert "\n" not in str(caught.value) and "r.toml" in str(caught.value)


@pytest.mark.parametrize("spec", ["{program:0999999999d}", "{program:" + "9" * 5000 + "d}"])
def test_rules_format_widths_are_bounded(spec):
    with pytest.raises(RulesError, match="widths"):
        parse_rules(rule_text(product_name=f"p{spec}"), "r.toml")


def test_rules_control_characters_are_refused():
    with pytest.raises(RulesError, match="control character"):
        parse_rules(rule_text(product_name="p{program}\\u0000x"), "r.toml")


@pytest.mark.parametrize("program", ["-5", "123456"])
def test_program_out_of_range_names_the_row(tmp_path, program):
    path = _write(tmp_path / "p.csv", f"FILENAME|PROGRAM\na|1\nb|{program}\n".encode())
    message = one_line_error(path)
    assert "line 3" in message and "program" in message


# ---------------------------------------------------------------- lost rows (4)


def test_candidate_ids_differing_in_case_are_one_candidate(tmp_path):
    rows = [row(1, 1, candidates="[('O001', 'observation')]")]
    rows += [row(1, 2, candidates="[('o001', 'observation')]")]
    rows += [row(1, 3, candidates="[('o001', 'OBSERVATION')]")]
    result = generate(pool(rows), load_rules(), GenerateOptions.from_flags(ids=["O001"]))
    assert result.orphans.height == 0
    names = result.associations["file_name"].to_list()
    assert len(names) == len(set(n.lower() for n in names))
    write_associations(result, tmp_path)
    assert len(list(tmp_path.glob("*_asn.json"))) == len(names)
    members = {
        m["expname"]
        for p in tmp_path.glob("*_asn.json")
        for product in json.loads(p.read_text())["products"]
        for m in product["members"]
    }
    assert len({r["filename"].split("_uncal")[0] for r in rows}) <= len(members)


def test_gather_refuses_a_member_named_like_the_association(tmp_path):
    from roman_asn.tools.gather import gather

    (tmp_path / "src").mkdir()
    asn = tmp_path / "x_asn.json"
    data = {
        "asn_type": "image",
        "asn_rule": "R",
        "asn_id": "o001",
        "program": "00001",
        "products": [
            {"name": "p", "members": [{"expname": "src/x_asn.json", "exptype": "science"}]}
        ],
    }
    asn.write_text(json.dumps(data))
    (tmp_path / "src" / "x_asn.json").write_text("member")
    with pytest.raises(RomanAsnError, match="own file name"):
        gather(asn, tmp_path / "dest")
    assert not (tmp_path / "dest" / "x_asn.json").exists()


# ---------------------------------------------------------------- values (6)


def _corners(ra: list[float], dec: list[float]) -> dict:
    out = {}
    for i, (r, d) in enumerate(zip(ra, dec, strict=True), start=1):
        out[f"ra_corn{i}"], out[f"dec_corn{i}"] = [0.0, r], [0.0, d]
    return out


@pytest.mark.parametrize(
    "columns, name",
    [
        (_corners([1e308, 0.1, 0.1, 0.0], [0.0, 0.0, 0.1, 0.1]), "ra_corn1"),
        (_corners([0.0, 0.1, 0.1, 0.0], [95.0, 0.0, 0.1, 0.1]), "dec_corn1"),
        (_corners([0.0, 180.0, 180.0, 0.0], [0.0, 0.0, 0.1, 0.1]), "ra_corn1"),
        (
            {"s_region": ["POLYGON ICRS 0 0 0.1 0 0.1 0.1", "POLYGON ICRS 1 100 2 0 2 1"]},
            "s_region",
        ),
        ({"pointing_ra": [0.0, float("nan")]}, "pointing_ra"),
    ],
)
def test_values_out_of_range_name_the_row(tmp_path, columns, name):
    path = tmp_path / "p.parquet"
    frame = pl.DataFrame({"filename": ["a", "b"], **columns})
    if "ra_corn1" in columns:
        frame = frame.with_columns(
            pl.when(pl.int_range(pl.len()) == 0).then(0.0).otherwise(pl.col(c)).alias(c)
            for c in columns
            if c.startswith("dec")
        )
    frame.write_parquet(path)
    message = one_line_error(path)
    assert "row 2" in message and name in message


def test_empty_filename_is_orphaned_with_that_reason(tmp_path):
    rows = [row(1, 1), {**row(1, 2), "filename": ""}]
    result = generate(pool(rows), load_rules(), GenerateOptions())
    assert result.orphans["reasons"].to_list() == [
        ["no file name: the filename is empty or NULL, so no association can list it"]
    ]


# ---------------------------------------------------------------- association files (7)


@pytest.mark.parametrize(
    "text, what",
    [
        ('{"asn_type": ' + "9" * 5000 + "}", "more digits"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"a": 1, "a": 2}', "appears twice"),
        ("\xff", "not a text file"),
    ],
)
def test_association_json_errors_are_one_line(tmp_path, text, what):
    path = tmp_path / "a_asn.json"
    path.write_text(text, encoding="latin-1" if text == "\xff" else "utf-8")
    with pytest.raises(AssociationError) as caught:
        load_asn(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and what in message
    problems = validate_file(path)
    assert problems and "\n" not in str(problems[0])
    out = tmp_path / "out"
    for command in (
        ["validate"],
        ["diff", str(path)],
        ["update-path", "--path", "x", "-o", str(out)],
    ):
        assert main([*command, str(path)]) in (1, 2)
        assert not out.exists()


def test_validate_rejects_nul_in_expname(tmp_path):
    asn = json.loads((Path(__file__).parent / "data" / "asn_level2.json").read_text())
    asn["products"][0]["members"][0]["expname"] = "a\x00b.asdf"
    path = tmp_path / "a_asn.json"
    path.write_text(json.dumps(asn))
    assert any("control characters" in p.message for p in validate_file(path))


# ---------------------------------------------------------------- duplicates (8)


def test_file_listed_twice_with_conflicting_metadata_is_refused(tmp_path):
    body = "FILENAME|OBS_NUM|EXPOSERR\na|1|NULL\na|2|NULL\nb|1|NULL\nb|1|bad\n"
    message = one_line_error(_write(tmp_path / "p.csv", body.encode()))
    assert (
        "'b'" in message and "exposerr" in message and "line 5" in message and "line 4" in message
    )
    # the same file under two observations (romancal's own pools do this) is fine
    fine = "FILENAME|OBS_NUM|EXPOSERR\na|1|NULL\na|2|NULL\na|2|NULL\n"
    assert len(read_pool(_write(tmp_path / "q.csv", fine.encode()))) == 3


# ---------------------------------------------------------------- no-ops (9)


def test_ids_matching_nothing_warn_and_fail(tmp_path, capsys):
    assert main(["generate", str(DEMO), "-o", str(tmp_path), "-i", "o999", "--no-skycells"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "o999" in err and "o001" in err and "nothing written" in err
    assert main(["generate", str(DEMO), "-o", str(tmp_path), "-i", "O001", "--no-skycells"]) == 0
    assert list(tmp_path.glob("*-o001_*_asn.json"))


def test_make_pool_reports_symlink_loops(tmp_path):
    from roman_asn.make_pool import find_inputs

    (tmp_path / "loop.asdf").symlink_to("loop.asdf")
    (tmp_path / "gone.asdf").symlink_to("nothere.asdf")
    found, missing = find_inputs([tmp_path])
    assert not found
    reasons = {Path(m.path).name: m.reason for m in missing}
    assert reasons == {"loop.asdf": "symlink loop", "gone.asdf": "broken symlink (to nothere.asdf)"}


@pytest.mark.parametrize("bad", ["../x", "o/1", "o 1x"])
def test_ids_option_is_checked(bad):
    with pytest.raises(RomanAsnError, match="candidate ids"):
        GenerateOptions.from_flags(ids=[bad])


def test_chunked_runs_find_conflicting_duplicates_across_batches(tmp_path):
    from roman_asn.generator.chunked import generate_chunked

    body = "FILENAME|PROGRAM|OBS_NUM|EXPOSERR|EXP_TYPE\n" + "".join(
        f"{name}.asdf|1|1|NULL|WFI_IMAGE\n" for name in "abcdef"
    )
    path = _write(tmp_path / "p.csv", (body + "a.asdf|1|2|bad|WFI_IMAGE\n").encode())
    with pytest.raises(PoolError, match=r"p\.csv, line 8, column 'exposerr'.*line 2"):
        list(generate_chunked(path, load_rules(), GenerateOptions(), batch_bytes=30))


def test_make_pool_leaves_out_files_with_impossible_values():
    from roman_asn.make_pool import ScanResult, build_pool

    good = ScanResult("/d/a.asdf", row={"filename": "a.asdf", "program": 1})
    bad = ScanResult("/d/b.asdf", row={"filename": "b.asdf", "program": 123456})
    made = build_pool([good, bad])
    assert made.pool.table["filename"].to_list() == ["a.asdf"]
    assert [(r.path, r.reason.split(":")[0]) for r in made.rejects] == [("/d/b.asdf", "program")]


def test_a_footprint_wider_than_any_detector_is_a_row_reason_not_a_crash(tmp_path):
    """A 270-degree-wide S_REGION: that row gets no sky cell (with the reason in explain),
    every other row goes on."""
    from generator_helpers import pool, row

    from roman_asn import GenerateOptions, generate, load_rules
    from roman_asn.generator.explain import explain

    wide = row(visit=1, exposure=1, s_region="POLYGON ICRS 10 0 100 0 190 0 280 10")
    fine = row(visit=1, exposure=2, s_region="POLYGON ICRS 10 1 10.1 1 10.1 1.1 10 1.1")
    result = generate(pool([wide, fine]), load_rules())
    cells = result.associations.filter(result.associations["skycell"].is_not_null())
    members = {m for ms in cells["members"].to_list() for m in ms}
    assert any(fine["filename"].replace("_uncal", "_cal") == m for m in members)
    assert not any(wide["filename"].replace("_uncal", "_cal") == m for m in members)
    (story,) = explain(pool([wide, fine]), load_rules(), GenerateOptions(), wide["filename"])
    assert "footprint wider than 20 deg" in repr(story)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_an_empty_pool_gives_no_associations_in_every_mode(tmp_path, capsys, kind):
    """A pool with columns and no rows (the sky-cell rules on): nothing to write, the
    same outputs whole or chunked, and explain says the pool has no rows."""
    header = DEMO.read_text().splitlines()[0]
    path = tmp_path / f"empty.{kind}"
    if kind == "csv":
        path.write_text(header + "\n")
    else:
        read_pool(DEMO).table.head(0).drop("pool_row").write_parquet(path)
    outputs = {}
    for mode in ([], ["--chunked"]):
        out = tmp_path / f"out{len(mode)}"
        code = main(["generate", str(path), "--bundle", f"{out}.parquet", "-o", str(out), *mode])
        assert code == 0, capsys.readouterr().err
        code = main(["generate", str(path), "--bundle", f"{out}.jsonl", *mode])
        assert code == 0, capsys.readouterr().err
        assert not out.exists() or not list(out.iterdir())
        outputs[len(mode)] = (
            Path(f"{out}.parquet").read_bytes(),
            Path(f"{out}.jsonl").read_bytes(),
        )
    assert outputs[0] == outputs[1] and outputs[0][1] == b""
    capsys.readouterr()
    assert main(["explain", str(path), "#0"]) == 2
    assert "the pool has no rows" in capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_an_endless_binary_stream_is_refused_from_its_start():
    """A device or pipe is read whole (it can be read only once), unless its first
    bytes are already no pool: /dev/zero is refused at once, not read forever."""
    message = one_line_error(Path("/dev/zero"))
    assert "line 1: not a text pool (binary data at byte 0)" in message


def test_a_rule_grouping_by_a_list_column_is_skipped_with_the_reason(tmp_path, capsys):
    """A rule may name any pool column; one whose values are lists (candidates, or a
    nested Parquet column) cannot make groups or names: skipped, saying why."""
    rules = tmp_path / "lists.toml"
    rules.write_text(
        '[[rule]]\nname = "ByCandidates"\nlevel = 2\ncandidates = "none"\n'
        'group_by = ["candidates"]\nasn_type = "image"\nproduct_name = "r{candidates}"\n'
    )
    args = ["generate", str(DEMO), "--rules", str(rules), "--bundle", str(tmp_path / "b.jsonl")]
    assert main([*args, "--ignore-default"]) == 2
    assert "ByCandidates: it selects, groups by or names with candidates, which hold" in (
        capsys.readouterr().err
    )
    assert main(args) == 0  # the default rules run; the table says why this one did not
    assert "rule skipped: it selects, groups by or names with candidates" in (
        capsys.readouterr().out
    )
    # selecting rows by a list column is the same: skipped, not a polars error
    rules.write_text(
        '[[rule]]\nname = "SelectCandidates"\nlevel = 2\ncandidates = "none"\n'
        'group_by = ["program"]\nasn_type = "image"\nproduct_name = "r{program}"\n'
        '[[rule.select]]\ncolumn = "candidates"\nvalues = ["o001"]\n'
    )
    assert main([*args, "--ignore-default"]) == 2
    assert "SelectCandidates: it selects, groups by or names with candidates" in (
        capsys.readouterr().err
    )


def test_a_key_nested_beyond_reason_is_refused_before_parsing(tmp_path):
    """TOML readers take quadratic time in a dotted key's depth (500k dots: 24 GB)."""
    with pytest.raises(RulesError, match="line 2: more than 1000 dots on one line"):
        parse_rules("# rules\n" + "a." * 200_000 + "a = 1\n", "deep.toml")
    with pytest.raises(RulesError, match="unknown top-level key"):  # deep, but no bomb
        parse_rules("a." * 999 + "a = 1\n", "deep.toml")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_association_files_that_are_pipes_or_devices_are_problems_not_hangs(tmp_path, capsys):
    """A FIFO nobody writes to, or a link to /dev/zero, named like an association file:
    reported as not a regular file, never waited on or read forever."""
    folder = tmp_path / "asns"
    folder.mkdir()
    good = Path(__file__).parent / "data" / "L3_mosaic_wcs_info_asn.json"
    (folder / "good_asn.json").write_bytes(good.read_bytes())
    os.mkfifo(folder / "fifo_asn.json")
    if os.path.exists("/dev/zero"):
        (folder / "zero_asn.json").symlink_to("/dev/zero")
    assert main(["validate", str(folder)]) == 1
    out = capsys.readouterr().out
    assert f"INVALID {folder / 'fifo_asn.json'}: $: not a regular file (a pipe or device)" in out
    assert "1 valid" in out
    with pytest.raises(AssociationError, match="not a regular file"):
        load_asn(folder / "fifo_asn.json")


BOMB = """#ASDF 1.0.0
#ASDF_STANDARD 1.5.0
%YAML 1.1
--- !core/asdf-1.1.0
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
j: &j [*i,*i,*i,*i,*i,*i,*i,*i,*i]
roman: {meta: *j}
...
"""


def test_an_asdf_alias_bomb_is_left_out_not_expanded(tmp_path):
    """A few hundred bytes of YAML aliases standing for billions of nodes: asdf would
    walk them for hours; make-pool leaves the file out at once, saying why, and
    footprints refuse it the same way. A tree with a few aliases (or one that holds
    itself) is measured, not refused."""
    import yaml

    from roman_asn.asdf_guard import expanded_size
    from roman_asn.make_pool import scan_file
    from roman_asn.skycells.footprints import read_level2

    bomb = tmp_path / "bomb_cal.asdf"
    bomb.write_text(BOMB)
    result = scan_file(str(bomb))
    assert result.row is None and "alias bomb" in result.reason
    with pytest.raises(RomanAsnError, match="alias bomb"):
        read_level2(bomb)
    small = yaml.compose("a: &a [1, 2]\nb: [*a, *a]\n")
    # the mapping, its keys a and b, [1, 2] (3 nodes), b's list holding [1, 2] twice (7)
    assert expanded_size(small, 1000) == 1 + 2 + 3 + 7
    looped = yaml.compose("a: &a [1, *a]\n")
    assert expanded_size(looped, 1000) == 1 + 1 + 2  # the list holds itself: counted once


def test_make_pool_numbers_must_fit_their_columns():
    """An integer past 64 bits is no exposure's (the file is left out, naming the key);
    an integer where a float column is expected becomes a float."""
    from roman_asn.make_pool import RejectedInput, _fit_columns

    places = {"exposure": "meta.observation.exposure", "pointing_ra": "meta.pointing.ra_v1"}
    with pytest.raises(RejectedInput, match="meta.observation.exposure: 18446744073709551616"):
        _fit_columns({"exposure": 2**64}, places)
    with pytest.raises(RejectedInput, match="out of range"):
        _fit_columns({"pointing_ra": 10**400}, places)
    row = {"pointing_ra": 5, "exposure": 3, "filename": "x"}
    _fit_columns(row, places)
    assert row == {"pointing_ra": 5.0, "exposure": 3, "filename": "x"}
    assert isinstance(row["pointing_ra"], float)
    with pytest.raises(RejectedInput, match="meta.observation.exposure: True is not a number"):
        _fit_columns({"exposure": True}, places)


def test_bad_urls_addresses_and_damaged_parquet_are_one_line_errors(tmp_path, capsys):
    """A catalog URL that does not parse (its password never shown) or names another
    driver, a Dask address of an unknown scheme, a Parquet pool with a column twice
    (whole, chunked and explain), a negative seed: exit 2, one line, no traceback."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    twice = tmp_path / "twice.parquet"
    pq.write_table(
        pa.table(
            [pa.array(["a.asdf"]), pa.array([1]), pa.array([2])],
            names=["filename", "program", "program"],
        ),
        twice,
    )
    runs = [
        (["catalog", "stats", "postgresql://bob:secret@[::1"], "not a valid database URL"),
        (["catalog", "stats", "postgresql+psycopg2://u@127.0.0.1:1/db"], "psycopg 3"),
        (
            [
                "generate",
                str(DEMO),
                "--bundle",
                str(tmp_path / "b.jsonl"),
                "--scheduler",
                "garbage://x",
            ],
            "cannot reach the Dask scheduler",
        ),
        (["generate", str(twice), "-o", str(tmp_path / "o1"), "--chunked"], "twice.parquet"),
        (["generate", str(twice), "-o", str(tmp_path / "o2")], "twice.parquet"),
        (["explain", str(twice), "#0"], "twice.parquet"),
        (
            ["synth-pool", "-o", str(tmp_path / "s.csv"), "--exposures", "2", "--seed", "-5"],
            "--seed",
        ),
    ]
    for args, what in runs:
        code = main(args)
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        assert what in err and "Traceback" not in err and "secret" not in err, (args, err)


def test_running_out_of_memory_is_a_one_line_error():
    from roman_asn.cli.common import user_errors

    expected = "not enough memory for this run: Unable to alloc"
    with pytest.raises(RomanAsnError, match=expected), user_errors(False):
        raise MemoryError("Unable to allocate 146. GiB for an array")


def test_a_lock_that_is_a_link_or_a_pipe_is_refused_not_followed(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    outside = tmp_path / "outside.lock"
    (out / ".roman-asn.lock").symlink_to(outside)
    assert main(["generate", str(DEMO), "-o", str(out)]) == 2
    assert "is a symbolic link" in capsys.readouterr().err
    assert not outside.exists() and not list(out.glob("*_asn.json"))
    (out / ".roman-asn.lock").unlink()
    os.mkfifo(out / ".roman-asn.lock")
    assert main(["generate", str(DEMO), "-o", str(out)]) == 2
    assert "not a plain file" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["fifo", "device"])
@pytest.mark.parametrize(
    "args",
    [
        ["generate", str(DEMO), "-o", "{D}/out", "-r", "{X}"],
        ["catalog", "mark", "{D}/c.db", "--from", "{X}"],
        ["make-pool", "{X}", "-o", "{D}/p.csv"],
        ["skycell-lookup", "find", "10", "10", "--skymap", "{X}"],
        ["skycell-asn", "{X}", "-d", "{D}"],
    ],
)
def test_pipes_and_devices_as_inputs_are_refused_at_once(tmp_path, capsys, kind, args):
    """A FIFO nobody writes to would block, /dev/zero would never end."""
    if kind == "fifo":
        os.mkfifo(tmp_path / "x")
        source = str(tmp_path / "x")
    else:
        source = "/dev/zero"
    code = subprocess.run(
        [sys.executable, "-m", "roman_asn", *[a.format(D=tmp_path, X=source) for a in args]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert code.returncode == 2, code.stderr
    assert "not a regular file (a pipe or device)" in code.stderr
    assert "Traceback" not in code.stderr


def test_names_too_long_and_folders_that_are_files_are_one_line_errors(tmp_path, capsys):
    """A rule making 300-byte file names is refused before the first file is written;
    a file where a folder belongs, or an OS error, names the path without errno text."""
    rules = tmp_path / "long.toml"
    rules.write_text(
        '[[rule]]\nname = "Long"\nlevel = 2\ncandidates = "none"\ngroup_by = ["program"]\n'
        f'asn_type = "image"\nasn_file_name = "product"\nproduct_name = "r{"y" * 300}"\n'
    )
    out = tmp_path / "out"
    assert main(["generate", str(DEMO), "-o", str(out), "-r", str(rules)]) == 2
    assert "file systems take at most 255" in capsys.readouterr().err
    assert not out.exists() or not list(out.glob("*_asn.json"))
    blocker = "/dev/null"  # click refuses a regular file here; a device got errno text
    asn = tmp_path / "a_asn.json"
    assert main(["from-list", "m_cal.asdf", "-o", str(asn), "--product-name", "p"]) == 0
    assert main(["gather", str(asn), "--to", str(blocker)]) == 2
    assert f"{blocker}: cannot write: exists and is not a folder" in capsys.readouterr().err
    name = tmp_path / ("x" * 300 + "_asn.json")
    assert main(["from-list", "m_cal.asdf", "-o", str(name), "--product-name", "p"]) == 2
    err = capsys.readouterr().err
    assert err.rstrip().endswith("_asn.json: File name too long") and "Errno" not in err
