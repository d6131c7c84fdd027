"""Map a function over many files in worker processes, results in input order.

Used where each file costs far more than sending its name and result between
processes (make-pool's ASDF metadata reads, validate's schema checks).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

R = TypeVar("R")


def map_in_processes(
    func: Callable[[str], R],
    names: Sequence[str],
    *,
    jobs: int | None = None,
    parallel_from: int,
    preload: Sequence[str] = (),
) -> Iterator[R]:
    """``map(func, names)`` in ``jobs`` worker processes (default: one per core).

    One job, or fewer than ``parallel_from`` names, run in this process. ``func``
    must be a module-level function; ``preload`` names the modules the fork server
    imports once for all workers.
    """
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(names) <= 1 or len(names) < parallel_from:
        yield from map(func, names)
        return
    workers = min(jobs, len(names))
    # chunks keep the per-task overhead low for many small files, yet small enough
    # for every worker to get several and for a progress bar to move
    chunk = max(1, min(64, len(names) // (workers * 8)))
    # not fork: this process may run threads (polars, the progress bar) whose locks
    # a forked child would inherit held. The fork server imports the modules once.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(preload))
    else:
        context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(func, names, chunksize=chunk)
