"""Comparing catalog contents with a from-scratch generation, by meaning."""

from __future__ import annotations

from collections import Counter

import polars as pl

from roman_asn.generator.engine import GenerationResult


def meaning(frame: pl.DataFrame) -> Counter:
    """(asn_type, members, product name apart from the assigned id, exposure errors,
    target) of each association."""
    out: Counter = Counter()
    for asn_type, members, product, asn_id, errors, target in frame.select(
        "asn_type", "members", "product_name", "asn_id", "exposerr", "target"
    ).iter_rows():
        key = (asn_type, tuple(members), product.replace(asn_id, "{id}"), tuple(errors), target)
        out[key] += 1
    return out


def catalog_meaning(catalog) -> Counter:
    total: Counter = Counter()
    for result in catalog.current_results():
        total += meaning(result.associations)
    return total


def generated_meaning(result: GenerationResult) -> Counter:
    return meaning(result.associations)
