"""Inputs of diff, validate and update-path: files, folders (recursive) and - (stdin)."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from roman_asn.cli import common, main
from roman_asn.errors import RomanAsnError
from roman_asn.tools.inputs import association_paths, read_association_dict, read_path_list

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "asn_mosaic.json"


def tree(root: Path) -> dict[str, Path]:
    """A folder of associations with a subfolder, a hidden file and folder, a non-JSON."""
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    files = {
        "a": root / "a_asn.json",
        "b": root / "sub" / "b.json",
        "c": root / "sub" / "deeper" / "c_asn.json",
    }
    for path in files.values():
        shutil.copy(SAMPLE, path)
    shutil.copy(SAMPLE, root / ".hidden" / "x_asn.json")
    shutil.copy(SAMPLE, root / ".a_asn.json.1234.tmp")
    (root / "orphans.csv").write_text("filename,reason\n")
    return files


def test_folder_is_every_json_below_it_sorted_hidden_skipped(tmp_path: Path) -> None:
    files = tree(tmp_path)
    assert association_paths([str(tmp_path)]) == sorted(str(p) for p in files.values())


def test_files_folders_and_stdin_in_order_each_once(tmp_path: Path) -> None:
    files = tree(tmp_path / "t")
    single = tmp_path / "odd name.json.bak"
    shutil.copy(SAMPLE, single)
    listed = io.StringIO(f"{files['c']}\n\n{single}\n")
    got = association_paths([str(single), "-", str(tmp_path / "t"), "-"], stdin=listed)
    assert got == [str(single), str(files["c"]), str(files["a"]), str(files["b"])]


def test_stdin_nul_separated_keeps_newlines_in_names(tmp_path: Path) -> None:
    odd = tmp_path / "new\nline_asn.json"
    shutil.copy(SAMPLE, odd)
    listed = io.StringIO(f"{odd}\0{SAMPLE}\0")
    assert association_paths(["-"], stdin=listed) == [str(odd), str(SAMPLE)]


@given(st.lists(st.text(st.characters(blacklist_characters="\0\n\r"), min_size=1), max_size=5))
def test_read_path_list_round_trips(names: list[str]) -> None:
    kept = [n for n in names if n.strip() and n == n.splitlines()[0]]
    assert read_path_list(io.StringIO("\n".join(kept))) == kept
    assert read_path_list(io.StringIO("\0".join(kept) + "\0")) == kept


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.json", "no such file or folder"),
        (lambda p: p, "no association files (*.json) in this folder"),
    ],
)
def test_missing_path_and_empty_folder_are_one_line_errors(tmp_path: Path, make, message) -> None:
    with pytest.raises(RomanAsnError, match=re.escape(message)) as error:
        association_paths([str(make(tmp_path))])
    assert str(make(tmp_path)) in str(error.value)
    with pytest.raises(RomanAsnError, match="no paths on stdin"):
        association_paths(["-"], stdin=io.StringIO("\n"))


def test_unreadable_file_in_a_folder_is_one_line_naming_it(tmp_path: Path, capsys) -> None:
    tree(tmp_path)
    broken = tmp_path / "sub" / "broken_asn.json"
    broken.write_text('{"products": [')
    with pytest.raises(RomanAsnError, match="not valid JSON"):
        read_association_dict(str(broken))
    for argv in (
        ["diff", str(tmp_path), str(SAMPLE)],
        ["update-path", str(tmp_path), "--path", "x"],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert str(broken) in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
    assert main(["validate", "-q", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"INVALID {broken}" in out and "3 valid, 1 invalid" in out


def test_validate_and_update_path_take_folders_and_stdin(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    files = tree(tmp_path)
    assert main(["validate", str(tmp_path)]) == 0
    assert "3 valid, 0 invalid" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{files['a']}\n{tmp_path / 'sub'}\n"))
    assert main(["update-path", "-q", "-", "--path", "/data/run1"]) == 0
    assert "3 updated, 0 unchanged" in capsys.readouterr().out
    for path in files.values():
        members = json.loads(path.read_text())["products"][0]["members"]
        assert all(m["expname"].startswith("/data/run1/") for m in members)
    hidden = json.loads((tmp_path / ".hidden" / "x_asn.json").read_text())
    assert hidden == json.loads(SAMPLE.read_text())  # hidden files are left alone


def test_diff_with_one_side_on_stdin(tmp_path: Path, capsys, monkeypatch) -> None:
    files = tree(tmp_path / "t")
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{files['a']}\n"))
    assert main(["diff", "-", str(SAMPLE)]) == 0
    assert "no differences" in capsys.readouterr().out
    assert main(["diff", "-", "-"]) == 2


def test_progress_bar_only_on_a_terminal(monkeypatch) -> None:
    items = list(range(50))
    assert list(common.progress(items, total=50, description="reading")) == items  # no TTY
    screen = io.StringIO()
    monkeypatch.setattr(common, "err_console", Console(file=screen, force_terminal=True))
    assert list(common.progress(items, total=50, description="reading")) == items
    assert "reading" in screen.getvalue()


def test_links_to_folders_inside_are_not_followed(tmp_path: Path) -> None:
    files = tree(tmp_path)
    loop = tmp_path / "sub" / "loop"
    loop.symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "link_asn.json").symlink_to(files["b"])
    try:
        got = association_paths([str(tmp_path)])
    finally:
        loop.unlink()  # pytest's clean-up of old tmp folders would walk the loop
    assert got == sorted([*(str(p) for p in files.values()), str(tmp_path / "link_asn.json")])
