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
    """The member intervals give, for every member ever held, the associations and
    versions whose stored member lists hold it (current: held now), as worked out from
    the ``versions`` table itself: they must follow every opening, closing and
    reopening of the ingests and withdrawals before. ``find`` gives the same for a
    sample of members (every stem through ``find`` made a random test 4x slower)."""
    import functools
    import json

    from roman_asn.catalog import stem_blocks
    from roman_asn.catalog.ingest import member_stem
    from roman_asn.catalog.store import reading

    with reading(catalog.engine) as connection:
        rows = connection.exec_driver_sql(
            "SELECT a.asn_pk, a.name, a.current_version, a.retired_run, v.version, v.members "
            "FROM versions v JOIN associations a ON a.asn_pk = v.asn_pk"
        ).all()
        expected: dict[str, dict[str, tuple[list[int], bool]]] = {}
        asked: dict[str, str] = {}  # a member name to ask find with, by stem
        stem_of = functools.cache(member_stem)  # a polars query each
        for _, name, current_version, retired, version, members in rows:
            for member in json.loads(members)["members"]:
                asked.setdefault(stem_of(member), member)
                held = expected.setdefault(stem_of(member), {})
                versions, current = held.get(name, ([], False))
                now = version == current_version and retired is None
                held[name] = (sorted([*versions, version]), current or now)
        stored = stem_blocks.read(connection, list(expected))
    association = {pk: (name, last, retired) for pk, name, last, retired, *_ in rows}
    intervals: dict[str, dict[str, tuple[list[int], bool]]] = {}
    for stem, pk, added, removed in stored.select("stem", "asn_pk", "added", "removed").iter_rows():
        name, last, retired = association[pk]
        open_ = removed == stem_blocks.HELD
        versions, current = intervals.setdefault(stem, {}).get(name, ([], False))
        more = list(range(added, (last if open_ else removed - 1) + 1))
        intervals[stem][name] = (sorted(versions + more), current or (open_ and retired is None))
    assert intervals == expected
    closed = set(stored.filter(pl.col("removed") != stem_blocks.HELD)["stem"].to_list())
    sample = sorted(closed)[:8] + sorted(expected)[::40]
    for stem in sample:
        found = {e["name"]: (e["versions"], e["current"]) for e in catalog.find(asked[stem])}
        assert found == expected[stem], asked[stem]
