"""``explain``: which associations one pool row joined, and why not the others.

It runs the whole generation (discovered ids and duplicates depend on every
row), then reads the row's story from the result and the rules' checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from roman_asn.errors import RomanAsnError
from roman_asn.generator.engine import generate, prepare, rule_reasons
from roman_asn.generator.options import GenerateOptions
from roman_asn.pool import Pool
from roman_asn.pool.columns import ROW_COLUMN
from roman_asn.rules.loader import Rule


@dataclass
class Joined:
    file_name: str
    rule: str
    asn_type: str
    asn_id: str
    product_name: str


@dataclass
class RowExplanation:
    pool_row: int
    filename: str
    line: int | None
    joined: list[Joined] = field(default_factory=list)
    not_joined: list[tuple[str, str]] = field(default_factory=list)  # (rule, why)
    # associations this row was in that were not written: (rule, asn_id, product, why)
    dropped: list[tuple[str, str, str, str]] = field(default_factory=list)


def find_rows(pool: Pool, spec: str) -> list[int]:
    """``#N``: the row with pool_row N (0-based, as in the orphans file); else a file name."""
    table = pool.table
    text = spec.strip()
    if text.startswith("#"):
        try:
            number = int(text[1:])
        except ValueError:
            raise RomanAsnError(f"row {spec!r}: expected #N with N a row number") from None
        if not 0 <= number < table.height:
            raise RomanAsnError(
                f"row #{number} is not in the pool (rows #0..#{table.height - 1})", path=pool.path
            )
        return [number]
    rows = table.filter(pl.col("filename") == text)[ROW_COLUMN].to_list()
    if not rows:
        raise RomanAsnError(f"no row has file name {text!r}", path=pool.path)
    return rows


def explain(
    pool: Pool, rules: list[Rule], options: GenerateOptions, spec: str
) -> list[RowExplanation]:
    rows = find_rows(pool, spec)
    result = generate(pool, rules, options)
    prepared = prepare(pool.table, rules)
    wanted = pl.Series(ROW_COLUMN, rows, dtype=pl.UInt32)
    reasons = rule_reasons(prepared, options, wanted.implode())
    out = []
    for row in rows:
        record = pool.table.filter(pl.col(ROW_COLUMN) == row).row(0, named=True)
        where = pool.where(row)
        story = RowExplanation(row, record["filename"], where.get("line"))
        joined = result.associations.filter(pl.col("rows").list.contains(row))
        for item in joined.select(
            "file_name", "rule", "asn_type", "asn_id", "product_name"
        ).iter_rows():
            story.joined.append(Joined(*item))
        joined_rules = set(joined["rule"].to_list())
        dropped = result.dropped.filter(pl.col("rows").list.contains(row))
        for item in (
            dropped.sort("rule", "acid", "product_name")
            .select("rule", "acid", "product_name", "reason")
            .iter_rows()
        ):
            story.dropped.append(item)
        mine = reasons.filter(pl.col(ROW_COLUMN) == row).sort("rule_order")
        for rule, why in mine.select("rule", "reason").iter_rows():
            if rule in joined_rules:
                continue
            if why is None:
                lost = dropped.filter(pl.col("rule") == rule)["reason"].unique().sort().to_list()
                why = "; ".join(lost) if lost else "accepted, but made no association"
            story.not_joined.append((rule, why))
        out.append(story)
    return out
