"""``roman-asn update-path``: point member paths at another folder."""

from __future__ import annotations

import click

from roman_asn.cli.common import console
from roman_asn.tools.update_path import update_files


@click.command("update-path")
@click.argument(
    "asn_files", metavar="ASN...", nargs=-1, required=True, type=click.Path(dir_okay=False)
)
@click.option(
    "--path",
    "folder",
    required=True,
    help="New folder for every member: expname becomes PATH/<file name>; '' strips folders.",
)
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write the updated associations here instead of in place.",
)
def command(asn_files: tuple[str, ...], folder: str, output_dir: str | None) -> None:
    """Rewrite the folder of every member of each ASN (in place, atomically).

    Members' tweakreg_catalog paths move with them. Nothing is written if any file
    cannot be read or would become invalid (e.g. two members with one file name).
    """
    for result in update_files(list(asn_files), folder, output_dir):
        what = "updated" if result.changed else "unchanged"
        where = "" if result.target == result.source else f" -> {result.target}"
        console.print(f"{what} {result.source}{where} ({result.members} members)", soft_wrap=True)
