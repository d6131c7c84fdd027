"""``roman-asn diff``: compare two sets of associations by meaning."""

from __future__ import annotations

from itertools import groupby

import click

from roman_asn.cli.common import console, escape, exit_with, progress
from roman_asn.cli.outputs import Command
from roman_asn.tools.diff import diff_associations
from roman_asn.tools.inputs import STDIN, association_paths, read_association_dicts


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@click.command("diff", cls=Command)
@click.argument("left", type=click.Path())
@click.argument("right", type=click.Path())
@click.option(
    "--ignore-dirs", is_flag=True, help="Compare members by file name, ignoring their folders."
)
@click.option(
    "--strict",
    is_flag=True,
    help="Also compare asn_id, program, data_release_id, target, skycell_wcs_info and "
    "psf_match_reference_filter.",
)
def command(left: str, right: str, ignore_dirs: bool, strict: bool) -> None:
    """Report every difference between the associations in LEFT and RIGHT.

    Each side is an association file, a folder (every *.json file in it and its
    subfolders), or - for a list of paths on stdin (one side only). Associations are
    paired by their product names (or identical members), not by file name; key
    order, formatting and member order are ignored. Exit status: 0 equal,
    1 different, 2 unreadable input.
    """
    if left == STDIN and right == STDIN:
        raise click.UsageError("only one of LEFT and RIGHT can be - (paths on stdin)")
    lpaths, rpaths = association_paths([left]), association_paths([right])
    lset = read_association_dicts(
        progress(lpaths, total=len(lpaths), description=f"reading {escape(left)}")
    )
    rset = read_association_dicts(
        progress(rpaths, total=len(rpaths), description=f"reading {escape(right)}")
    )
    differences = diff_associations(lset, rset, ignore_dirs=ignore_dirs, strict=strict)
    lp = sum(len(a["products"]) for _, a in lset)
    rp = sum(len(a["products"]) for _, a in rset)
    console.print(
        f"left  {escape(left)}: {_n(len(lset), 'association')}, {_n(lp, 'product')}\n"
        f"right {escape(right)}: {_n(len(rset), 'association')}, {_n(rp, 'product')}",
        soft_wrap=True,
        markup=True,
    )
    for product, group in groupby(differences, key=lambda d: d.product):
        console.print(
            f"[bold]product {escape(product)}[/]" if product else "[bold]associations[/]",
            soft_wrap=True,
            markup=True,
        )
        for difference in group:
            files = " | ".join(f for f in (difference.left_file, difference.right_file) if f)
            suffix = f"  [dim]({escape(files)})[/]" if files else ""
            console.print(
                f"  [red]≠[/] {escape(difference.message)}{suffix}", soft_wrap=True, markup=True
            )
    if differences:
        console.print(f"[red]{_n(len(differences), 'difference')}[/]", markup=True)
    else:
        console.print("[green]no differences[/]", markup=True)
    exit_with(1 if differences else 0)
