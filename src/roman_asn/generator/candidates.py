"""Candidates: which association id a group gets, and dropping identical associations.

Modes a rule chooses with ``candidates = ...``:

- ``each``: one association per candidate a row carries (o/c ids) plus, when
  discovering, one without a candidate (``acid`` null, later a3NNN);
- ``observation``: one per row's observation candidate (Level 2); a row without
  one gets a discovered id;
- ``none``: survey products built from every matching row, discovered id.

Identical associations (same program, asn_type and members) are kept once:
o beats c beats a (discovered), then the smaller id, then the earlier rule.
"""

from __future__ import annotations

import polars as pl

from roman_asn.generator.options import GenerateOptions
from roman_asn.rules.loader import Rule

_ID = pl.element().struct.field("id")
_TYPE = pl.element().struct.field("type").str.to_lowercase()


def in_selected(ids: tuple[str, ...]) -> pl.Expr:
    """True where the row belongs to one of ``ids``."""
    return pl.col("candidates").list.eval(_ID.is_in(list(ids))).list.any().fill_null(False)


def _eligible(rule: Rule, options: GenerateOptions) -> pl.Expr | None:
    conditions = []
    if rule.candidate_types is not None:
        conditions.append(_TYPE.is_in(list(rule.candidate_types)))
    if options.ids:
        conditions.append(_ID.is_in(list(options.ids)))
    if not conditions:
        return None
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = combined & condition
    return combined


def eligible_candidates(rule: Rule, options: GenerateOptions) -> pl.Expr:
    """The list of candidate ids that make an ``each``-mode association for the row."""
    condition = _eligible(rule, options)
    column = pl.col("candidates")
    if condition is not None:
        column = column.list.eval(pl.element().filter(condition))
    return column.list.eval(_ID)


def candidate_id_lists(rule: Rule, options: GenerateOptions) -> tuple[pl.Expr, bool]:
    """Per row, the ids of the associations it makes under ``rule`` (null = discovered),
    and whether the non-null ids are written in this mode."""
    discovered = pl.lit([None], dtype=pl.List(pl.Utf8))
    if rule.candidates == "none":
        return discovered, True
    if rule.candidates == "observation":
        ids = pl.col("candidates").list.eval(
            pl.element().filter(_TYPE == "observation").struct.field("id")
        )
        return pl.when(ids.list.len() > 0).then(ids).otherwise(discovered), True
    # candidate associations are built even when not written: discovered ones identical
    # to them are dropped (jwst's --discover alone)
    ids = eligible_candidates(rule, options)
    if options.discover:
        ids = pl.concat_list([ids, pl.lit(None, dtype=pl.Utf8)])
    return ids, options.all_candidates


def kind_rank() -> pl.Expr:
    """o=0, c=1, a or discovered=2, anything else=3."""
    head = pl.col("acid").str.slice(0, 1).str.to_lowercase()
    return (
        pl.when(pl.col("acid").is_null())
        .then(2)
        .when(head == "o")
        .then(0)
        .when(head == "c")
        .then(1)
        .when(head == "a")
        .then(2)
        .otherwise(3)
    )


def mark_duplicates(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``winner`` (the ``idx`` of the association each one is identical to, itself
    if it is kept). Identical: same program, asn_type, members and product name apart
    from the candidate id (``product_key``), so the visit, pass and full sky-cell
    products of the same files stay apart. Grouping uses a 64-bit hash; only the few
    associations sharing a hash are sorted, their values compared, and the exact
    text used instead where a hash collided."""
    values = ["program", "asn_type", "members", "product_key"]
    identity = pl.col("members").hash(1) ^ pl.struct("program", "asn_type", "product_key").hash(2)
    shares = identity.is_duplicated()
    marked = frame.with_columns(pl.col("idx").alias("winner"))
    candidates = frame.filter(shares)
    if candidates.height == 0:
        return marked
    group = ["__identity"]
    order = ["__identity", "__kind", "acid", "rule_order", "constraints", "idx"]
    shared = candidates.with_columns(identity.alias("__identity"), kind_rank().alias("__kind"))
    shared = shared.sort(order, nulls_last=True)
    same = shared.select(
        pl.all_horizontal([(pl.col(c) == pl.col(c).first().over(group)) for c in values]).all()
    ).item()
    if not same:  # a 64-bit hash collision: use the exact text instead
        text = pl.concat_str(
            [
                pl.col("program").cast(pl.Utf8),
                pl.col("asn_type"),
                pl.col("product_key"),
                pl.col("members").list.join("\n"),
            ],
            separator="\n",
        )
        shared = candidates.with_columns(text.alias("__identity"), kind_rank().alias("__kind"))
        shared = shared.sort(order, nulls_last=True)
    winners = shared.select("idx", pl.col("idx").first().over(group).alias("__winner"))
    return (
        marked.join(winners, on="idx", how="left", maintain_order="left")
        .with_columns(pl.coalesce("__winner", "winner").alias("winner"))
        .drop("__winner")
    )
