"""``roman-asn synth-pool``: write a realistic, deterministic synthetic pool."""

from __future__ import annotations

import time
from pathlib import Path

import click

from roman_asn.cli.common import err_console
from roman_asn.cli.outputs import Command, OutputFile
from roman_asn.pool.formats import format_names
from roman_asn.pool.writer import format_for, write_pool
from roman_asn.synth import N_DETECTORS, SURVEYS, synth_pool

# a billion exposures (18 billion rows) is past any memory; numpy refuses far sooner
MAX_EXPOSURES = 10**9


@click.command("synth-pool", cls=Command)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=OutputFile(),
    help="Pool file to write; the suffix picks the format (.csv legacy pipe, .parquet, .ecsv).",
)
@click.option(
    "--exposures",
    required=True,
    type=click.IntRange(min=1, max=MAX_EXPOSURES),
    help=f"Number of exposures; the pool has {N_DETECTORS} detector rows per exposure.",
)
@click.option(
    "--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Random seed."
)
@click.option(
    "--survey",
    type=click.Choice(SURVEYS),
    default="mixed",
    show_default=True,
    help="HLWAS tiling, GBTDS bulge fields, or both (plus calibration exposures).",
)
@click.option(
    "--legacy-names",
    is_flag=True,
    help="Write upper-case legacy column names plus the columns romancal 1.0.3's rules need.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(format_names()),
    default=None,
    help="Override the format chosen from the suffix.",
)
@click.option("-q", "--quiet", is_flag=True, help="Do not print the summary line.")
def command(
    output: str,
    exposures: int,
    seed: int,
    survey: str,
    legacy_names: bool,
    fmt: str | None,
    quiet: bool,
) -> None:
    """Write a synthetic WFI pool of EXPOSURES exposures to OUTPUT.

    The same options always give the same bytes.
    """
    start = time.perf_counter()
    pool = synth_pool(exposures, seed=seed, survey=survey, romancal_columns=legacy_names)
    made = time.perf_counter() - start
    write_pool(pool, output, fmt, names="legacy" if legacy_names else "canonical")
    total = time.perf_counter() - start
    if not quiet:
        kind = format_for(Path(output), fmt)
        err_console.print(
            f"wrote {output}: {len(pool):,} rows ({exposures:,} exposures, {survey}, "
            f"seed {seed}, {kind}) in {total:.2f} s ({made:.2f} s generating)",
            soft_wrap=True,
        )
