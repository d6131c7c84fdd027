"""No output file may be one of the command's inputs, or another output: the
command refuses before it reads or writes anything."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import click
import pytest

from roman_asn.cli import SUBCOMMANDS, cli, main
from roman_asn.cli.outputs import Command, Group, OutputFile

DEMO = Path(__file__).parents[1] / "src" / "roman_asn" / "data" / "demo_pool.csv"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def pool(tmp_path):
    target = tmp_path / "P.csv"
    shutil.copy(DEMO, target)
    return target


@pytest.mark.parametrize(
    "args, what",
    [
        (["generate", "{P}", "-o", "{D}/out", "--orphans", "{P}"], "--orphans would overwrite"),
        (["generate", "{P}", "-o", "{D}/out", "--bundle", "{L}"], "--bundle would overwrite"),
        (
            ["generate", "{P}", "-r", "{P}", "--bundle", "{D}/b.jsonl", "--orphans", "{D}/b.jsonl"],
            "name the same file",
        ),
        (["pool", "convert", "{P}", "{L}"], "TARGET would overwrite"),
        (["make-pool", "{P}", "-o", "{P}"], "--output would overwrite"),
        (["make-pool", "{P}", "-o", "{D}/x.csv", "--rejects", "{D}/x.csv"], "name the same file"),
        (["from-list", "{P}", "-o", "{P}", "--product-name", "x"], "--output-file would"),
        (["plot", "{P}", "-o", "{P}"], "--output would overwrite"),
        (["edit", "add", "{D}/a_asn.json", "{P}", "-o", "{P}"], "--output-file would"),
    ],
)
def test_an_output_naming_an_input_is_refused_and_nothing_changes(
    tmp_path, pool, capsys, args, what
):
    (tmp_path / "L.csv").symlink_to(pool)  # another spelling of the same file
    (tmp_path / "a_asn.json").write_text("{}")
    before = sorted(p.name for p in tmp_path.iterdir())
    digest = _digest(pool)
    values = {"P": str(pool), "L": str(tmp_path / "L.csv"), "D": str(tmp_path)}
    assert main([arg.format(**values) for arg in args]) == 2
    err = capsys.readouterr().err
    assert what in err and "nothing was written" in err and "Traceback" not in err
    assert _digest(pool) == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_catalog_outputs_never_replace_the_catalog(tmp_path, pool, capsys):
    catalog = tmp_path / "C.db"
    assert main(["catalog", "ingest", str(catalog), str(pool)]) == 0
    digest = _digest(catalog)
    for args in (
        ["catalog", "ingest", str(catalog), str(pool), "--changes", str(catalog)],
        ["catalog", "withdraw", str(catalog), "x.asdf", "--changes", str(catalog)],
        ["catalog", "export", str(catalog), "-o", str(tmp_path / "e"), "--bundle", str(catalog)],
    ):
        capsys.readouterr()
        assert main(args) == 2
        assert "would overwrite the input" in capsys.readouterr().err
        assert _digest(catalog) == digest


def test_an_in_place_edit_is_still_allowed(tmp_path):
    asn = tmp_path / "a_asn.json"
    assert (
        main(["from-list", "x_cal.asdf", "y_cal.asdf", "-o", str(asn), "--product-name", "p"]) == 0
    )
    assert main(["edit", "remove", str(asn), "y_cal.asdf", "-o", str(asn)]) == 0
    assert "y_cal.asdf" not in asn.read_text()


def _commands(group: click.Group, ctx: click.Context):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            assert isinstance(command, Group), name
            yield from _commands(command, ctx)
        else:
            yield name, command


def test_every_command_checks_and_declares_its_output_files():
    """A new command or option cannot forget the check: every command is a checked
    Command and every option that names an output file is an OutputFile."""
    ctx = click.Context(cli)
    commands = list(_commands(cli, ctx))
    assert len(commands) >= len(SUBCOMMANDS)
    for name, command in commands:
        assert isinstance(command, Command), name
        for param in command.params:
            opts = set(getattr(param, "opts", ()))
            if opts & {
                "-o",
                "--output",
                "--output-file",
                "--orphans",
                "--bundle",
                "--changes",
                "--rejects",
            }:
                kind = param.type
                writes_a_file = not (isinstance(kind, click.Path) and not kind.file_okay)
                if writes_a_file and "--output-file-root" not in opts:
                    assert isinstance(kind, OutputFile), (name, param.name)


def test_an_output_naming_an_input_the_command_creates_is_refused(tmp_path, pool, capsys):
    """A new catalog does not exist before the run: --changes on its path would turn it
    into JSON all the same."""
    catalog = tmp_path / "new.db"
    args = ["catalog", "ingest", str(catalog), str(pool), "--changes", str(catalog)]
    assert main(args) == 2
    assert "--changes would overwrite the input" in capsys.readouterr().err
    assert not list(tmp_path.glob("new.db*"))


@pytest.mark.parametrize("name", [".roman-asn.lock", "r00001-o001_fov_001_asn.json"])
def test_the_orphan_report_is_not_a_file_the_run_writes(tmp_path, pool, capsys, name):
    out = tmp_path / "out"
    assert main(["generate", str(pool), "-o", str(out), "--orphans", str(out / name)]) == 2
    assert "--orphans names a file this run writes" in capsys.readouterr().err
    assert not out.exists() or not list(out.iterdir())


def test_the_library_refuses_an_orphan_report_the_run_would_write(tmp_path):
    """The refusal lives in the output the run API takes, not only in the command."""
    from roman_asn.errors import RomanAsnError
    from roman_asn.generator.orphans import OrphansFirst
    from roman_asn.outputs import open_output

    out = tmp_path / "out"
    with pytest.raises(RomanAsnError, match="--orphans names a file this run writes"):
        OrphansFirst(open_output(out), out / "r00001-o001_fov_001_asn.json")
    OrphansFirst(open_output(out), out / "orphans.csv")  # another name is fine
    OrphansFirst(open_output(out, bundle=str(out / "b.json")), out / "a_asn.json")


def test_product_names_that_escape_the_folder_cost_their_group(tmp_path, capsys):
    """romancal writes its product under the product name: a pool value such as a
    visit id of '../../x' (or a target of 300 characters) must not become one. The
    group is dropped with the reason, the rest of the pool is generated, and a row
    left in no association is an orphan (nor may a user's --product-name escape)."""
    lines = DEMO.read_text().splitlines()
    header = lines[0].split("|")
    row = lines[1].split("|")
    row[header.index("visit_id")] = "../../../escaped"
    long_target = lines[2].split("|")
    long_target[header.index("target")] = "t" * 300
    delete = lines[3].split("|")
    delete[header.index("visit_id")] = "a\x7fb"  # DEL: the association schema refuses it too
    pool = tmp_path / "p.csv"
    changed = ["|".join(row), "|".join(long_target), "|".join(delete)]
    pool.write_text("\n".join([lines[0], *changed, *lines[4:]]) + "\n")
    out, orphans = tmp_path / "out", tmp_path / "orphans.csv"
    clean = tmp_path / "clean"
    (tmp_path / "clean.csv").write_text("\n".join([lines[0], *lines[4:]]) + "\n")
    assert main(["generate", str(pool), "-o", str(out), "--orphans", str(orphans)]) == 0
    said = capsys.readouterr().out
    assert "product name 'r../../../escaped_0001_fov' is not a plain file name" in said
    names = sorted(p.name for p in out.iterdir())
    assert not any("escaped" in n or "t" * 200 in n for n in names)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clean.csv",
        "orphans.csv",
        "out",
        "p.csv",
    ]
    for path in out.iterdir():
        product = json.loads(path.read_text())["products"][0]["name"]
        assert "/" not in product and len(product) < 246
    assert "product name 'r00001_p_o001_ttttt" in said  # the long target's mosaic
    assert "product name 'ra\\x7fb_0001_fov' is not a plain file name" in said
    # the rows lost no more than those groups: the orphans are the clean pool's
    clean_orphans = tmp_path / "clean_orphans.csv"
    command = ["generate", str(tmp_path / "clean.csv"), "-o", str(clean)]
    assert main([*command, "--orphans", str(clean_orphans)]) == 0
    files = [line.split(",")[0] for line in orphans.read_text().splitlines()]
    assert files == [line.split(",")[0] for line in clean_orphans.read_text().splitlines()]
    asn = tmp_path / "x_asn.json"
    assert main(["from-list", "a_cal.asdf", "-o", str(asn), "--product-name", "../x"]) == 2
    assert "must be a plain file name" in capsys.readouterr().err
    assert not asn.exists()


