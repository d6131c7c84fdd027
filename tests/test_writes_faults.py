"""Writes under faults: short writes, a full disk, kill -9 and Ctrl-C leave whole files
only, no temporary files, and errors that name the path; modes follow the umask."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest
from generator_helpers import pool, row

from roman_asn import atomic
from roman_asn.atomic import WriteError, atomic_path, atomic_write_text
from roman_asn.errors import RomanAsnError
from roman_asn.generator.engine import generate
from roman_asn.generator.orphans import write_orphans
from roman_asn.generator.writer import OutputFolder, write_associations
from roman_asn.pool import read_pool, write_pool
from roman_asn.rules.loader import load_rules

DEMO = Path(__file__).parents[1] / "src" / "roman_asn" / "data" / "demo_pool.csv"


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def result():
    from roman_asn.generator.options import GenerateOptions

    return generate(read_pool(DEMO), load_rules(), GenerateOptions())


@pytest.fixture(scope="module")
def expected(result, tmp_path_factory):
    folder = tmp_path_factory.mktemp("expected")
    write_associations(result, folder)
    return {p.name: p.read_bytes() for p in folder.glob("*_asn.json")}


def test_short_writes_still_write_every_byte(result, expected, tmp_path, monkeypatch):
    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real(fd, bytes(data[:7])))
    write_associations(result, tmp_path)
    atomic_write_text(tmp_path / "note.txt", "x" * 1000)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*_asn.json")} == expected
    assert (tmp_path / "note.txt").read_text() == "x" * 1000
    assert not temporaries(tmp_path)


@pytest.mark.parametrize("after", [0, 5, 200])
def test_full_disk_names_the_path_and_leaves_whole_files_only(
    result, expected, tmp_path, monkeypatch, after
):
    real = os.write
    calls = {"n": 0}

    def failing(fd, data):
        calls["n"] += 1
        if calls["n"] > after:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(os, "write", failing)
    with pytest.raises(WriteError) as caught:
        write_associations(result, tmp_path)
    monkeypatch.undo()
    message = str(caught.value)
    assert "No space left on device" in message and str(tmp_path) in message
    assert "\n" not in message
    assert not temporaries(tmp_path)
    written = {p.name: p.read_bytes() for p in tmp_path.glob("*_asn.json")}
    assert len(written) == after
    for name, data in written.items():
        assert data == expected[name]


@pytest.mark.parametrize(
    "write",
    [
        lambda path: atomic_write_text(path, "a,b\n" * 10_000),
        lambda path: write_orphans(
            pl.DataFrame({"filename": ["a"], "pool_row": [0], "line": [2], "reasons": [["why"]]}),
            path,
        ),
    ],
)
def test_failed_single_file_write_keeps_the_old_file(tmp_path, monkeypatch, write):
    target = tmp_path / "out.csv"
    target.write_text("old\n")

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(WriteError, match=r"out\.csv: cannot write: No space left"):
        write(target)
    monkeypatch.undo()
    assert target.read_text() == "old\n"
    assert not temporaries(tmp_path)


def test_unwritable_folder_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(RomanAsnError, match="cannot write"):
        atomic_write_text(blocker / "x.json", "{}")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporaries_of_dead_runs_are_removed(result, tmp_path):
    stale = tmp_path / f".r00001-o001_image_001_asn.json.{_dead_pid()}.0a1b2c3d.tmp"
    stale.write_text("")
    mine = tmp_path / f".other.json.{os.getpid()}.0a1b2c3d.tmp"
    mine.write_text("")
    unrelated = tmp_path / ".keep.tmp"
    unrelated.write_text("")
    atomic.remove_stale_temporaries(tmp_path, force=True)
    assert not stale.exists()
    assert mine.exists() and unrelated.exists()


_KILLED_WRITER = textwrap.dedent(
    """
    import os, signal, sys, time
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as on a terminal
    from roman_asn import atomic
    real = os.write
    def stuck(fd, data):
        real(fd, bytes(data[:10]))
        print("writing", flush=True)
        time.sleep(60)
    os.write = stuck
    atomic.atomic_write_text(sys.argv[1], "x" * 100)
    """
)


def test_kill_9_mid_write_leaves_no_partial_file_and_the_next_run_cleans_up(tmp_path):
    target = tmp_path / "out" / "orphans.csv"
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(target)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "writing"
    child.kill()
    child.wait()
    assert not target.exists()
    assert len(temporaries(tmp_path)) == 1  # the temporary of the killed run
    atomic_write_text(target, "whole\n")  # a later run into the same folder
    assert target.read_text() == "whole\n"
    assert not temporaries(tmp_path)


_SLOW_GENERATE = textwrap.dedent(
    """
    import os, signal, sys, time
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as on a terminal
    real = os.write
    started = False
    def slow(fd, data):
        global started
        if not started:
            started = True
            print("writing", flush=True)
        time.sleep(0.005)
        return real(fd, data)
    os.write = slow
    from roman_asn.cli import main
    out = sys.argv[2]
    orphans = out + "/orphans.csv"
    sys.exit(main(["generate", sys.argv[1], "-o", out, "--orphans", orphans, "--no-progress"]))
    """
)


@pytest.mark.parametrize("stop, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_stops_within_a_second_leaving_whole_files(expected, tmp_path, stop, code):
    """Ctrl-C, and SIGTERM (kill, a batch system's time limit), alike."""
    out = tmp_path / "out"
    child = subprocess.Popen(
        [sys.executable, "-c", _SLOW_GENERATE, str(DEMO), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "writing"
    time.sleep(0.3)
    child.send_signal(stop)
    start = time.monotonic()
    child.wait(timeout=10)
    assert time.monotonic() - start < 1.0
    assert child.returncode == code
    assert "Traceback" not in child.stderr.read()
    written = {p.name: p.read_bytes() for p in out.glob("*_asn.json")}
    assert 0 < len(written) < len(expected)
    assert all(data == expected[name] for name, data in written.items())
    assert not temporaries(tmp_path)
    assert not (out / ".roman-asn.lock").exists()
    # the orphan report is written before the association files: a stopped run has it
    assert (out / "orphans.csv").read_text().startswith("filename,pool_row,line,reasons")


# ---------------------------------------------------------------- modes


@pytest.fixture(params=[0o022, 0o077, 0o002])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_created_files_follow_the_umask(umask, result, tmp_path):
    wanted = 0o666 & ~umask
    small = pool([row(1, 1), row(1, 2)])
    paths = [
        write_pool(small, tmp_path / "p.csv"),
        write_pool(small, tmp_path / "p.parquet"),
        write_pool(small, tmp_path / "p.ecsv"),
    ]
    atomic_write_text(tmp_path / "t.txt", "x")
    paths.append(tmp_path / "t.txt")
    with atomic_path(tmp_path / "a.bin") as tmp:
        tmp.write_bytes(b"x")
    paths.append(tmp_path / "a.bin")
    write_associations(result, tmp_path / "asn")
    paths.append(next((tmp_path / "asn").glob("*_asn.json")))
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == wanted, path


def test_rewrite_keeps_mode_and_writes_through_symlinks(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    real.chmod(0o664)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write_text(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o664


def test_a_link_to_nothing_is_replaced_not_followed_out_of_the_folder(tmp_path):
    """Following it would make the folders it points at, anywhere: from-list, update-path,
    multiband and edit all write through atomic_path."""
    from roman_asn.cli import main

    outside = tmp_path / "elsewhere" / "a" / "b" / "x.json"
    folder = tmp_path / "out"
    folder.mkdir()
    link = folder / "asn.json"
    link.symlink_to(outside)
    atomic_write_text(link, "new")
    assert not link.is_symlink() and link.read_text() == "new"
    assert not (tmp_path / "elsewhere").exists()
    link.unlink()
    link.symlink_to(outside)
    args = ["from-list", "a_cal.asdf", "-o", str(link), "--product-name", "p"]
    assert main(args) == 0
    assert not link.is_symlink() and not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("depth", ["file/x.json", "file/sub/x.json"])
def test_a_file_where_a_folder_should_be_is_named(tmp_path, depth):
    (tmp_path / "file").write_text("x")
    with pytest.raises(WriteError) as caught:
        atomic_write_text(tmp_path / depth, "data")
    text = str(caught.value)
    assert "File exists" not in text
    assert "cannot write: " in text
    assert "exists and is not a folder" in text or f"{tmp_path / 'file'} is a file" in text


# ---------------------------------------------------------------- the output folder


def test_folder_with_other_association_files_is_refused_unless_clean_or_force(result, tmp_path):
    foreign = tmp_path / "r09999-o001_image_001_asn.json"
    foreign.write_text("{}")
    names = result.associations["file_name"].to_list()
    with OutputFolder(tmp_path) as folder, pytest.raises(RomanAsnError, match="--clean"):
        folder.check(names)
    with OutputFolder(tmp_path, "force") as folder:
        folder.check(names)
    assert foreign.exists()
    with OutputFolder(tmp_path, "clean") as folder:
        folder.check(names)
        write_associations(result, tmp_path)
        folder.wrote(names)
    assert not foreign.exists()
    with OutputFolder(tmp_path) as folder:  # a re-run of the same command is fine
        folder.check(names)


@pytest.mark.parametrize("mode", ["refuse", "force", "clean"])
def test_a_folder_under_an_association_file_name_is_refused_before_any_file(result, tmp_path, mode):
    """Found only when its file's turn came, it stopped the run with part of the files
    written: now the run writes nothing (generate and catalog export alike)."""
    from roman_asn.cli import main

    names = result.associations["file_name"].to_list()
    (tmp_path / names[len(names) // 2]).mkdir()
    with pytest.raises(RomanAsnError, match="move it"), OutputFolder(tmp_path, mode) as folder:
        folder.check(names)
    with pytest.raises(RomanAsnError, match="move it"), OutputFolder(tmp_path, mode) as folder:
        folder.check(None)  # a chunked run: every such name counts
    # links (to a folder, to nothing) are no obstacle: the written file replaces them
    (tmp_path / names[0]).symlink_to(tmp_path / "nowhere")
    (tmp_path / names[1]).symlink_to(tmp_path / names[len(names) // 2])
    with OutputFolder(tmp_path, "force") as folder:
        assert folder.blocked == {names[len(names) // 2]}
    (tmp_path / names[0]).unlink()
    (tmp_path / names[1]).unlink()
    flag = {"refuse": [], "force": ["--force"], "clean": ["--clean"]}[mode]
    args = ["generate", str(DEMO), "-o", str(tmp_path), "--no-progress", *flag]
    assert main(args) == 2
    assert [p.name for p in tmp_path.iterdir()] == [names[len(names) // 2]]


def test_a_refused_run_leaves_no_empty_output_folder_it_made(tmp_path):
    """The folder is made (and locked) before the pool is read: a pool refused then left
    an empty folder. One that was there stays."""
    from roman_asn.cli import main

    bad = tmp_path / "bad.csv"
    bad.write_text("filename|program\na_cal.asdf|x\n")
    new = tmp_path / "new" / "out"
    assert main(["generate", str(bad), "-o", str(new), "--no-progress"]) == 2
    assert not new.exists() and (tmp_path / "new").is_dir()  # only the folder it named
    there = tmp_path / "there"
    there.mkdir()
    assert main(["generate", str(bad), "-o", str(there), "--no-progress"]) == 2
    assert there.is_dir() and not list(there.iterdir())


def test_a_second_run_into_the_same_folder_fails_clearly(tmp_path):
    with OutputFolder(tmp_path), pytest.raises(RomanAsnError, match="another roman-asn run"):
        OutputFolder(tmp_path).__enter__()
    with OutputFolder(tmp_path):  # released
        pass
    assert not (tmp_path / ".roman-asn.lock").exists()


def test_cli_refuses_a_folder_of_another_pool(tmp_path, capsys):
    from roman_asn.cli import main

    out = tmp_path / "out"
    out.mkdir()
    (out / "r09999-o001_image_001_asn.json").write_text("{}")
    assert main(["generate", str(DEMO), "-o", str(out), "--no-skycells"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["generate", str(DEMO), "-o", str(out), "--no-skycells", "--force"]) == 0
    assert (out / "r09999-o001_image_001_asn.json").exists()
    assert main(["generate", str(DEMO), "-o", str(out), "--no-skycells", "--clean"]) == 0
    assert not (out / "r09999-o001_image_001_asn.json").exists()
    assert json.loads(next(out.glob("*_asn.json")).read_text())["asn_pool"] == DEMO.name


def test_update_path_in_place_keeps_mode_and_symlink(tmp_path):
    from roman_asn.cli import main

    data = json.loads((Path(__file__).parent / "data" / "asn_level2.json").read_text())
    real = tmp_path / "real_asn.json"
    real.write_text(json.dumps(data, indent=4))
    real.chmod(0o664)
    link = tmp_path / "link_asn.json"
    link.symlink_to(real)
    assert main(["update-path", "--path", "/data/new", str(link)]) == 0
    assert link.is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o664
    members = json.loads(real.read_text())["products"][0]["members"]
    assert all(m["expname"].startswith("/data/new/") for m in members)


def test_file_names_that_leave_the_folder_are_refused(result, tmp_path):
    from dataclasses import replace

    bad = result.associations.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("../escape_asn.json"))
        .otherwise(pl.col("file_name"))
        .alias("file_name")
    )
    with pytest.raises(RomanAsnError, match="not a plain file name"):
        write_associations(replace(result, associations=bad), tmp_path / "out")
    assert not (tmp_path / "escape_asn.json").exists()
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_a_device_or_pipe_given_as_output_is_refused_not_replaced(tmp_path):
    """The temporary file would be renamed over it (as root, /dev/null would become a
    regular file): refused, and the node stays what it was."""
    import stat as stat_module

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(WriteError, match="is a device, pipe or socket"):
        atomic_write_text(fifo, "x")
    assert stat_module.S_ISFIFO(os.stat(fifo).st_mode)


def test_only_our_own_temporary_names_are_cleaned(tmp_path):
    """A user's hidden files that merely end in .<digits>.tmp are never removed; a
    temporary of ours whose process is gone is."""
    mine = [".notes.99999.tmp", ".2023.report.tmp", ".x.99999.tmp"]
    for name in mine:
        (tmp_path / name).write_text("precious")
    ours = tmp_path / ".out.csv.99999999.0a1b2c3d.tmp"  # no such process
    ours.write_text("left by a killed run")
    atomic_write_text(tmp_path / "out.csv", "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*mine, "out.csv"])


# ---------------------------------------------------------------- Parquet on a full disk


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("name", ["p.parquet", "p.csv", "p.ecsv"])
def test_a_pool_written_to_a_full_disk_is_a_one_line_error(tmp_path, monkeypatch, name):
    """The temporary file is /dev/full, whose every write fails with ENOSPC: polars's
    write_parquet said so as a ComputeError, a traceback ("Invalid thrift")."""
    from roman_asn.pool import writer

    real = atomic.atomic_path

    @contextlib.contextmanager
    def onto_a_full_disk(path, **kwargs):
        with real(path, **kwargs) as tmp:
            tmp.unlink()
            tmp.symlink_to("/dev/full")
            yield tmp

    monkeypatch.setattr(writer, "atomic_path", onto_a_full_disk)
    monkeypatch.setattr(atomic, "atomic_path", onto_a_full_disk)
    with pytest.raises(WriteError) as caught:
        write_pool(pool([row(1, 1), row(1, 2)] * 2000), tmp_path / name)
    assert str(caught.value) == f"{tmp_path / name}: cannot write: No space left on device"
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_chunked_pieces_on_a_full_temporary_disk_are_a_one_line_error(tmp_path):
    from roman_asn.generator.chunked import split_pool

    source = write_pool(pool([row(1, 1), row(1, 2)]), tmp_path / "p.csv")
    pieces = tmp_path / "pieces"
    pieces.mkdir()
    (pieces / "program1_b00000.parquet").symlink_to("/dev/full")
    with pytest.raises(WriteError, match="program1_b00000.parquet: cannot write: No space left"):
        split_pool(source, pieces)


# ---------------------------------------------------------------- links in an output folder


def _update_path_into(folder: Path, tmp_path: Path) -> str:
    from roman_asn.cli import main

    source = tmp_path / "a_asn.json"
    source.write_text((Path(__file__).parent / "data" / "asn_level2.json").read_text())
    assert main(["update-path", "--path", "/data/new", str(source), "-o", str(folder)]) == 0
    return "a_asn.json"


def _skycell_asn_into(folder: Path, tmp_path: Path) -> str:
    from l2_maker import make_cal

    from roman_asn.cli import main

    cal = make_cal(tmp_path / "r0000101001001001001_0001_wfi01_f158_cal.asdf", 10.0, -30.0)
    scratch = tmp_path / "scratch"
    assert main(["skycell-asn", str(cal), "-d", str(scratch)]) == 0
    name = sorted(p.name for p in scratch.glob("*_asn.json"))[0]
    (folder / name).symlink_to(folder.parent / "outside.json")
    assert main(["skycell-asn", str(cal), "-d", str(folder)]) == 0
    return name


@pytest.mark.parametrize("write", [_update_path_into, _skycell_asn_into])
def test_a_link_in_the_output_folder_is_replaced_not_written_through(tmp_path, write, capsys):
    """A file name the tool chooses in a folder the user named: a symlink found there to
    a file outside the folder was written through, changing that file."""
    folder = tmp_path / "out"
    folder.mkdir()
    outside = tmp_path / "outside.json"
    outside.write_text("mine\n")
    if write is _update_path_into:
        (folder / "a_asn.json").symlink_to(outside)
    name = write(folder, tmp_path)
    capsys.readouterr()
    assert outside.read_text() == "mine\n"
    assert not (folder / name).is_symlink()
    assert json.loads((folder / name).read_text())["products"]


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left"),
        OSError("No space left on device (os error 28)"),  # polars writing to a Python file
    ],
)
def test_a_failed_write_says_the_system_words_for_its_errno(error):
    """generate --bundle X.jsonl on a full disk said '... (os error 28)', make-pool -o
    X.parquet pyarrow's own sentence."""
    assert str(atomic.write_error(error, "b.jsonl")) == "b.jsonl: cannot write: " + os.strerror(
        errno.ENOSPC
    )


# ---------------------------------------------------------------- outputs checked first

# every output folder option, with inputs that are never read: the folder is refused
# as the command line is read
OUTPUT_FOLDERS = {
    "update-path -o": ["update-path", "--path", "/data", "a_asn.json", "-o"],
    "generate -o": ["generate", str(DEMO), "--no-progress", "-o"],
    "demo -o": ["demo", "-o"],
    "multiband -o": ["multiband", "r00001_p_v01001_270p65x49y65_f158_coadd.asdf", "-o"],
    "skycell-asn -d": ["skycell-asn", "a_cal.asdf", "-d"],
    "gather --to": ["gather", "a_asn.json", "--to"],
    "catalog export -o": ["catalog", "export", "cat.db", "-o"],
}


def _in_the_way(tmp_path: Path, case: str) -> tuple[Path, str]:
    """An output path that ``case`` keeps from being written, and what is said of it."""
    gone = tmp_path / "elsewhere" / "x"
    if case == "link to nothing":
        (tmp_path / "out").symlink_to(gone)
        return tmp_path / "out", f"is a link to {gone}, which does not exist"
    if case == "a file":
        (tmp_path / "out").write_text("mine\n")
        return tmp_path / "out", "exists and is not a folder"
    if case == "a file on the way":
        (tmp_path / "file").write_text("mine\n")
        return tmp_path / "file" / "out", f"{tmp_path / 'file'} is a file"
    (tmp_path / "link").symlink_to(gone)  # a link to nothing on the way
    return tmp_path / "link" / "out", f"{tmp_path / 'link'} is a link to {gone}, which does not"


def _refused_before_any_work(args: list[str], said: str, tmp_path: Path, capsys) -> None:
    """The command is refused (exit 2) saying ``said``, in its own words, not click's,
    and nothing in ``tmp_path`` is made or changed."""
    from roman_asn.cli import main

    before = sorted(tmp_path.rglob("*"))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"error: {said}" in err, err
    assert "Invalid value" not in err and "Traceback" not in err
    assert sorted(tmp_path.rglob("*")) == before


OBSTACLES = ["link to nothing", "a file", "a file on the way", "a link to nothing on the way"]


@pytest.mark.parametrize("case", OBSTACLES)
@pytest.mark.parametrize("args", OUTPUT_FOLDERS.values(), ids=OUTPUT_FOLDERS)
def test_an_output_folder_that_cannot_be_one_is_named_before_any_work(
    tmp_path, monkeypatch, capsys, args, case
):
    """A link to nothing as the folder said click's 'Directory ... is a file', or
    'exists and is not a folder'; a file said click's own words. Now every output
    folder option says what is there, naming it, before anything is read or made."""
    from roman_asn.atomic import make_folder

    monkeypatch.chdir(tmp_path)
    out, said = _in_the_way(tmp_path, case)
    _refused_before_any_work([*args, str(out)], f"{out}: cannot write: {said}", tmp_path, capsys)
    with pytest.raises(WriteError, match=f"cannot write: {said}"):  # said when writing too
        make_folder(out)


@pytest.mark.parametrize("case", OBSTACLES)
def test_the_folder_part_of_an_output_file_root_is_checked_before_any_file_is_read(
    tmp_path, monkeypatch, capsys, case
):
    """skycell-asn -o out/r00001 (romancal's habit) writes into out/: something in its
    way was found only after every input file was read."""
    monkeypatch.chdir(tmp_path)
    out, said = _in_the_way(tmp_path, case)
    root = f"{out.relative_to(tmp_path)}/r00001"
    args = ["skycell-asn", "missing_cal.asdf", "-d", str(tmp_path), "-o", root]
    _refused_before_any_work(args, f"{out}: cannot write: {said}", tmp_path, capsys)


OUTPUT_FILES = {
    "catalog ingest --changes": ["catalog", "ingest", "new.db", str(DEMO), "--changes"],
    "catalog withdraw --changes": ["catalog", "withdraw", "cat.db", "a_cal.asdf", "--changes"],
    "catalog export --bundle": ["catalog", "export", "cat.db", "--bundle"],
    "generate --orphans": ["generate", str(DEMO), "--no-progress", "-o", "asn", "--orphans"],
    "generate --bundle": ["generate", str(DEMO), "--no-progress", "--bundle"],
    "make-pool -o": ["make-pool", ".", "-o"],
    "make-pool --rejects": ["make-pool", ".", "-o", "pool.csv", "--rejects"],
    "from-list -o": ["from-list", "a_cal.asdf", "--product-name", "p", "-o"],
    "edit -o": ["edit", "add", "a_asn.json", "b_cal.asdf", "-o"],
    "plot -o": ["plot", str(DEMO), "-o"],
    "pool convert": ["pool", "convert", str(DEMO)],
    "synth-pool -o": ["synth-pool", "--exposures", "2", "-o"],
}


@pytest.mark.parametrize("case", ["a folder", "read-only folder", *OBSTACLES[2:]])
@pytest.mark.parametrize("args", OUTPUT_FILES.values(), ids=OUTPUT_FILES)
def test_an_output_file_that_cannot_be_written_is_named_before_any_work(
    tmp_path, monkeypatch, capsys, args, case
):
    """`catalog ingest --changes FILE/x` found out only after the run was recorded in
    the catalog; `make-pool -o FILE/x.csv` after scanning every file. Every output file
    is now checked as the command line is read: nothing is done, nothing recorded."""

    monkeypatch.chdir(tmp_path)
    if case == "a folder":
        (tmp_path / "out.txt").mkdir()
        out, at, said = tmp_path / "out.txt", tmp_path / "out.txt", "is a folder, not a file"
    elif case == "read-only folder":
        (tmp_path / "ro").mkdir()
        real = os.access
        monkeypatch.setattr(  # as on a read-only mount (root may write anywhere else)
            os, "access", lambda p, mode, **kw: os.fspath(p) != "ro" and real(p, mode, **kw)
        )
        out, at, said = Path("ro/out.txt"), "ro", "the folder cannot be written"
    else:
        at, said = _in_the_way(tmp_path, case)  # the folder that cannot be made is named
        out = at / "out.txt"
    _refused_before_any_work([*args, str(out)], f"{at}: cannot write: {said}", tmp_path, capsys)
