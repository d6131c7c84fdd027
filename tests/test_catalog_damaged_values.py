"""A catalog whose values were edited or damaged in valid SQLite (bad JSON, null
data, text in number columns) gives one error line naming the catalog, exit 2, in
every command: never a traceback, never a write outside the folder named."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from roman_asn.cli import main

DEMO = Path(__file__).parents[1] / "src" / "roman_asn" / "data" / "demo_pool.csv"
FILE = "r0000101001001001001_0001_wfi01_uncal.asdf"

DAMAGE = {
    "members not JSON": "update versions set members='{not json'",
    "members of the wrong type": """update versions set members='{"members": 5}'""",
    "data not JSON": "update exposures set data='[1,2'",
    "data null": "update exposures set data='null'",
    "run record not JSON": "update runs set inputs='xx', counts='{'",
    "run record of the wrong type": "update runs set counts='[1]', inputs='5'",
    "text in number columns": "update associations set level='abc', program='x', "
    "current_version='z'",
    "file name escaping the folder": "update associations set file_name="
    "'../../escaped_' || asn_pk || '_asn.json'",
    "membership blocks cut short": "update group_files set files=substr(files, 1, 3)",
    "membership blocks as text": "update file_groups set groups='abc'",
    # was said as if typed by the user, naming no catalog (export, ingest)
    "data release id no release id is": "update settings set value='[' where key='data_release_id'",
}
COMMANDS = [
    ["show", "{C}", "NAME"],
    ["changes", "{C}", "--since", "0"],
    ["export", "{C}", "-o", "{D}/export"],
    ["runs", "{C}"],
    ["cone", "{C}", "270", "66", "1"],
    ["find", "{C}", FILE],
    ["stale", "{C}"],
    ["stats", "{C}"],
    ["withdraw", "{C}", FILE],
    ["mark", "{C}", "--all"],
    ["ingest", "{C}", str(DEMO)],
]


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    folder = tmp_path_factory.mktemp("good")
    catalog = folder / "c.db"
    half = folder / "half.csv"
    lines = DEMO.read_text().splitlines(keepends=True)
    half.write_text("".join(lines[: len(lines) // 2]))
    assert main(["catalog", "ingest", str(catalog), str(half)]) == 0
    with closing(sqlite3.connect(catalog)) as raw:
        name = raw.execute("select min(name) from associations").fetchone()[0]
    return catalog, name


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_values_are_one_line_errors(tmp_path, capsys, good, damage):
    source, name = good
    work = tmp_path / "work"
    work.mkdir()
    catalog = work / "c.db"
    for args in COMMANDS:
        for leftover in work.glob("c.db*"):
            leftover.unlink()
        with (
            closing(sqlite3.connect(source)) as original,
            closing(sqlite3.connect(catalog)) as copy,
        ):
            original.backup(copy)
            copy.execute(DAMAGE[damage])
            copy.commit()
        command = [a.format(C=catalog, D=work).replace("NAME", name) for a in args]
        code = main(["catalog", *command])
        err = capsys.readouterr().err
        assert code in (0, 2), (damage, args, err)
        if code == 2:
            assert err.startswith("error: "), (damage, args, err)
            assert str(catalog) in err or "not a plain file name" in err, (damage, args, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]  # nothing written outside


def test_a_catalog_on_read_only_media_is_queried_not_written(tmp_path, capsys, good, monkeypatch):
    """SQLite cannot make a WAL index beside a file on a read-only mount: every query
    used to fail ("unable to open database file"). Such a catalog is read as the
    immutable file it is; a write is refused saying why."""
    from roman_asn.catalog import store

    source, name = good
    folder = tmp_path / "media"
    folder.mkdir()
    catalog = folder / "c.db"
    with closing(sqlite3.connect(source)) as original, closing(sqlite3.connect(catalog)) as copy:
        original.backup(copy)
    real_access = os.access
    monkeypatch.setattr(
        store.os,
        "access",
        lambda path, mode: False if Path(path) == folder else real_access(path, mode),
    )
    assert main(["catalog", "show", str(catalog), name]) == 0
    code = main(["catalog", "export", str(catalog), "-o", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["catalog", "mark", str(catalog), "--all"]) == 2
    assert f"{catalog}: the catalog is on read-only media" in capsys.readouterr().err


def test_an_older_catalog_on_read_only_media_says_to_upgrade_a_copy(tmp_path, capsys, monkeypatch):
    """An older catalog there can neither be read by this version nor upgraded in
    place: every command, upgrade included, says to upgrade a writable copy."""
    from roman_asn.catalog import store

    folder = tmp_path / "media"
    folder.mkdir()
    catalog = folder / "c.db"
    engine = store.make_engine(catalog)
    store.upgrade(engine, "0005")
    engine.dispose()  # its log merged: a read-only mount holds the file alone
    real_access = os.access
    monkeypatch.setattr(
        store.os,
        "access",
        lambda path, mode: False if Path(path) == folder else real_access(path, mode),
    )
    for command in (["stats", str(catalog)], ["upgrade", str(catalog)]):
        assert main(["catalog", *command]) == 2
        assert "copy it to writable storage" in capsys.readouterr().err, command
