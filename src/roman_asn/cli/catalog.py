"""``roman-asn catalog``: the association catalog (SQLite file or PostgreSQL URL)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import click
from rich.table import Table

from roman_asn.cli.common import console, escape, status_line
from roman_asn.cli.coordinates import COORDINATE_CONTEXT, DEC, RA, RADIUS
from roman_asn.cli.generate import rule_options, selected_rules
from roman_asn.cli.outputs import Command, Group, OutputDir, OutputFile
from roman_asn.cli.params import DATA_RELEASE_ID
from roman_asn.errors import RomanAsnError, first_line
from roman_asn.regular_files import read_regular

CATALOG = click.argument("catalog", metavar="CATALOG", type=click.Path())
JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
LIMIT = click.option(
    "--limit",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="Rows shown per table (0: all); --json always gives all.",
)


def _open(location: str, *, create: bool = False):
    from roman_asn.catalog import Catalog

    return Catalog.open(location, create=create)


# what code raises on a stored value it cannot use: bad JSON, null data, text in a
# number column (page-level damage is the database driver's error, reported as such)
_DAMAGE = (ValueError, TypeError, KeyError, IndexError, AttributeError, ArithmeticError)


class _CatalogCommand(Command):
    """A catalog command: a stored value it cannot use is one line naming the catalog,
    not a traceback; ``--debug`` shows where."""

    def invoke(self, ctx: click.Context) -> object:
        import polars as pl

        try:
            return super().invoke(ctx)
        except RomanAsnError:
            raise
        except (*_DAMAGE, pl.exceptions.PolarsError) as error:
            from roman_asn.catalog.store import CatalogError, shown_location

            raise CatalogError(
                f"cannot use a value stored in the catalog ({type(error).__name__}: "
                f"{first_line(error)}); it was edited or damaged (--debug shows where)",
                path=shown_location(str(ctx.params.get("catalog", "?"))),
            ) from error


class _CatalogGroup(Group):
    command_class = _CatalogCommand


def _print_json(value) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _json_entries(value: list | dict[str, list]) -> str:
    """A listing (entries, or lists of entries by kind) as JSON, one entry a line: as easy
    to read as indented JSON, and written by a C encoder (indenting is pure Python: a
    day's change list, tens of MB, took a second longer). Entries may come as a polars
    frame, written by polars itself (a day's 50k changes, never built as dicts)."""
    encoder = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":"))

    def lines(entries) -> list[str]:
        if hasattr(entries, "write_ndjson"):
            return entries.write_ndjson().splitlines() if entries.height else []
        return [encoder.encode(entry) for entry in entries]

    def listing(entries, pad: str) -> str:
        each = lines(entries)
        if not each:
            return "[]"
        body = ",\n".join(f"{pad}  {line}" for line in each)
        return f"[\n{body}\n{pad}]"

    if isinstance(value, dict):
        body = ",\n".join(f"  {json.dumps(k)}: {listing(v, '  ')}" for k, v in value.items())
        return f"{{\n{body}\n}}" if value else "{}"
    return listing(value, "")


def _print_json_entries(value: list | dict[str, list]) -> None:
    click.echo(_json_entries(value))


def _write_change_list(path: str | None, report) -> None:
    """``--changes FILE``: the run's change list, as ``catalog changes --json`` prints it."""
    if path is None or report.change_list is None:
        return
    from roman_asn.atomic import WriteError, atomic_write_text, write_error

    try:
        atomic_write_text(path, _json_entries(report.change_list) + "\n")
    except (OSError, WriteError) as error:
        failed = error if isinstance(error, WriteError) else write_error(error, path)
        # the run is in the catalog: say how to list its changes again
        raise WriteError(
            f"{failed.message}; run {report.run_id} was recorded "
            f"(`roman-asn catalog changes CATALOG --since {report.run_id - 1}` lists it)",
            path=failed.path or path,  # a file where its folder should be: that file
        ) from error


CHANGES = click.option(
    "--changes",
    "changes_file",
    type=OutputFile(),
    default=None,
    metavar="FILE",
    help="Also write this run's change list (as `catalog changes --json` gives it) to FILE.",
)


