"""``roman-asn explain``: why a pool row did or did not join each association."""

from __future__ import annotations

import click

from roman_asn.cli.common import console, escape
from roman_asn.cli.generate import (
    DATA_RELEASE_OPTION,
    IDS_OPTION,
    rule_options,
    selected_rules,
)
from roman_asn.cli.params import SpacedIdsCommand, flat_ids


@click.command("explain", cls=SpacedIdsCommand)
@click.argument("pool", type=click.Path(dir_okay=False))
@click.argument("row")
@rule_options
@IDS_OPTION
@click.option("--all-candidates", is_flag=True, help="As for generate.")
@click.option("--discover", is_flag=True, help="As for generate.")
@DATA_RELEASE_OPTION
def command(
    pool: str,
    row: str,
    rule_files: tuple[str, ...],
    ignore_default: bool,
    no_skycells: bool,
    ids: tuple[tuple[str, ...], ...],
    all_candidates: bool,
    discover: bool,
    data_release_id: str,
) -> None:
    """Explain ROW of POOL: a file name, or #N for the row with pool_row N (0-based,
    as in the --orphans file). Use the same options as the generate run.

    Only the groups the row can touch are built (a Parquet pool is read for the
    row's program only), with the same answer as a whole run."""
    from roman_asn.generator.explain import explain
    from roman_asn.generator.options import GenerateOptions
    from roman_asn.pool.subset import PoolRows

    rules = selected_rules(rule_files, ignore_default, no_skycells)
    options = GenerateOptions.from_flags(
        ids=flat_ids(ids),
        all_candidates=all_candidates,
        discover=discover,
        data_release_id=data_release_id,
    )
    for story in explain(PoolRows.open(pool), rules, options, row):
        line = f", line {story.line}" if story.line else ""
        console.print(
            f"[bold]{escape(story.filename)}[/] (row #{story.pool_row}{line})",
            soft_wrap=True,
            markup=True,
        )
        if story.joined:
            console.print(f"  joined {len(story.joined)} association(s):")
            for j in story.joined:
                console.print(
                    f"    [green]{escape(j.file_name)}[/]  {escape(j.rule)}  "
                    f"{escape(j.asn_type)}  {escape(j.asn_id)}  product {escape(j.product_name)}",
                    soft_wrap=True,
                    markup=True,
                )
                console.print(f"      group: {j.constraints}", soft_wrap=True, markup=False)
                for why in j.derived:
                    console.print(f"      {why}", soft_wrap=True, markup=False)
        else:
            console.print("  [yellow]joined no association (orphan)[/]", markup=True)
        for rule, why in story.not_joined:
            console.print(f"  not in {rule}: {why}", soft_wrap=True)
        for rule, acid, product, why in story.dropped:
            console.print(
                f"  not written: {rule} {acid or 'discovered'} (product {product}): {why}",
                soft_wrap=True,
            )
        for note in story.notes:
            console.print(f"  [dim]note: {escape(note)}[/]", soft_wrap=True, markup=True)
