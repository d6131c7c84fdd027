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


def assert_find_agrees_with_versions(catalog) -> None:
    """``find`` of every member ever held gives the associations and versions whose
    stored member lists hold it (and says current for those held now), as worked out
    from the ``versions`` table itself: the member intervals must follow every
    opening, closing and reopening of the ingests and withdrawals before."""
    import json

    from roman_asn.catalog.ingest import member_stem
    from roman_asn.catalog.store import reading

    with reading(catalog.engine) as connection:
        rows = connection.exec_driver_sql(
            "SELECT a.name, a.current_version, a.retired_run, v.version, v.members "
            "FROM versions v JOIN associations a ON a.asn_pk = v.asn_pk"
        ).all()
    expected: dict[str, dict[str, tuple[list[int], bool]]] = {}
    for name, current_version, retired, version, members in rows:
        for member in json.loads(members)["members"]:
            held = expected.setdefault(member_stem(member), {})
            versions, current = held.get(name, ([], False))
            now = version == current_version and retired is None
            held[name] = (sorted([*versions, version]), current or now)
    by_stem = {}
    for *_, members in rows:  # one member name per stem to ask with
        for member in json.loads(members)["members"]:
            by_stem.setdefault(member_stem(member), member)
    for stem, member in by_stem.items():
        found = {e["name"]: (e["versions"], e["current"]) for e in catalog.find(member)}
        assert found == expected[stem], member
