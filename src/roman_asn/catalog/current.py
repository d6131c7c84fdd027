"""The catalog's current associations as generation results, for the association writers
(not named export.py: that would shadow the package's ``export`` function once imported).

Export goes through the same outputs as ``generate`` (files in a folder or a bundle),
so the files are written the same way, with the catalog's permanent names.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from roman_asn.catalog import schema as t
from roman_asn.catalog.ingest import decode_members
from roman_asn.generator.engine import GenerationResult
from roman_asn.generator.options import GenerateOptions


def current_results(
    connection: sa.Connection, options: GenerateOptions, since: int | None = None
) -> list[GenerationResult]:
    """One result per pool name (``asn_pool`` is per result), in file-name order."""
    a, v = t.associations, t.versions
    query = (
        sa.select(
            a.c.file_name,
            a.c.rule,
            a.c.level,
            a.c.asn_type,
            a.c.program,
            a.c.asn_id,
            a.c.product_name,
            v.c.target,
            a.c.skycell,
            v.c.constraints,
            v.c.exptype,
            v.c.members,
            v.c.degraded,
            v.c.asn_pool,
        )
        .join(v, (v.c.asn_pk == a.c.asn_pk) & (v.c.version == a.c.current_version))
        .where(a.c.retired_run.is_(None))
        .order_by(a.c.file_name)
    )
    if since is not None:
        query = query.where(v.c.run_id > since)
    rows = connection.execute(query).all()
    if not rows:
        return []
    members = [decode_members(r.members) for r in rows]
    frame = pl.DataFrame(
        {
            "file_name": [r.file_name for r in rows],
            "rule": [r.rule for r in rows],
            "level": [r.level for r in rows],
            "asn_type": [r.asn_type for r in rows],
            "program": [r.program for r in rows],
            "asn_id": [r.asn_id for r in rows],
            "product_name": [r.product_name for r in rows],
            "target": [r.target for r in rows],
            "skycell": [r.skycell for r in rows],
            "constraints": [r.constraints for r in rows],
            "exptype": [r.exptype for r in rows],
            "members": [[m for m, _ in ms] for ms in members],
            "exposerr": [[e for _, e in ms] for ms in members],
            "degraded": [bool(r.degraded) for r in rows],
            "asn_pool": [r.asn_pool for r in rows],
        },
        schema_overrides={
            "members": pl.List(pl.Utf8),
            "exposerr": pl.List(pl.Utf8),
            "target": pl.Utf8,
            "skycell": pl.Utf8,
            "program": pl.Int64,
            "level": pl.Int64,
        },
    )
    results = []
    for (pool,), part in frame.group_by(["asn_pool"], maintain_order=True):
        results.append(
            GenerationResult(
                associations=part.drop("asn_pool"),
                dropped=pl.DataFrame(),
                orphans=pl.DataFrame(),
                options=options,
                asn_pool=pool,
                rules=[],
                n_rows=0,
            )
        )
    return sorted(results, key=lambda r: r.asn_pool)
