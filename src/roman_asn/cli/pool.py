"""``roman-asn pool``: look inside pools and convert them between formats."""

from __future__ import annotations

import json

import click
from rich.table import Table
from rich.text import Text

from roman_asn.cli.common import console, escape
from roman_asn.cli.outputs import Group, OutputFile
from roman_asn.pool import read_pool
from roman_asn.pool.formats import format_names
from roman_asn.pool.summary import PoolSummary, summarize


@click.group("pool", cls=Group)
def command() -> None:
    """Inspect and convert pools (legacy pipe format, CSV, ECSV, Parquet)."""


def _count_table(title: str, label: str, counts: dict[str, int], total: int) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False)
    table.add_column(label, overflow="fold")
    table.add_column("rows", justify="right")
    table.add_column("%", justify="right")
    for key, n in counts.items():
        table.add_row(key, f"{n:,}", f"{100 * n / total:.1f}" if total else "-")
    return table


def print_summary(summary: PoolSummary) -> None:
    console.print(
        f"[bold]{escape(summary.path)}[/] ({summary.format} pool)", soft_wrap=True, markup=True
    )
    console.print(
        f"{summary.rows:,} rows, {summary.distinct_files:,} distinct files, "
        f"{len(summary.columns)} columns"
    )
    if summary.distinct_files < summary.rows:
        console.print(
            f"[yellow]{summary.rows - summary.distinct_files:,} rows repeat a file name "
            "already seen[/]",
            markup=True,
        )
    for title, label, counts in (
        ("Programs", "program", summary.programs),
        ("Exposure types", "exp_type", summary.exp_types),
        ("Filters", "optical_element", summary.filters),
        ("Candidates (a row may have several)", "id (type)", summary.candidates),
    ):
        if counts:
            console.print(_count_table(title, label, counts, summary.rows))
    missing = Table(title="Columns", title_justify="left", show_edge=False)
    missing.add_column("column")
    missing.add_column("missing", justify="right")
    for name in summary.columns:
        n = summary.missing.get(name, 0)
        missing.add_row(name, Text(f"{n:,}", style="yellow") if n else "0")
    console.print(missing)


@command.command("info")
@click.argument("pool", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def info(pool: str, as_json: bool) -> None:
    """Summarize POOL: rows, columns, programs, exposure types, filters, candidates,
    missing values per column."""
    summary = summarize(read_pool(pool))
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        print_summary(summary)


@command.command("convert")
@click.argument("source", type=click.Path(dir_okay=False))
@click.argument("target", type=OutputFile())
@click.option(
    "--format", "fmt", type=click.Choice(format_names()), help="Output format (default: by suffix)."
)
def convert(source: str, target: str, fmt: str | None) -> None:
    """Read SOURCE and write it as TARGET (.csv legacy, .parquet, .ecsv)."""
    pool = read_pool(source)
    pool.write(target, fmt)
    console.print(f"wrote {len(pool):,} rows to {target}")
