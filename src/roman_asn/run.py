"""One entry point for a generation run: read, group, hand results to an output.

``run(pool, rules, options, output=...)`` is what ``roman-asn generate``, the demo
and the catalog call. It chooses how to generate (whole pool in this process, the
sky-cell rules a range of cells at a time, on a Dask cluster, or program unit by
unit with ``chunked``) and gives every result to one
:class:`~roman_asn.outputs.Output`; the output decides where associations go
(files, a bundle, nowhere, a catalog). The returned result carries the
associations only when the run held them all at once (not ``chunked``, not by
sky cells); counts, orphans and drop reasons always.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from roman_asn.errors import RomanAsnError
from roman_asn.generator.engine import GenerationResult, generate
from roman_asn.generator.options import GenerateOptions
from roman_asn.outputs import Output
from roman_asn.outputs.dry_run import DryRun
from roman_asn.pool import Pool, read_pool
from roman_asn.rules.loader import Rule, load_rules

if TYPE_CHECKING:
    import polars as pl
    from distributed import Client


class Reporter(Protocol):
    """What a long run tells a person: a status while a phase runs, and log lines."""

    def status(self, text: str) -> contextlib.AbstractContextManager[object]: ...

    def log(self, text: str) -> None: ...


class Silent:
    """The library default: say nothing."""

    def status(self, text: str) -> contextlib.AbstractContextManager[object]:
        return contextlib.nullcontext()

    def log(self, text: str) -> None:
        return None


def run(
    pool: str | os.PathLike[str] | Pool | pl.DataFrame,
    rules: list[Rule] | None = None,
    options: GenerateOptions | None = None,
    output: Output | None = None,
    *,
    chunked: bool = False,
    by_cells: bool | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Client | None = None,
    reporter: Reporter | None = None,
) -> GenerationResult:
    """Generate every association of ``pool`` and give them to ``output``.

    ``pool``: a pool file (any format ``read_pool`` knows), a :class:`Pool` or a
    polars table. ``rules``: default Roman rules when None. ``output``: a
    :class:`~roman_asn.outputs.Output` (default: keep nothing, as a dry run).
    ``workers``/``scheduler`` start or join a Dask cluster (or pass ``client``);
    ``chunked`` reads a pool file in batches and generates program unit by unit,
    so memory is bounded by the largest unit. ``by_cells`` makes the sky-cell rules
    a range of sky cells at a time (:mod:`roman_asn.generator.cell_units`); by
    default whenever the rules and pool allow it and the output takes results in
    parts, for pools of ``cell_units.BY_CELLS_FROM_ROWS`` rows or more (a smaller run holds its
    associations and writes its orphan report first). The output is the same either way.
    """
    rules = load_rules() if rules is None else rules
    options = options or GenerateOptions()
    output = output if output is not None else DryRun()
    reporter = reporter or Silent()
    if workers and scheduler:
        raise RomanAsnError("--workers starts a local cluster, --scheduler uses one: not both")
    if chunked and not isinstance(pool, str | os.PathLike):
        raise RomanAsnError("a chunked run reads a pool file: give its path")
    if chunked and hasattr(output, "expect_parts"):
        output.expect_parts()  # names come part by part: a folder cannot compare in advance
    with _cluster(client, workers, scheduler, reporter) as cluster, output:
        if chunked:
            return _chunked(os.fspath(pool), rules, options, output, cluster, reporter)
        return _whole(pool, rules, options, output, cluster, reporter, by_cells)


@contextlib.contextmanager
def _cluster(
    client: Client | None, workers: int | None, scheduler: str | None, reporter: Reporter
) -> Iterator[Client | None]:
    if client is not None or (not workers and not scheduler):
        yield client
        return
    from roman_asn.generator.distributed import dask_client

    reporter.log(f"generating on Dask: {scheduler or f'{workers} local worker(s)'}")
    with dask_client(workers=workers, scheduler=scheduler) as started:
        yield started


def _whole(
    pool, rules, options, output: Output, client, reporter: Reporter, by_cells: bool | None
) -> GenerationResult:
    if isinstance(pool, str | os.PathLike):
        with reporter.status("reading pool"):
            pool = read_pool(pool)
    table = pool.table if isinstance(pool, Pool) else pool
    if by_cells is not False and table.height:
        from roman_asn.generator import cell_units

        possible = cell_units.partitionable(table.columns, rules)
        wanted = by_cells or table.height >= cell_units.BY_CELLS_FROM_ROWS
        if by_cells and not possible:
            raise RomanAsnError(
                "by sky cells: no rule groups by sky cell with a fixed asn_id and product-named"
                " files, or the pool has no footprint columns"
            )
        if wanted and possible and getattr(output, "takes_parts", False):
            return _by_cells(pool, rules, options, output, reporter, client)
    with reporter.status(f"grouping {table.height:,} rows"):
        if client is None:
            result = generate(pool, rules, options)
        else:
            from roman_asn.generator.distributed import generate_on_cluster

            result = generate_on_cluster(pool, rules, options, client)
    output.write(result)  # an output shows its own progress: one live display at a time
    return result


def _by_cells(pool, rules, options, output: Output, reporter: Reporter, client) -> GenerationResult:
    from roman_asn.generator.cell_units import generate_by_cells

    output.expect_parts()
    rows = len(pool) if isinstance(pool, Pool) else pool.height
    with reporter.status(f"grouping {rows:,} rows, the sky-cell rules a range of cells at a time"):
        parts = generate_by_cells(pool, rules, options, progress=reporter.log, client=client)
        return _write_parts(parts, output).result()


def _write_parts(parts, output: Output, on_part=None):
    """Each part to the output as it comes, kept only as counts (a Tally)."""
    from roman_asn.generator.chunked import Tally

    tally = Tally()
    for number, part in enumerate(parts, start=1):
        output.write(part)
        tally.add(part)
        if on_part is not None:
            on_part(number, tally)
        del part
    return tally


def _chunked(path: str, rules, options, output: Output, client, reporter: Reporter):
    from roman_asn.generator.chunked import generate_chunked

    def said(number: int, tally) -> None:
        reporter.log(f"part {number}: {tally.associations:,} associations")

    with reporter.status("splitting the pool by program"):
        tally = _write_parts(generate_chunked(path, rules, options, client=client), output, said)
    if not tally.parts:  # no rows: the empty result a whole run gives (same outputs)
        return _whole(path, rules, options, output, None, reporter, False)
    return tally.result()
