"""The next item made in a thread: order, errors and closing early."""

from __future__ import annotations

import threading

import pytest

from roman_asn.read_ahead import one_ahead


def test_one_ahead_keeps_order_and_raises_at_the_failing_item():
    def items(fail_at=None):
        for i in range(5):
            if i == fail_at:
                raise ValueError(f"item {i}")
            yield i

    assert list(one_ahead(items())) == [0, 1, 2, 3, 4]
    seen = []
    with pytest.raises(ValueError, match="item 3"):
        for i in one_ahead(items(fail_at=3)):
            seen.append(i)
    assert seen == [0, 1, 2]
    early = one_ahead(items())
    assert next(early) == 0
    early.close()  # waits for the item in hand, leaves no thread behind
    assert not [t for t in threading.enumerate() if t.name.startswith("next-item")]
