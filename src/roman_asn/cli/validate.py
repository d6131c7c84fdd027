"""``roman-asn validate``: check association files against the strict schema."""

from __future__ import annotations

import click

from roman_asn.cli.common import console, escape, exit_with, progress
from roman_asn.cli.outputs import Command
from roman_asn.tools.inputs import association_paths
from roman_asn.validate import validate_file


@click.command("validate", cls=Command)
@click.argument("sources", metavar="FILE|FOLDER|-...", nargs=-1, required=True, type=click.Path())
@click.option("-q", "--quiet", is_flag=True, help="Print only problems, not the files that pass.")
def command(sources: tuple[str, ...], quiet: bool) -> None:
    """Report every problem of every association file (exit 1 if any is invalid).

    A FOLDER stands for every *.json file in it and its subfolders; - reads a list of
    paths from stdin (one per line, or NUL-separated as from find -print0).
    """
    files = association_paths(sources)
    bad = 0
    for path in progress(files, total=len(files), description="validating"):
        problems = validate_file(path)
        if problems:
            bad += 1
            for problem in problems:
                console.print(
                    f"[red]INVALID[/] {escape(str(problem))}", soft_wrap=True, markup=True
                )
        elif not quiet:
            console.print(f"[green]ok[/] {escape(path)}", soft_wrap=True, markup=True)
    if len(files) > 1 or bad:
        console.print(f"{len(files) - bad} valid, {bad} invalid")
    exit_with(1 if bad else 0)
