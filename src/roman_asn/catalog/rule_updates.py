"""Changes of the default rules that a catalog built before them takes in its stride.

A catalog keeps the hash of the rules it was made with and refuses others, because
its associations are what those rules make of its rows. When the default rules
change, a catalog made with the rules as they were is not refused: its first writer
records the new hash and reconciles the stored rows the change concerns (as if they
had just been ingested again), so the catalog holds again, by meaning (type,
members, product), what the new rules make of all its rows. Each update says how to
undo it on a rule set (to recognise the rules a catalog was made with, whatever rule
options were given) and which stored rows it concerns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import sqlalchemy as sa

from roman_asn.catalog import schema as t
from roman_asn.rules.loader import Rule


@dataclass(frozen=True)
class RuleUpdate:
    what: str
    undo: Callable[[Sequence[Rule]], list[Rule]]
    rows: Callable[[], sa.ColumnElement[bool]]  # the stored exposures it concerns


def _without_exp_type(value: str) -> Callable[[Sequence[Rule]], list[Rule]]:
    """The rules with ``value`` taken out of every exp_type selection and type map."""

    def undo(rules: Sequence[Rule]) -> list[Rule]:
        out = []
        for rule in rules:
            selections = tuple(
                replace(s, values=tuple(v for v in s.values if v.upper() != value))
                if [c.lower() for c in s.columns] == ["exp_type"]
                else s
                for s in rule.selections
            )
            types = {k: v for k, v in rule.asn_type_map.items() if k.upper() != value}
            out.append(replace(rule, selections=selections, asn_type_map=types))
        return out

    return undo


def _exp_type_is(value: str) -> Callable[[], sa.ColumnElement[bool]]:
    # a stored row is compact JSON with sorted keys (rows.encode_rows)
    text = f'%"exp_type":"{value.lower()}"%'
    return lambda: sa.func.lower(t.exposures.c.data).like(text)


def _without_fixed_targets(rules: Sequence[Rule]) -> list[Rule]:
    return [replace(rule, fixed_target=None) for rule in rules]


UPDATES = (
    RuleUpdate(
        what="WFI_SPECTRAL is a science type (Level 2 spec and FOV associations)",
        undo=_without_exp_type("WFI_SPECTRAL"),
        rows=_exp_type_is("WFI_SPECTRAL"),
    ),
    # the target is no part of an association's meaning (its type, members and
    # product): associations stored with the pool's target keep it until their groups
    # change, then take "None" in a new version
    RuleUpdate(
        what='the Level 3 mosaic and GBTDS associations have the target "None"',
        undo=_without_fixed_targets,
        rows=sa.false,
    ),
)


def updates_since(stored: str, rules: Sequence[Rule], digest: Callable) -> list[RuleUpdate]:
    """The updates that take rules hashed ``stored`` to ``rules`` (newest last), or []
    when ``rules`` are not the stored ones with updates applied."""
    for count in range(1, len(UPDATES) + 1):
        undone = list(rules)
        for update in reversed(UPDATES[-count:]):
            undone = update.undo(undone)
        if digest(undone) == stored:
            return list(UPDATES[-count:])
    return []


def concerned_files(connection, updates: Sequence[RuleUpdate]) -> set[int]:
    """Ids of the files (not withdrawn) whose associations ``updates`` change."""
    if not updates:
        return set()
    e = t.exposures.c
    which = sa.or_(*(u.rows() for u in updates))
    query = sa.select(e.file_id).where(which & e.withdrawn.is_(False))
    return {file_id for (file_id,) in connection.execute(query)}
