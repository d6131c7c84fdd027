"""``roman-asn multiband``: one association per sky cell listing all its filters."""

from __future__ import annotations

import click

from roman_asn.cli.common import console, err_console, escape, exit_with
from roman_asn.cli.outputs import Command, OutputDir
from roman_asn.cli.params import DATA_RELEASE_ID
from roman_asn.tools.multiband import plan_multiband, write_multiband


@click.command("multiband", cls=Command)
@click.argument("files", nargs=-1, required=True)
@click.option(
    "-o",
    "--output-dir",
    default=".",
    show_default=True,
    type=OutputDir(),
    help="Folder for the <product>_asn.json files.",
)
@click.option(
    "--psf-match-reference-filter",
    default=None,
    help="Reference filter for PSF matching, e.g. F158 (default: the catalog step's choice).",
)
@click.option(
    "--data-release-id",
    type=DATA_RELEASE_ID,
    default=None,
    help="Use only coadds of this data release (others are listed as skipped).",
)
@click.option(
    "--min-filters",
    type=click.IntRange(min=1),
    default=None,
    help="Fewest filters a sky cell needs for an association [default: 2, the rules' "
    "min_filters; 1 is romancal's behaviour].",
)
@click.option(
    "--allow-missing",
    is_flag=True,
    help="Use coadds that do not exist (yet) instead of leaving them out.",
)
def command(
    files: tuple[str, ...],
    output_dir: str,
    psf_match_reference_filter: str | None,
    data_release_id: str | None,
    min_filters: int | None,
    allow_missing: bool,
) -> None:
    """Group *_<skycell>_<filter>_coadd.asdf FILES into multiband associations.

    One association per <root>_<drid>_<token>_<skycell> with at least two filters,
    named <root>_<drid>_<token>_<skycell>_asn.json. Members are written relative to the
    output folder. A quoted pattern ('*_coadd.asdf') is expanded. Names that are not
    coadd names, and files that do not exist, are listed with the reason (exit status 1).
    """
    plan = plan_multiband(
        list(files),
        output_dir,
        psf_match_reference_filter=psf_match_reference_filter,
        data_release_id=data_release_id,
        min_filters=min_filters,
        allow_missing=allow_missing,
    )
    for path in write_multiband(plan):
        asn = plan.associations[path]
        filters = ", ".join(m.expname.rsplit("_", 2)[-2] for m in asn.members)
        console.print(f"wrote {escape(str(path))} ({filters})", soft_wrap=True, markup=True)
    for warning in plan.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True, markup=True)
    for item in plan.skipped:
        err_console.print(
            f"skipped {escape(item.path)}: {escape(item.reason)}", soft_wrap=True, markup=True
        )
    for item in plan.rejected:
        err_console.print(
            f"[red]not used[/] {escape(item.path)}: {escape(item.reason)}",
            soft_wrap=True,
            markup=True,
        )
    if not plan.associations:
        err_console.print("no multiband association written", soft_wrap=True)
    exit_with(1 if plan.rejected else 0)
