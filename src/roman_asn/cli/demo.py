"""``roman-asn demo``: the main job on the demo pool shipped inside the package."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

import click

from roman_asn.cli.common import console
from roman_asn.cli.outputs import Command, OutputDir
from roman_asn.pool import read_pool
from roman_asn.pool.summary import summarize

DEMO_DAYS = ("demo_pool_day1.csv", "demo_pool_day2.csv")  # the demo catalog's two ingests


def demo_pool_resource():
    return files("roman_asn.data").joinpath("demo_pool.csv")


@click.command("demo", cls=Command)
@click.option(
    "-o",
    "--output-dir",
    default="demo-output",
    show_default=True,
    type=OutputDir(),
    help="Where the demo writes its associations.",
)
def command(output_dir: str) -> None:
    """Generate associations from the demo pool (no network, no input needed)."""
    from roman_asn.cli.common import RichReporter
    from roman_asn.generator.orphans import OrphansFirst
    from roman_asn.generator.summary import print_summary
    from roman_asn.outputs import open_output
    from roman_asn.run import run

    catalog_path = Path(output_dir) / "catalog.db"
    _remove_earlier_demo_catalog(catalog_path, set(DEMO_DAYS))  # before any work
    with as_file(demo_pool_resource()) as pool_path:
        pool = read_pool(pool_path)
        summary = summarize(pool)
        console.print(
            f"[bold]Demo pool[/] {Path(pool_path).name}: {summary.rows} rows, "
            f"{len(summary.programs)} programs, exposure types "
            f"{', '.join(summary.exp_types)}",
            markup=True,
        )
        orphans_path = str(Path(output_dir) / "orphans.csv")
        console.print(
            f"$ roman-asn generate {Path(pool_path).name} -o {output_dir} --orphans {orphans_path}",
            soft_wrap=True,
        )
        # as generate writes them: the orphan report first, kept if writing is stopped
        output = OrphansFirst(open_output(output_dir), orphans_path)
        result = run(pool, output=output, reporter=RichReporter())
        output.finish(result.orphans)
        print_summary(
            console,
            result,
            output_dir=output.where,
            written=output.written,
            dry_run=False,
            orphans_path=orphans_path,
        )
        _catalog_demo(pool, catalog_path)


def _catalog_demo(pool, location: Path) -> None:
    """The catalog as operations use it: day 1, then day 2, then what changed."""
    from roman_asn.catalog import Catalog
    from roman_asn.cli.catalog import _entries_table
    from roman_asn.pool import Pool
    from roman_asn.pool.columns import ROW_COLUMN

    table = pool.table.drop(ROW_COLUMN)
    half = table.height // 2
    days = [
        Pool.from_frame(table.slice(0, half), path=DEMO_DAYS[0]),
        Pool.from_frame(table.slice(half), path=DEMO_DAYS[1]),
    ]
    with Catalog.open(location, create=True) as catalog:
        for day in days:
            console.print(f"$ roman-asn catalog ingest {location} {day.name}", soft_wrap=True)
            report = catalog.ingest([day])
            console.print(
                f"run {report.run_id}: {report.rows} rows; associations: {len(report.new):,} new, "
                f"{len(report.changed):,} changed, {len(report.retired):,} retired",
                soft_wrap=True,
            )
        console.print(f"$ roman-asn catalog changes {location}", soft_wrap=True)
        changes = catalog.changes()
    for kind, extra in (
        ("new", ("members_added",)),
        ("changed", ("version", "members_added", "members_removed")),
        ("retired", ("reason",)),
    ):
        entries = changes[kind]
        console.print(_entries_table(f"{kind}: {len(entries):,}", entries, extra, limit=10))


def _remove_earlier_demo_catalog(location: Path, inputs: set[str]) -> None:
    """The demo's catalog is made anew each time: one an earlier demo made (every run
    an ingest of the demo's days, whatever its schema revision) is removed; anything
    else under that name (a catalog of the user's, another file) is refused, never
    removed."""
    import contextlib
    import json
    import sqlite3
    from urllib.parse import quote

    from roman_asn.catalog.store import remove_catalog_files
    from roman_asn.errors import RomanAsnError

    if not location.exists() and not location.is_symlink():
        return
    ours = False
    if location.is_file() and not location.is_symlink():
        uri = f"file:{quote(str(location.resolve()))}?mode=ro"
        try:
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as raw:
                runs = raw.execute("SELECT kind, inputs FROM runs").fetchall()
            ours = all(k == "ingest" and set(json.loads(i)) <= inputs for k, i in runs)
        except (sqlite3.Error, ValueError, TypeError):
            ours = False
    if not ours:
        raise RomanAsnError(
            "is not a catalog the demo made: the demo replaces only its own "
            "(move it, or give the demo another folder with -o)",
            path=str(location),
        )
    if not remove_catalog_files(str(location)):
        raise RomanAsnError("cannot remove the catalog an earlier demo made", path=str(location))
