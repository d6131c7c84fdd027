"""``roman-asn skycell-asn`` (was ``skycell``): sky-cell associations as romancal's skycell_asn."""

from __future__ import annotations

import os

import click

from roman_asn.cli.common import SKYMAP_OPTION, console, err_console, escape, exit_with
from roman_asn.cli.outputs import Command, OutputDir
from roman_asn.cli.params import DATA_RELEASE_ID


@click.command("skycell-asn", cls=Command)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option(
    "-o",
    "--output-file-root",
    "root",
    default=None,
    help="Root of the product names, e.g. r00001 (default: r<program> of each file; "
    "a folder part, as in out/r00001, is where the files go).",
)
@click.option(
    "--product-type",
    type=click.Choice(["visit", "pass", "daily", "full", "user"]),
    default="visit",
    show_default=True,
    help="Grouping: per visit, pass, daily segment, or the whole program.",
)
@click.option(
    "--data-release-id",
    type=DATA_RELEASE_ID,
    default="p",
    show_default=True,
    help="Data release id (p, dr01, r0...).",
)
@click.option(
    "-d",
    "--output-dir",
    type=OutputDir(),
    default=".",
    show_default=True,
    help="Folder for the association files.",
)
@SKYMAP_OPTION
def command(
    files: tuple[str, ...],
    root: str | None,
    product_type: str,
    data_release_id: str,
    output_dir: str,
    skymap_path: str | None,
) -> None:
    """One association per group x sky cell x filter from Level 2 FILES.

    Grouped by the generator's sky-cell rule of the product type. Each file's
    program names its products (r<PPPPP>) unless -o gives a root; members are
    written relative to each association file, where romancal opens them. Files
    that cannot be used are listed with the reason: exit 1 when some were left
    out, 2 when none could be read.
    """
    from roman_asn.skycells import get_skymap
    from roman_asn.skycells.associations import (
        build_skycell_associations,
        write_skycell_associations,
    )
    from roman_asn.skycells.skymap import SKYMAP_ENV

    # the generator's sky-cell rule looks the map up itself: for this run, this one
    before = os.environ.get(SKYMAP_ENV)
    if skymap_path is not None:
        os.environ[SKYMAP_ENV] = skymap_path
    try:
        run = build_skycell_associations(
            list(files),
            root,
            product_type=product_type,
            data_release_id=data_release_id,
            out_dir=output_dir,
            skymap=get_skymap(skymap_path),
        )
    finally:
        if before is None:
            os.environ.pop(SKYMAP_ENV, None)
        else:
            os.environ[SKYMAP_ENV] = before

    for note in run.notes:
        err_console.print(f"note: {escape(note)}", soft_wrap=True, markup=True)
    for skipped in run.skipped:
        err_console.print(
            f"[yellow]skipped[/] {escape(skipped.path)}: {escape(skipped.reason)}",
            soft_wrap=True,
            markup=True,
        )
    written = write_skycell_associations(run)
    for path in written:
        console.print(str(path), soft_wrap=True)
    used = run.n_files - len(run.skipped)
    console.print(f"{len(written)} associations from {used} of {run.n_files} files")
    if used == 0:
        err_console.print("error: none of the files could be used", soft_wrap=True)
        exit_with(2)
    exit_with(1 if run.skipped else 0)