def _entries_table(
    title: str,
    entries: list[dict],
    extra: tuple[str, ...] = (),
    limit: int = 0,
    *,
    total: int | None = None,
) -> Table:
    """``total``: how many entries there are when ``entries`` are already the shown ones."""
    shown = entries[:limit] if limit else entries
    more = (len(entries) if total is None else total) - len(shown)
    caption = f"and {more:,} more (--limit 0 or --json for all)" if more else None
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    entries = shown
    for column in ("name", "level", "asn_type", *extra):
        table.add_column(column, justify="right" if column == "level" else "left")
    for entry in entries:
        values = [entry["name"], str(entry["level"]), entry["asn_type"]]
        for column in extra:
            value = entry.get(column)
            if isinstance(value, list):
                value = ", ".join(map(str, value)) if len(value) < 4 else f"{len(value)}"
            values.append("" if value is None else str(value))
        table.add_row(*values)
    return table


def _handed_over(items: list) -> Iterator:
    """The items, each dropped from ``items`` as it is taken: the ingest lets a pool go
    once its rows are in the catalog, and nothing here should keep it alive."""
    while items:
        yield items.pop(0)


@click.group("catalog", cls=_CatalogGroup)
def command() -> None:
    """Keep associations in a catalog that grows as exposures arrive.

    CATALOG is a file (an embedded SQLite database) or a postgresql:// URL.
    """


@command.command("ingest")
@CATALOG
@click.argument("pools", nargs=-1, required=True, metavar="POOL...", type=click.Path())
@rule_options
@click.option(
    "--data-release-id",
    type=DATA_RELEASE_ID,
    default=None,
    help="Data release id (set once, at creation).",
)
@CHANGES
@JSON
def ingest(
    catalog, pools, rule_files, ignore_default, no_skycells, data_release_id, changes_file, as_json
):
    """Add the rows of POOL... and bring the associations up to date."""
    from roman_asn.pool import read_pool

    rules = selected_rules(rule_files, ignore_default, no_skycells)
    pools = [read_pool(p) for p in pools]  # a bad pool is refused before a catalog is made
    count = len(pools)
    # a first load says its sky-cell units, as they go
    with _open(catalog, create=True) as store, status_line(f"ingesting {count} pool(s)") as told:
        report = store.ingest(
            _handed_over(pools),
            rules,
            data_release_id=data_release_id,
            with_changes=bool(changes_file),
            progress=told,
        )
    _write_change_list(changes_file, report)
    if as_json:
        _print_json(
            {
                "run": report.run_id,
                **report.counts(),
                "not_recorded": report.not_recorded,
                "seconds": report.seconds,
            }
        )
        return
    console.print(
        f"run {report.run_id}: {report.rows:,} rows ({report.added:,} new files, "
        f"{report.updated:,} updated, {report.unchanged:,} unchanged); associations: "
        f"{len(report.new):,} new, {len(report.changed):,} changed, "
        f"{len(report.retired):,} retired",
        soft_wrap=True,
    )
    _say_not_recorded(report)
    console.print(f"ingest took {report.seconds:.2f} s")


def _say_not_recorded(report) -> None:
    """What the rules made but dropped, and why, as generate says what it did not write
    (a product name no file can have went unsaid: 152 of 2,328 recorded)."""
    from roman_asn.generator.summary import dropped_line

    if line := dropped_line("not recorded", report.not_recorded):
        console.print(line, soft_wrap=True)


@command.command("withdraw")
@CATALOG
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@rule_options
@CHANGES
@JSON
def withdraw(catalog, files, rule_files, ignore_default, no_skycells, changes_file, as_json):
    """Take FILE... out of the catalog (bad data); their associations are versioned."""
    rules = selected_rules(rule_files, ignore_default, no_skycells)
    with _open(catalog) as store:
        report = store.withdraw(files, rules, with_changes=bool(changes_file))
    _write_change_list(changes_file, report)
    if as_json:
        _print_json({"run": report.run_id, **report.counts(), "not_recorded": report.not_recorded})
        return
    console.print(
        f"run {report.run_id}: withdrew {report.withdrawn:,} file(s); associations: "
        f"{len(report.changed):,} changed, {len(report.retired):,} retired",
        soft_wrap=True,
    )
    _say_not_recorded(report)


