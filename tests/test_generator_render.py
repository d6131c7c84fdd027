"""Rendering in bulk: the polars-built texts (file and bundle layouts) equal what
Association.dump() writes, whatever the strings hold and whichever members are degraded."""

from __future__ import annotations

import json

from generator_helpers import pool, row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roman_asn.association import load_asn
from roman_asn.generator.engine import generate
from roman_asn.generator.writer import compact_text, render_frame
from roman_asn.rules.loader import load_rules, without_skycells

RULES = without_skycells(load_rules())
texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    targets=st.lists(texts, min_size=1, max_size=3),
    errors=st.lists(st.none() | texts, min_size=4, max_size=4),
)
def test_bulk_text_equals_the_association_dump(targets: list[str], errors: list[str | None]):
    rows = [
        row(visit=v, exposure=e, target=targets[v % len(targets)], exposerr=errors[v + e - 2])
        for v in (1, 2)
        for e in (1, 2)
    ]
    result = generate(pool(rows), RULES)
    frame = result.associations
    assert frame.height > 0
    pretty = render_frame(frame, result)["text"].to_list()
    compact = render_frame(frame, result, pretty=False)["text"].to_list()
    for text, line in zip(pretty, compact, strict=True):
        assert load_asn(text, validate=False).dump() == text
        assert line == compact_text(text)
        assert json.loads(line) == json.loads(text)