@pytest.mark.parametrize(
    "args, label",
    [
        (["generate", "{P}", "-o", ""], "'-o' / '-p'"),
        (["generate", "{P}", "--bundle", "b.jsonl", "--orphans", ""], "'--orphans'"),
        (["update-path", "{A}", "--path", "x", "-o", ""], "'-o' / '--output-dir'"),
        (["skycell-lookup", "find", "10", "10", "--skymap", ""], "'--skymap'"),
        (["generate", "", "-o", "out"], "'POOL'"),
        (["validate", ""], "'FILE|FOLDER|-...'"),
        (["catalog", "stats", ""], "'CATALOG'"),
        (["catalog", "mark", "c.db", "--all", "--from", ""], "'--from'"),
    ],
)
def test_an_empty_path_is_a_usage_error_and_nothing_is_written(
    tmp_path, monkeypatch, capsys, pool, args, label
):
    """'' is the current folder to os and pathlib: ``-o "$OUT"`` with OUT unset wrote
    the associations there, --skymap '' used the computed sky cells, and an empty
    input was reported as '.' (or with no name at all)."""
    asn = tmp_path / "a_asn.json"
    shutil.copy(Path(__file__).parent / "data" / "asn_level2.json", asn)
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.iterdir())
    assert main([a.format(P=pool, A=asn) for a in args]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"Invalid value for {label}" in err and "an empty name is no file or folder" in err
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    "args",
    [
        ["pool", "convert", "{P}", "-"],
        ["generate", "{P}", "--bundle", "b.jsonl", "--orphans", "-"],
        ["generate", "{P}", "-o", "-"],
        ["synth-pool", "--exposures", "2", "-o", "-"],
    ],
)
def test_a_dash_output_is_a_usage_error_not_a_file_named_dash(
    tmp_path, monkeypatch, capsys, pool, args
):
    """'-' is standard input where a pool or a list is read; as an output it made a
    file (or folder) named '-' in the current folder. ./- still names one."""
    monkeypatch.chdir(tmp_path)
    assert main([a.format(P=pool) for a in args]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "'-' stands for standard output, which this output cannot be" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["P.csv"]
    assert main(["pool", "convert", str(pool), "./-"]) == 0
    assert (tmp_path / "-").read_text() == pool.read_text()