@command.command("changes")
@CATALOG
@click.option("--since", type=int, default=None, metavar="RUN", help="Changes after this run.")
@LIMIT
@JSON
def changes(catalog, since, limit, as_json):
    """New, changed and retired associations since a run (default: the last ingest)."""
    with _open(catalog) as store:
        found = store.changes(since, frames=True)
    if as_json:
        _print_json_entries(found)
        return
    for kind, extra in (
        ("new", ("members_added",)),
        ("changed", ("version", "members_added", "members_removed")),
        ("retired", ("reason",)),
    ):
        frame = found[kind]
        shown = (frame.head(limit) if limit else frame).to_dicts()
        title = f"{kind}: {frame.height:,}"
        console.print(_entries_table(title, shown, extra, total=frame.height))


@command.command("export")
@CATALOG
@click.option("-o", "--output-dir", default=".", type=OutputDir(), show_default=True)
@click.option("--since", type=int, default=None, metavar="RUN", help="Only changed after RUN.")
@click.option("--bundle", type=OutputFile(), default=None, help=".jsonl or .parquet")
def export(catalog, output_dir, since, bundle):
    """Write the current associations as association files (or one bundle)."""
    from roman_asn.catalog import export as export_all
    from roman_asn.outputs import open_output

    with _open(catalog) as store:
        if since is not None:
            store.check_run(since)  # before anything is written
        # exports update a folder of earlier exports (--since): other files stay
        output = open_output(output_dir, bundle=bundle, existing="force")
        written = export_all(store, output, since)
    console.print(f"wrote {written:,} associations to {output.where}", soft_wrap=True)


@command.command("mark")
@CATALOG
@click.option("--processed", "names", multiple=True, metavar="NAME", help="Repeatable.")
@click.option("--all", "all_current", is_flag=True, help="Every current association.")
@click.option(
    "--from",
    "from_file",
    metavar="FILE",
    type=click.Path(),
    help="Names (one per line, optionally a tab and the product path), or the JSON of "
    "'catalog stale --json' or 'catalog changes --json'; - for stdin.",
)
@click.option("--failed", is_flag=True, help="Record a failed processing instead.")
def mark(catalog, names, all_current, from_file, failed):
    """Record that the current version of associations was processed."""
    from roman_asn.catalog.catalog import read_mark_list

    wanted = list(names)
    paths: dict[str, str] = {}
    label = None
    if from_file is not None:
        label = "<stdin>" if from_file == "-" else from_file
        try:
            raw = sys.stdin.buffer.read() if from_file == "-" else read_regular(from_file)
            text = raw.decode("utf-8")
        except OSError as error:
            raise RomanAsnError(f"cannot read: {error.strerror or error}", path=label) from None
        except UnicodeDecodeError as error:
            raise RomanAsnError(
                f"not UTF-8 text (byte {error.start}): expected names one a line or JSON",
                path=label,
            ) from None
        listed = read_mark_list(text, label)
        if not listed and not names and not all_current:
            raise RomanAsnError("lists no association name: nothing to mark", path=label)
        wanted += listed
        paths = {name: path for name, path in listed.items() if path}
    if not wanted and not all_current:
        raise RomanAsnError("name associations with --processed NAME, --from FILE or --all")
    with _open(catalog) as store:
        count = store.mark(
            wanted,
            all_current=all_current,
            failed=failed,
            product_paths=paths,
            listed_in=label if from_file is not None else None,
        )
    console.print(f"marked {count:,} association(s) {'failed' if failed else 'processed'}")


@command.command("stale")
@CATALOG
@LIMIT
@JSON
def stale(catalog, limit, as_json):
    """The reprocessing plan: what must be (re)processed, in order, and why."""
    with _open(catalog) as store:
        plan = store.stale()
    if as_json:
        _print_json_entries(plan)
        return
    console.print(_entries_table(f"stale: {len(plan):,}", plan, ("reason",), limit))


@command.command("find")
@CATALOG
@click.argument("file")
@LIMIT
@JSON
def find(catalog, file, limit, as_json):
    """Every association (current and past versions) that holds FILE."""
    with _open(catalog) as store:
        found = store.find(file)
    if as_json:
        _print_json_entries(found)
        return
    console.print(_entries_table(f"{file}: {len(found)}", found, ("versions", "current"), limit))


