"""Generating on a Dask cluster: ``roman-asn generate --workers N`` / ``--scheduler ADDRESS``.

The pool is split by program into parts balanced by row count (see
:mod:`roman_asn.generator.partition`); each part travels to a worker as Arrow IPC
bytes, is generated there with the same rules and options, and the results are
joined with ``GenerationResult.concat``: the files are byte-identical to a
single-process run. Writing stays on the caller, so output folders and bundles
need not be visible to the workers.

dask.distributed is imported only here, and only when a cluster is asked for.
"""

from __future__ import annotations

import collections
import contextlib
import io
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import polars as pl

from roman_asn.errors import RomanAsnError
from roman_asn.generator.engine import GenerationResult, generate
from roman_asn.generator.options import GenerateOptions
from roman_asn.generator.partition import split_by_program, with_orphan_lines
from roman_asn.pool import Pool
from roman_asn.rules.loader import Rule
from roman_asn.worker_signals import started_deaf

if TYPE_CHECKING:
    from distributed import Client

LOOPBACK = "127.0.0.1"
PARTS_PER_WORKER = 2  # more parts than workers evens out programs of unequal size


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Client]:
    """A client of an existing cluster (``scheduler``) or of a local one with ``workers``
    single-threaded worker processes, listening on loopback only, no dashboard."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as error:  # a dependency, but say so clearly if it is broken
        raise RomanAsnError(f"dask.distributed is not importable: {error}") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as error:  # ValueError: a bad address
            raise RomanAsnError(
                f"cannot reach the Dask scheduler at {scheduler}: {error}"
            ) from None
        except MemoryError:  # another protocol's bytes read as a Dask frame's length
            raise RomanAsnError(
                f"{scheduler} does not answer as a Dask scheduler does (another service?)"
            ) from None
        with client:
            yield client
        return
    count = workers or 1
    # polars sizes its thread pool from the cores it sees: share them between workers
    threads = max(1, (os.cpu_count() or 1) // count)
    with started_deaf():  # Ctrl-C is ours to act on: the workers printed tracebacks
        cluster = LocalCluster(
            n_workers=count,
            threads_per_worker=1,
            processes=True,
            host=LOOPBACK,
            dashboard_address=None,
            # without a dashboard the scheduler still serves its HTTP routes, by default
            # on port 8787 of every interface: a second run warned that it was taken
            scheduler_kwargs={"dashboard": False, "dashboard_address": f"{LOOPBACK}:0"},
            # a worker's failure reaches the command through its task (KilledWorker, the
            # task's error); the cluster's own log of it, and of its teardown mid-task
            # when the command is stopped, was noise under the command's message
            silence_logs=logging.CRITICAL,
            env={"POLARS_MAX_THREADS": str(threads)},
            preload=["roman_asn.dask_worker_setup"],  # a restarted worker ignores Ctrl-C too
        )
    with cluster, Client(cluster) as client:
        yield client


def worker_count(client: Client) -> int:
    return max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))


def to_ipc(table: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    table.write_ipc(buffer, compression="uncompressed")
    return buffer.getvalue()


def from_ipc(payload: bytes) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(payload))


def generate_ipc(payload: bytes, rules: list[Rule], options: GenerateOptions) -> GenerationResult:
    """Run on a worker: one program-disjoint part of the pool, sent as Arrow IPC bytes."""
    return generate(from_ipc(payload), rules, options)


def run_in_order(
    client: Client,
    function: Callable[..., GenerationResult],
    inputs: Sequence[Any],
    **kwargs: Any,
) -> Iterator[GenerationResult]:
    """``function(input, **kwargs)`` for every input on the cluster, yielded in input order
    (so output order never depends on which worker finished first)."""
    futures = client.map(function, inputs, pure=False, **kwargs)
    try:
        for future in futures:
            yield _taken(future)
    finally:
        for future in futures:
            future.cancel()


def run_windowed(
    client: Client,
    function: Callable[..., Any],
    inputs: Iterable[Any],
    *,
    window: int | None = None,
    **kwargs: Any,
) -> Iterator[Any]:
    """``function(input, **kwargs)`` for every input on the cluster, yielded in input
    order, with at most ``window`` (default two per worker) submitted and not yet taken:
    inputs are made lazily, so a long stream of units never sits in memory at once."""
    window = window or PARTS_PER_WORKER * worker_count(client)
    pending: collections.deque = collections.deque()
    try:
        for item in inputs:
            # scattered first: a unit inside the task graph (tens of MB of the pool)
            # made Dask warn of a large graph on every run
            data = client.scatter([item], hash=False)[0]  # the item whole, not split
            pending.append(client.submit(function, data, pure=False, **kwargs))
            if len(pending) >= window:
                yield _taken(pending.popleft())
        while pending:
            yield _taken(pending.popleft())
    finally:
        for future in pending:
            future.cancel()


def _taken(future) -> Any:
    result = future.result()
    future.release()
    return result


def generate_on_cluster(
    pool: Pool,
    rules: list[Rule],
    options: GenerateOptions,
    client: Client,
    *,
    parts: int | None = None,
) -> GenerationResult:
    """``generate(pool, rules, options)`` with the program partitions run on ``client``."""
    options = replace(options, asn_pool=options.asn_pool or pool.name)
    pieces = split_by_program(pool.table, parts or PARTS_PER_WORKER * worker_count(client))
    if len(pieces) == 1:  # one program: nothing to spread, skip the transfer
        result = generate(pool, rules, options)
        return result
    payloads = client.scatter([to_ipc(piece) for piece in pieces])
    del pieces
    results = list(run_in_order(client, generate_ipc, payloads, rules=rules, options=options))
    return with_orphan_lines(GenerationResult.concat(results), pool.lines)
