"""``roman-asn plot``: coverage plot of an association, an exposure file or a pool."""

from __future__ import annotations

import click

from roman_asn.cli.common import SKYMAP_OPTION, console, err_console
from roman_asn.cli.outputs import Command, OutputFile


@click.command("plot", cls=Command)
@click.argument("source", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    default="coverage.png",
    show_default=True,
    type=OutputFile(),
    help="The image: PNG, PDF or SVG by its suffix.",
)
@SKYMAP_OPTION
def command(source: str, output: str, skymap_path: str | None) -> None:
    """Draw the footprints of SOURCE (an association .json, an exposure .asdf or a pool)
    over the sky cells they touch."""
    from roman_asn.plotting import plot_coverage, plot_format, plural
    from roman_asn.skycells import get_skymap

    plot_format(output)  # before the sky map is read
    summary = plot_coverage(source, output, skymap=get_skymap(skymap_path))
    for note in summary["notes"]:
        err_console.print(f"note: {note}", soft_wrap=True)
    console.print(
        f"{output}: {plural(summary['footprints'], 'footprint')} over "
        f"{plural(len(summary['cells']), 'sky cell')}",
        soft_wrap=True,
    )