@command.command("cell")
@CATALOG
@click.argument("skycell")
@LIMIT
@JSON
def cell(catalog, skycell, limit, as_json):
    """Current associations on SKYCELL."""
    with _open(catalog) as store:
        found = store.cell(skycell)
    if as_json:
        _print_json_entries(found)
        return
    console.print(_entries_table(f"{skycell}: {len(found)}", found, ("product_name",), limit))


@command.command("cone", context_settings=COORDINATE_CONTEXT)
@CATALOG
@click.argument("ra", type=RA)
@click.argument("dec", type=DEC)
@click.argument("radius", type=RADIUS)
@LIMIT
@JSON
def cone(catalog, ra, dec, radius, limit, as_json):
    """Current associations on sky cells centred within RADIUS degrees of RA DEC
    (degrees or sexagesimal, as `skycell-lookup find` takes them)."""
    with _open(catalog) as store:
        found = store.cone(ra, dec, radius)
    if as_json:
        _print_json_entries(found)
        return
    console.print(_entries_table(f"{len(found)} association(s)", found, ("skycell",), limit))


@command.command("show")
@CATALOG
@click.argument("name")
@JSON
def show(catalog, name, as_json):
    """One association: current version, members and history."""
    with _open(catalog) as store:
        found = store.show(name)
    if as_json:
        _print_json(found)
        return
    state = f"retired: {found['retired_reason']}" if found["retired_reason"] else "current"
    console.print(
        f"[bold]{escape(found['name'])}[/] {escape(found['rule'])} {escape(found['asn_type'])}"
        f" version {found['version']} ({escape(state)}), product {escape(found['product_name'])}",
        soft_wrap=True,
        markup=True,
    )
    table = Table(title="history", title_justify="left")
    for column in ("version", "run", "time", "inputs", "members", "added", "removed", "retired"):
        table.add_column(column)
    for h in found["history"]:
        retired = h["retired_run"]
        table.add_row(
            str(h["version"]),
            str(h["run"]),
            h["time"],
            ", ".join(h["inputs"])[:60],
            str(h["members"]),
            str(len(h["members_added"])),
            str(len(h["members_removed"])),
            "" if retired is None else f"run {retired}: {h['retired_reason']}",
        )
    console.print(table)


@command.command("runs")
@CATALOG
@JSON
def runs(catalog, as_json):
    """Every run: ingests, withdrawals, marks."""
    with _open(catalog) as store:
        found = store.runs()
    if as_json:
        _print_json(found)
        return
    table = Table(title="runs", title_justify="left")
    for column in ("run", "kind", "started", "code", "inputs", "counts"):
        table.add_column(column)
    for r in found:
        counts = ", ".join(f"{k} {v}" for k, v in r["counts"].items() if v)
        table.add_row(
            str(r["run_id"]),
            r["kind"],
            r["started"],
            r["code_version"],
            ", ".join(r["inputs"])[:50],
            counts,
        )
    console.print(table)


@command.command("stats")
@CATALOG
@JSON
def stats(catalog, as_json):
    """Files, associations by level and type, versions, runs."""
    with _open(catalog) as store:
        found = store.stats()
    if as_json:
        _print_json(found)
        return
    console.print(
        f"{found['location']}: {found['files']:,} files ({found['withdrawn']:,} withdrawn), "
        f"{found['associations']:,} current associations, {found['retired']:,} retired, "
        f"{found['versions']:,} versions, {found['runs']:,} runs",
        soft_wrap=True,
    )
    table = Table(title="current associations", title_justify="left")
    for column in ("level", "asn_type", "associations"):
        table.add_column(column, justify="right" if column != "asn_type" else "left")
    for row in found["by_type"]:
        table.add_row(str(row["level"]), row["asn_type"], f"{row['associations']:,}")
    console.print(table)


@command.command("upgrade")
@CATALOG
def upgrade(catalog):
    """Upgrade a catalog made by an older roman-asn to this version's schema."""
    from roman_asn.catalog import Catalog
    from roman_asn.catalog.store import shown_location

    where = shown_location(catalog)  # never a URL's password
    with status_line(f"upgrading {where}") as told:  # a revision may rewrite every membership
        before, after = Catalog.upgrade(catalog, progress=told)
    if before == after:
        console.print(f"{where}: already at schema revision {after}")
    else:
        console.print(f"{where}: schema revision {before} -> {after}")
    sys.stdout.flush()
