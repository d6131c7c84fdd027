"""``roman-asn generate``: every Level 2 and Level 3 association a pool implies."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime

import click

from roman_asn.cli.common import console, err_console
from roman_asn.errors import RomanAsnError

_NOW = "\x00now"
_PROGRESS_FROM = 5_000  # associations; fewer are written in well under a second


def parse_ids(values: tuple[str, ...]) -> tuple[str, ...]:
    """``-i o001 -i c1000`` or ``-i o001,c1000`` (order and repeats do not matter)."""
    return tuple(i for value in values for i in re.split(r"[,\s]+", value) if i)


def version_id(value: str | None) -> str | None:
    if value is None:
        return None
    if value == _NOW:
        return datetime.now(UTC).strftime("%Y%m%dt%H%M%S")
    if not re.fullmatch(r"[A-Za-z0-9]+", value):
        raise RomanAsnError(f"--version-id must be letters and digits, not {value!r}")
    return value.lower()


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
    from roman_asn.generator.rules import load_rules, without_skycells

    rules = load_rules(rule_files, ignore_default=ignore_default)
    return without_skycells(rules) if no_skycells else rules


@click.command("generate")
@click.argument("pool", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "-p",
    "--output-dir",
    "--path",
    "output_dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the association files.",
)
@rule_options
@click.option(
    "-i",
    "--ids",
    "ids",
    multiple=True,
    metavar="ID",
    help="Only these candidates (repeat or separate with commas).",
)
@click.option("--all-candidates", is_flag=True, help="Write candidate (o/c) associations.")
@click.option("--discover", is_flag=True, help="Write discovered (a3NNN) associations.")
@click.option(
    "--version-id",
    "version",
    is_flag=False,
    flag_value=_NOW,
    default=None,
    metavar="[ID]",
    help="Put a version in file names (bare flag: UTC timestamp).",
)
@click.option(
    "--data-release-id", default="p", show_default=True, help="Data release id for names."
)
@click.option(
    "--orphans",
    "orphans_path",
    type=click.Path(dir_okay=False),
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
    help="Generate on an existing Dask cluster, e.g. tcp://10.0.0.5:8786.",
)
@click.option(
    "--bundle",
    "bundle_path",
    type=click.Path(dir_okay=False),
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
    ids: tuple[str, ...],
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
    from roman_asn.generator.options import GenerateOptions
    from roman_asn.generator.orphans import write_orphans
    from roman_asn.generator.summary import print_summary

    if not re.fullmatch(r"[a-z0-9]+", data_release_id):
        raise RomanAsnError(
            f"--data-release-id must be lower-case letters and digits, not {data_release_id!r}"
        )
    if clean and force:
        raise RomanAsnError("--clean removes other association files, --force keeps them: not both")
    if workers and scheduler:
        raise RomanAsnError("--workers starts a local cluster, --scheduler uses one: not both")
    if bundle_path:
        from roman_asn.generator.bundle import bundle_kind

        bundle_kind(bundle_path)  # reject a bad suffix before any work
    rules = selected_rules(rule_files, ignore_default, no_skycells)
    options = GenerateOptions.from_flags(
        ids=parse_ids(ids),
        all_candidates=all_candidates,
        discover=discover,
        data_release_id=data_release_id,
        version_id=version_id(version),
    )
    show = not no_progress and err_console.is_terminal
    run = _Run(output_dir, bundle_path, writer_threads, dry_run, show)
    run.existing = "clean" if clean else "force" if force else "refuse"
    with _cluster(workers, scheduler, show) as client:
        if chunked:
            result = run.chunked(pool, rules, options, client)
        else:
            result = run.whole(pool, rules, options, client)
    if orphans_path:
        write_orphans(result.orphans, orphans_path)
    unknown = sorted(set(options.ids) - set(run.known_ids)) if run.known_ids is not None else []
    if unknown:
        known = ", ".join(run.known_ids[:20]) or "none"
        more = f" and {len(run.known_ids) - 20} more" if len(run.known_ids) > 20 else ""
        err_console.print(
            f"warning: no row belongs to candidate(s) {', '.join(unknown)}; "
            f"the pool's candidates: {known}{more}",
            soft_wrap=True,
        )
    print_summary(
        console,
        result,
        output_dir=f"the bundle {bundle_path}" if bundle_path else output_dir,
        written=run.written,
        dry_run=dry_run,
        orphans_path=orphans_path,
    )
    if options.ids and not dry_run and run.written == 0:
        raise RomanAsnError(
            f"-i {' '.join(options.ids)}: no association of these candidates; nothing written"
        )


def _cluster(workers: int | None, scheduler: str | None, show: bool):
    if not workers and not scheduler:
        return contextlib.nullcontext(None)
    from roman_asn.generator.distributed import dask_client

    if show:
        where = scheduler or f"{workers} local worker(s)"
        err_console.print(f"generating on Dask: {where}")
    return dask_client(workers=workers, scheduler=scheduler)


class _Run:
    """Generate, then write to files or a bundle, whole or program unit by unit."""

    def __init__(
        self,
        output_dir: str,
        bundle_path: str | None,
        writer_threads: int | None,
        dry_run: bool,
        show: bool,
    ) -> None:
        self.output_dir = output_dir
        self.bundle_path = bundle_path
        self.writer_threads = writer_threads
        self.dry_run = dry_run
        self.show = show
        self.written = 0
        self.existing = "refuse"
        self.known_ids: list[str] | None = None  # the pool's candidate ids, for -i checks

    def _status(self, text: str):
        return err_console.status(text, spinner="dots") if self.show else _Quiet()

    def whole(self, pool: str, rules, options, client):
        from roman_asn.generator.engine import generate
        from roman_asn.pool import read_pool

        with self._status("reading pool"):
            source = read_pool(pool)
        if options.ids and "candidates" in source.table.columns:
            from roman_asn.pool.candidates import candidate_ids

            self.known_ids = candidate_ids(source.table["candidates"])
        with self._status(f"grouping {len(source):,} rows"):
            if client is None:
                result = generate(source, rules, options)
            else:
                from roman_asn.generator.distributed import generate_on_cluster

                result = generate_on_cluster(source, rules, options, client)
        if self.dry_run:
            return result
        if self.bundle_path:
            from roman_asn.generator.bundle import write_bundle

            with self._status(f"writing {self.bundle_path}"):
                self.written = write_bundle(result, self.bundle_path)
        else:
            with self._folder() as folder:
                folder.check(result.associations["file_name"].to_list())
                self._write_files(result, progress=True)
                folder.wrote(result.associations["file_name"].to_list())
        return result

    def _folder(self):
        from roman_asn.generator.writer import OutputFolder

        return OutputFolder(self.output_dir, self.existing)

    def chunked(self, pool: str, rules, options, client):
        from roman_asn.generator.bundle import BundleWriter
        from roman_asn.generator.chunked import Tally, generate_chunked

        tally = Tally()
        sink = BundleWriter(self.bundle_path) if self.bundle_path and not self.dry_run else None
        folder = None if sink is not None or self.dry_run else self._folder()
        with (
            folder or contextlib.nullcontext(),
            sink or contextlib.nullcontext(),
            self._status("splitting the pool by program"),
        ):
            if folder is not None:
                folder.check(None)
            for number, part in enumerate(generate_chunked(pool, rules, options, client=client)):
                if sink is not None:
                    self.written += sink.write(part)
                elif folder is not None:
                    self._write_files(part, progress=False)
                    folder.wrote(part.associations["file_name"].to_list())
                tally.add(part)
                if self.show:
                    err_console.log(f"part {number + 1}: {tally.associations:,} associations")
                del part
        if not tally.parts:
            raise RomanAsnError("the pool has no rows", path=pool)
        return tally.result()

    def _write_files(self, result, *, progress: bool) -> None:
        from roman_asn.generator.writer import write_associations

        total = result.associations.height
        if progress and self.show and total >= _PROGRESS_FROM:
            from rich.progress import Progress

            with Progress(console=err_console, transient=True) as bar:
                task = bar.add_task("writing associations", total=total)
                write_associations(
                    result,
                    self.output_dir,
                    workers=self.writer_threads,
                    on_progress=lambda n: bar.advance(task, n),
                )
        else:
            write_associations(result, self.output_dir, workers=self.writer_threads)
        self.written += total


class _Quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
