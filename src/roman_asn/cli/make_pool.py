"""``roman-asn make-pool``: a pool from Roman WFI exposure files (metadata only)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import click

from roman_asn.atomic import atomic_write_text
from roman_asn.cli.common import console, err_console, escape, exit_with, progress
from roman_asn.cli.outputs import Command, OutputFile
from roman_asn.errors import RomanAsnError
from roman_asn.make_pool import ScanResult, make_pool
from roman_asn.pool.writer import write_pool
from roman_asn.rejects import Rejected


def _rejects_csv(rejects: list[Rejected]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "reason"])
    writer.writerows((r.path, r.reason) for r in rejects)
    return buffer.getvalue()


@click.command("make-pool", cls=Command)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(), metavar="FILE_OR_DIR...")
@click.option(
    "-o",
    "--output",
    required=True,
    type=OutputFile(),
    help="Pool to write: .csv (legacy pipe format), .parquet or .ecsv.",
)
@click.option(
    "-R", "--recursive", is_flag=True, help="Search directories and their subdirectories."
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: one per core).",
)
@click.option(
    "--rejects",
    "rejects_path",
    type=OutputFile(),
    help="Also write the files left out, with the reason, to this CSV file.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def command(
    inputs: tuple[str, ...],
    output: str,
    recursive: bool,
    jobs: int | None,
    rejects_path: str | None,
    quiet: bool,
) -> None:
    """Read the metadata of Roman exposure FILE_OR_DIR... and write one pool row per file.

    Files are read whatever their name; directories give their *.asdf files
    (subdirectories too with -R). Rows are sorted by file name. Files that are not
    Roman WFI exposures are listed with the reason and left out: exit status 1
    when some were, 2 when none could be read.
    """

    def with_bar(results: Iterator[ScanResult], total: int) -> Iterator[ScanResult]:
        return progress(results, total=total, description="reading metadata", enabled=not quiet)

    made = make_pool(inputs, recursive=recursive, jobs=jobs, on_progress=with_bar, pool_path=output)
    for reject in made.rejects:
        # paths and reasons are the user's text: brackets in them are not markup
        err_console.print(
            f"[yellow]left out[/] {escape(reject.path)}: {escape(reject.reason or '')}",
            soft_wrap=True,
            markup=True,
        )
    if rejects_path:
        atomic_write_text(rejects_path, _rejects_csv(made.rejects))
    if made.pool is None:
        if made.scanned == 0:
            raise RomanAsnError("no *.asdf files found", path=", ".join(inputs))
        raise RomanAsnError(f"none of the {made.scanned} file(s) could be read; no pool written")
    write_pool(made.pool, output)
    if not quiet:
        console.print(
            f"wrote {escape(output)}: {len(made.pool)} row(s), "
            f"{len(made.rejects)} file(s) left out",
            soft_wrap=True,
            markup=True,
        )
    exit_with(1 if made.rejects else 0)
