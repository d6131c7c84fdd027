"""Making an iterator's next item in a thread while the caller works on this one.

For pipelines of two stages that each let go of the GIL for most of their work
(polars, pyarrow, SQLite, file writes), so that two cores work at once: a catalog's
first load generates its next part while it records this one, and a bundle's merge
reads and merges the next block of its runs while it writes this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def one_ahead(items: Iterator[T], name: str = "next-item") -> Iterator[T]:
    """``items`` in order, each next one made in a thread (``name``) while the caller
    works on this one. Exceptions come out of the item that raised them; closing early
    waits for the item in hand (``items`` itself is the caller's to close, after)."""
    end = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) as pool:
        coming = pool.submit(next, items, end)
        while (item := coming.result()) is not end:
            coming = pool.submit(next, items, end)
            yield item
