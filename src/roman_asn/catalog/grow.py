"""Groups that only gain files: completed from their stored members, not read back.

A file's groups follow from its own row, so a current association whose files were
neither changed nor withdrawn by an ingest, and which the ingest's new files fall in,
now holds exactly its stored members and the members the new files make. Reading
back its files (a mosaic, a GBTDS full product or a deep sky cell holds thousands,
and more every day) would make a day's ingest grow with the catalog; instead the
engine regroups only the rows it reads, and :class:`Completion` replaces each such
group's partial members by the union with the stored ones, before duplicates are
dropped, so the engine's own duplicate, id and naming logic sees the whole group.

Exact where every field of the association follows from its group and members:
rules whose names take no value from the rows beyond their group values (the target,
a minimum over the rows, is merged as one), and second-stage rules, whose members
(products) only grow while their sources only grow. Where the union is not what a
whole regeneration would make (a new file repeating a stored member with another
exposure error), the group is reported back (``unsure``) and read back instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from roman_asn.catalog import schema as t
from roman_asn.catalog.store import fetch_all, is_in
from roman_asn.generator.engine import group_identity, name_fields
from roman_asn.rules.loader import Rule


@dataclass
class Stored:
    """A current association's stored content (its current version)."""

    asn_pk: int
    group_text: str
    members: list[str]
    exposerr: list[str | None]
    target: str | None


def growable_rules(rules: list[Rule], columns: list[str]) -> set[int]:
    """Places (in the rule list) of the rules whose groups can be completed from stored
    members: their association fields follow from the group values and members."""
    places = set()
    for i, rule in enumerate(rules):
        extras = set(name_fields(rule, columns))
        if extras <= {rule.target_column} and not (extras & set(rule.fields)):
            places.add(i)
    return places


def stored_groups(
    connection: Connection, keys: set[str], rules: list[Rule], columns: list[str]
) -> dict[str, Stored]:
    """The current associations of these groups whose rules allow completion, with
    their stored members (keys not in the catalog, or retired, are left out)."""
    from roman_asn.catalog.ingest import batched, decode_members

    places = growable_rules(rules, columns)
    wanted = sorted(k for k in keys if int(k[:2]) in places)
    a, v = t.associations, t.versions
    found: dict[str, Stored] = {}
    for chunk in batched(wanted):
        rows = fetch_all(
            connection,
            sa.select(a.c.group_key, a.c.asn_pk, a.c.group_text, v.c.target, v.c.members)
            .join(v, (v.c.asn_pk == a.c.asn_pk) & (v.c.version == a.c.current_version))
            .where(is_in(connection, a.c.group_key, chunk) & a.c.retired_run.is_(None)),
        )
        for key, pk, text, target, members in rows:
            pairs = decode_members(members)
            found[key] = Stored(pk, text, [m for m, _ in pairs], [e for _, e in pairs], target)
    return found


@dataclass
class Completion:
    """The engine's ``amend`` hook: each stored group's partial association (from the
    rows read) becomes the whole one. ``unsure``: groups it could not complete exactly,
    to be read back; ``added``: per association, the members it gained."""

    stored: dict[str, Stored]
    product_rules: set[str]
    fixed_targets: set[str] = field(default_factory=set)  # rules with a fixed_target
    unsure: set[str] = field(default_factory=set)
    added: dict[int, list[str]] = field(default_factory=dict)

    def __call__(self, made: pl.DataFrame) -> pl.DataFrame:
        if not self.stored:
            return made
        texts = pl.DataFrame(
            {
                "__text": [s.group_text for s in self.stored.values()],
                "__key": list(self.stored),
            }
        )
        matched = made.with_columns(group_identity().alias("__text")).join(
            texts, on="__text", how="inner"
        )
        self.unsure |= set(self.stored) - set(matched["__key"].to_list())
        if matched["__key"].is_duplicated().any():  # never expected: one group, one text
            self.unsure |= set(matched.filter(pl.col("__key").is_duplicated())["__key"])
        members, exposerr, targets, emits = [], [], [], []
        for key, rule, emit, new_members, new_errors, new_target in matched.select(
            "__key", "rule", "emit", "members", "exposerr", "target"
        ).iter_rows():
            old = self.stored[key]
            whole = self._union(key, new_members, new_errors) or (old.members, old.exposerr)
            members.append(whole[0])
            exposerr.append(whole[1])
            # the rule's own (a stored one may be from rules before its fixed_target)
            present = [x for x in (old.target, new_target) if x is not None]
            fixed = rule in self.fixed_targets
            targets.append(new_target if fixed else min(present) if present else None)
            # a second-stage group held min_filters products or more, and only gains
            emits.append(True if rule in self.product_rules else emit)
        completed = pl.DataFrame(
            [
                matched["idx"],
                pl.Series("members", members, dtype=pl.List(pl.Utf8)),
                pl.Series("exposerr", exposerr, dtype=pl.List(pl.Utf8)),
                pl.Series("target", targets, dtype=pl.Utf8),
                pl.Series("emit", emits, dtype=pl.Boolean),
            ]
        )
        return made.update(completed, on="idx", include_nulls=True)

    def _union(
        self, key: str, members: list[str], errors: list[str | None]
    ) -> tuple[list[str], list[str | None]] | None:
        """Stored members with the partial ones, in member order (None: unsure)."""
        old = self.stored[key]
        merged = dict(zip(old.members, old.exposerr, strict=True))
        gained = []
        for member, error in zip(members, errors, strict=True):
            if member not in merged:
                merged[member] = error
                gained.append(member)
            elif error is not None and merged[member] is not None and merged[member] != error:
                self.unsure.add(key)  # which error wins depends on rows not read
                return None
            elif error is not None:  # the first error given wins over none
                merged[member] = error
        if gained:
            self.added[old.asn_pk] = gained
        names = sorted(merged)
        return names, [merged[m] for m in names]

    def gained_stems(self) -> pl.DataFrame:
        """(asn_pk, stem): the member stems each completed association did not hold."""
        from roman_asn.catalog.ingest import stems_of

        def stems(pairs: dict[int, list[str]]) -> pl.DataFrame:
            frame = pl.DataFrame(
                {"asn_pk": list(pairs), "member": list(pairs.values())},
                schema={"asn_pk": pl.Int64, "member": pl.List(pl.Utf8)},
            ).explode("member")
            return stems_of(frame, "member").unique()

        gained = stems(self.added)
        if gained.height == 0:
            return gained
        pks = set(self.added)
        held = stems({s.asn_pk: s.members for s in self.stored.values() if s.asn_pk in pks})
        return gained.join(held, on=["asn_pk", "stem"], how="anti").sort("stem", "asn_pk")
