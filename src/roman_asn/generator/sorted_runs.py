"""Merging sorted runs of rows block by block, in bounded memory.

A run is a sequence of frames (blocks) whose ``key`` column is ascending across the
whole run; keys are unique across runs. The merge holds one block per run: at each
step every row up to the smallest of the runs' last buffered keys can go out (no
row still to come from any run is smaller), sorted in polars, and each run whose
block is used up reads its next one. So memory is one block per run plus one
step's output, and the work is vectorized: no per-row Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import polars as pl


def _next_block(run: Iterator[pl.DataFrame]) -> pl.DataFrame | None:
    for block in run:
        if block.height:
            return block
    return None


def merge_sorted(runs: Iterable[Iterable[pl.DataFrame]], key: str) -> Iterator[pl.DataFrame]:
    """Blocks of every run's rows in ascending ``key`` order (same columns as the runs)."""
    sources = [iter(run) for run in runs]
    heads = {index: _next_block(source) for index, source in enumerate(sources)}
    heads = {index: block for index, block in heads.items() if block is not None}
    while len(heads) > 1:
        cutoff = min(block[key][-1] for block in heads.values())
        ready = []
        for index in list(heads):
            block = heads[index]
            taken = block[key].search_sorted(cutoff, side="right")
            if taken:
                ready.append(block.slice(0, taken))
            if taken < block.height:
                heads[index] = block.slice(taken)
            elif (refill := _next_block(sources[index])) is not None:
                heads[index] = refill
            else:
                del heads[index]
        yield pl.concat(ready).sort(key) if len(ready) > 1 else ready[0]
    for index, block in heads.items():  # one run left: the rest of it as it comes
        yield block
        while (block := _next_block(sources[index])) is not None:
            yield block
