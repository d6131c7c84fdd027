"""``roman-asn generate``: every Level 2 and Level 3 association a pool implies."""

from __future__ import annotations

import click

from roman_asn.cli.common import console, err_console
from roman_asn.cli.outputs import OutputDir, OutputFile
from roman_asn.cli.params import (
    CANDIDATE_IDS,
    DATA_RELEASE_ID,
    NOW,
    VERSION_ID,
    SpacedIdsCommand,
    flat_ids,
)
from roman_asn.errors import RomanAsnError

_PROGRESS_FROM = 5_000  # associations; fewer are written in well under a second

IDS_OPTION = click.option(
    "-i",
    "--ids",
    "ids",
    multiple=True,
    type=CANDIDATE_IDS,
    help="Only these candidates: -i o001 o002, -i o001,c1000 or -i o001 -i c1000.",
)
DATA_RELEASE_OPTION = click.option(
    "--data-release-id",
    type=DATA_RELEASE_ID,
    default="p",
    show_default=True,
    help="Data release id for names (p, dr01, ...).",
)


def _address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A --scheduler address: '' (an unset $SCHEDULER) ran on this machine instead."""
    if value is not None and not value.strip():
        raise click.BadParameter("an empty address names no Dask scheduler")
    return value


def rule_options(command):
    """The rule-selection options shared by generate and explain."""
    options = [
        click.option(
            "-r",
            "--rules",
            "rule_files",
            multiple=True,
            type=click.Path(dir_okay=False),
            help="Rules file (TOML) adding or replacing rules by name; repeatable.",
        ),
        click.option("--ignore-default", is_flag=True, help="Do not load the default Roman rules."),
        click.option(
            "--no-skycells",
            is_flag=True,
            help="Leave out the sky-cell and multiband rules (they multiply the associations "
            "about tenfold on pools with footprints).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def selected_rules(rule_files: tuple[str, ...], ignore_default: bool, no_skycells: bool):
    from roman_asn.rules.loader import load_rules, without_skycells

    rules = load_rules(rule_files, ignore_default=ignore_default)
    return without_skycells(rules) if no_skycells else rules


@click.command("generate", cls=SpacedIdsCommand)
@click.argument("pool", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "-p",
    "--output-dir",
    "--path",
    "output_dir",
    default=".",
    show_default=True,
    type=OutputDir(),
    help="Folder for the association files.",
)
@rule_options
@IDS_OPTION
@click.option("--all-candidates", is_flag=True, help="Write candidate (o/c) associations.")
@click.option("--discover", is_flag=True, help="Write discovered (a3NNN) associations.")
@click.option(
    "--version-id",
    "version",
    is_flag=False,
    flag_value=NOW,
    type=VERSION_ID,
    default=None,
    metavar="[ID]",
    help="Put a version in file names (bare flag: UTC timestamp).",
)
@DATA_RELEASE_OPTION
@click.option(
    "--orphans",
    "--save-orphans",
    "orphans_path",
    type=OutputFile(),
    help="Write rows in no association, with reasons (.csv or .json).",
)
@click.option(
    "--clean",
    is_flag=True,
    help="Remove association files in the output folder that this run does not write.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Write even if the output folder holds association files this run does not write.",
)
@click.option("--dry-run", is_flag=True, help="Generate and report, but write no association.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option(
    "--writer-threads",
    type=click.IntRange(1, 64),
    default=None,
    help="Threads writing association files (default 1).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Generate on a local Dask cluster of N worker processes (loopback only).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    callback=_address,
    help="Generate on an existing Dask cluster, e.g. tcp://10.0.0.5:8786.",
)
@click.option(
    "--bundle",
    "bundle_path",
    type=OutputFile(),
    default=None,
    help="Write all associations into one file (.jsonl or .parquet) instead of one each.",
)
@click.option(
    "--chunked",
    is_flag=True,
    help="Read the pool in batches and generate program by program (bounded memory).",
)
def command(
    pool: str,
    output_dir: str,
    rule_files: tuple[str, ...],
    ignore_default: bool,
    no_skycells: bool,
    ids: tuple[tuple[str, ...], ...],
    all_candidates: bool,
    discover: bool,
    version: str | None,
    data_release_id: str,
    orphans_path: str | None,
    clean: bool,
    force: bool,
    dry_run: bool,
    no_progress: bool,
    writer_threads: int | None,
    workers: int | None,
    scheduler: str | None,
    bundle_path: str | None,
    chunked: bool,
) -> None:
    """Generate the associations of POOL (legacy/CSV, ECSV or Parquet pool).

    Default: candidate and discovered associations; -i picks candidates,
    --all-candidates / --discover pick modes as in jwst asn_generate.
    --workers/--scheduler spread programs over Dask workers; --chunked bounds memory
    by the largest program; --bundle writes one file for archive ingest.
    """
    from roman_asn.cli.common import RichReporter, WriteProgress
    from roman_asn.generator.options import GenerateOptions
    from roman_asn.generator.orphans import OrphansFirst
    from roman_asn.generator.summary import print_summary
    from roman_asn.outputs import open_output
    from roman_asn.run import run

    if clean and force:
        raise RomanAsnError("--clean removes other association files, --force keeps them: not both")
    if workers and scheduler:
        raise RomanAsnError("--workers starts a local cluster, --scheduler uses one: not both")
    show = not no_progress
    output = open_output(
        output_dir,
        bundle=bundle_path,
        dry_run=dry_run,
        writer_threads=writer_threads,
        on_progress=None if chunked else WriteProgress(show),
        existing="clean" if clean else "force" if force else "refuse",
    )
    if orphans_path:
        output = OrphansFirst(output, orphans_path)  # kept even if writing is stopped
    rules = selected_rules(rule_files, ignore_default, no_skycells)
    options = GenerateOptions.from_flags(
        ids=flat_ids(ids),
        all_candidates=all_candidates,
        discover=discover,
        data_release_id=data_release_id,
        version_id=version,
    )
    result = run(
        pool,
        rules,
        options,
        output,
        chunked=chunked,
        workers=workers,
        scheduler=scheduler,
        reporter=RichReporter(show),
    )
    if orphans_path:
        output.finish(result.orphans)
    if options.ids:
        _warn_unmatched_ids(pool, result, options.ids)
    print_summary(
        console,
        result,
        output_dir=output.where,
        written=output.written,
        dry_run=dry_run,
        orphans_path=orphans_path,
    )
    if options.ids and not dry_run and output.written == 0:
        raise RomanAsnError(
            f"-i {' '.join(options.ids)}: no association of these candidates; nothing written"
        )


def _warn_unmatched_ids(pool: str, result, ids: tuple[str, ...]) -> None:
    """Name the -i ids no association has, and the candidates the pool does have."""
    unmatched = sorted(set(ids) - result.asn_ids())
    if not unmatched:
        return
    from roman_asn.pool import read_pool
    from roman_asn.pool.candidates import candidate_ids

    table = read_pool(pool).table
    known = candidate_ids(table["candidates"]) if "candidates" in table.columns else []
    listed = ", ".join(known[:20]) or "none"
    more = f" and {len(known) - 20} more" if len(known) > 20 else ""
    err_console.print(
        f"warning: no association of candidate(s) {', '.join(unmatched)}; "
        f"the pool's candidates: {listed}{more}",
        soft_wrap=True,
    )
