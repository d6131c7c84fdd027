"""``roman-asn update-path``: point member paths at another folder."""

from __future__ import annotations

import click

from roman_asn.cli.common import console, escape, progress
from roman_asn.cli.outputs import Command, OutputDir
from roman_asn.errors import shown
from roman_asn.tools.inputs import association_paths
from roman_asn.tools.update_path import update_files


def _folder(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A control character in --path makes every member name invalid (the schema's
    rule): said of --path, not as a fault of each association, which is fine."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise click.BadParameter(f"{shown(value)} holds a control character (a line break...)")
    return value


@click.command("update-path", cls=Command)
@click.argument("sources", metavar="ASN|FOLDER|-...", nargs=-1, required=True, type=click.Path())
@click.option(
    "--path",
    "folder",
    required=True,
    callback=_folder,
    help="New folder for every member: expname becomes PATH/<file name>; '' strips folders.",
)
@click.option(
    "-o",
    "--output-dir",
    type=OutputDir(),
    default=None,
    help="Write the updated associations here instead of in place.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the totals, not every file.")
def command(sources: tuple[str, ...], folder: str, output_dir: str | None, quiet: bool) -> None:
    """Rewrite the folder of every member of each ASN (in place, atomically).

    A FOLDER stands for every *.json file in it and its subfolders; - reads a list of
    paths from stdin (one per line, or NUL-separated as from find -print0).
    Members' tweakreg_catalog paths move with them. Nothing is written if any file
    cannot be read or would become invalid (e.g. two members with one file name).
    """
    files = association_paths(sources)
    # every file is read and checked before the first is written: the bar covers that
    results = update_files(
        progress(files, total=len(files), description="checking"), folder, output_dir
    )
    for result in results if not quiet else ():
        what = "updated" if result.changed else "unchanged"
        where = "" if result.target == result.source else f" -> {result.target}"
        console.print(
            f"{what} {escape(str(result.source))}{escape(str(where))} ({result.members} members)",
            soft_wrap=True,
            markup=True,
        )
    if len(results) > 1 or quiet:
        changed = sum(result.changed for result in results)
        console.print(f"{changed} updated, {len(results) - changed} unchanged")
