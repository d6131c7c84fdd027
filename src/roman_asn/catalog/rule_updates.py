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
from sqlalchemy.engine import Connection

from roman_asn.catalog import schema as t
from roman_asn.rules.loader import Rule


@dataclass(frozen=True)
class RuleUpdate:
    what: str
    undo: Callable[[Sequence[Rule]], list[Rule]]
    rows: Callable[[], sa.ColumnElement[bool]]  # the stored exposures it concerns
    # what the update changes in stored associations without their rows, as new
    # versions made by the run: (connection, rules, run id) -> their names
    rewrite: Callable[[Connection, Sequence[Rule], int], list[str]] | None = None
    # what the update changes in the identity of stored groups, before the run's
    # reconcile: (connection, rules) -> ids of the files whose groups it could not
    # carry over (reconciled with the run's rows)
    rekey: Callable[[Connection, Sequence[Rule]], set[int]] | None = None


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


def _retarget(connection: Connection, rules: Sequence[Rule], run_id: int) -> list[str]:
    """A new version, with the rule's target, of each current association whose rule
    has a fixed target it does not have: its content hash as the engine makes it
    (``ingest.content``), so the next change of its group compares like with like."""
    import polars as pl

    from roman_asn.catalog.ingest import content, decode_members

    fixed = {r.name: r.fixed_target for r in rules if r.fixed_target is not None}
    if not fixed:
        return []
    a, v = t.associations, t.versions
    stored = (
        connection.execute(
            sa.select(a.c.name, a.c.rule, a.c.asn_type, a.c.skycell, a.c.group_text, v)
            .join(v, (v.c.asn_pk == a.c.asn_pk) & (v.c.version == a.c.current_version))
            .where(a.c.rule.in_(sorted(fixed)) & a.c.retired_run.is_(None))
            .order_by(a.c.asn_pk)
        )
        .mappings()
        .all()
    )
    old = [row for row in stored if row["target"] != fixed[row["rule"]]]
    if not old:
        return []
    pairs = [decode_members(row["members"]) for row in old]
    frame = content(
        pl.DataFrame(
            {
                "asn_type": [row["asn_type"] for row in old],
                "rule": [row["rule"] for row in old],
                "target": [fixed[row["rule"]] for row in old],
                "skycell": [row["skycell"] for row in old],
                "exptype": [row["exptype"] for row in old],
                "group": [row["group_text"] for row in old],
                "constraints": [row["constraints"] for row in old],
                "members": [[m for m, _ in p] for p in pairs],
                "exposerr": [[e for _, e in p] for p in pairs],
            },
            schema_overrides={"members": pl.List(pl.Utf8), "exposerr": pl.List(pl.Utf8)},
        )
    )
    versions = []
    for row, target, digest in zip(old, frame["target"], frame["content_hash"], strict=True):
        fields = {c.name: row[c.name] for c in v.columns}
        fields.update(
            version=row["version"] + 1,
            run_id=run_id,
            target=target,
            content_hash=digest,
            retired_run=None,
            retired_reason=None,
        )
        versions.append(fields)
    connection.execute(v.insert(), versions)
    connection.execute(
        a.update()
        .where(a.c.asn_pk == sa.bindparam("pk"))
        .values(current_version=sa.bindparam("v")),
        [{"pk": f["asn_pk"], "v": f["version"]} for f in versions],
    )
    return [row["name"] for row in old]


FOV_RULE = "Asn_Lv2FOV"
GBTDS_RULES = ("Asn_Lv3GBTDSPass", "Asn_Lv3GBTDSFull")


def _without_group_key(names: Sequence[str], key: str) -> Callable[[Sequence[Rule]], list[Rule]]:
    """The rules with group column ``key`` taken out of the rules ``names`` (group_by,
    fill_missing and the [[rule.derive]] that makes it)."""

    def undo(rules: Sequence[Rule]) -> list[Rule]:
        return [
            replace(
                rule,
                group_by=tuple(c for c in rule.group_by if c != key),
                fill_missing={k: v for k, v in rule.fill_missing.items() if k != key},
                derive=tuple(d for d in rule.derive if d.name != key),
            )
            if rule.name in names
            else rule
            for rule in rules
        ]

    return undo


def _rekey_groups(
    names: Sequence[str], key: str
) -> Callable[[Connection, Sequence[Rule]], set[int]]:
    """The re-keying of stored groups of the rules ``names`` that ``key`` was added to
    (last of their group columns): see :func:`_carry_groups`."""

    def rekey(connection: Connection, rules: Sequence[Rule]) -> set[int]:
        left: set[int] = set()
        for rule in rules:
            if rule.name in names:
                left |= _carry_groups(connection, rules, rule, key)
        return left

    return rekey


def _carry_groups(connection: Connection, rules: Sequence[Rule], rule: Rule, key: str) -> set[int]:
    """Give each stored group of ``rule`` the identity the rule now makes of it (its
    value of ``key``, the last group column, among the group values), in place: its
    association keeps its name, and the next file of the group finds it. The value is
    the engine's, from the stored rows of the group's files. A group whose files give
    more than one value (two exposures that old names numbered alike made one FOV; two
    GBTDS sub-surveys made one product), or a file of it none, or that has no
    association, is left to the reconcile: the ids of its files are returned."""
    import polars as pl

    from roman_asn.catalog.ingest import GroupKeys, files_and_groups
    from roman_asn.catalog.store import fetch_all
    from roman_asn.generator.engine import GROUP_SEPARATOR

    keying = GroupKeys.of(connection, list(rules))
    g, a = t.groups, t.associations
    place = f"{keying.index[rule.name]:02d}"
    stored = pl.DataFrame(
        fetch_all(
            connection,
            sa.select(g.c.group_id, g.c.group_key).where(g.c.group_key.like(place + "%")),
        ),
        schema={"group_id": pl.Int64, "group_key": pl.Utf8},
        orient="row",
    )
    if stored.is_empty():
        return set()
    pairs = files_and_groups(connection, stored["group_id"].to_list())
    if rule.keys[-1] != key:  # the stored text cannot be completed: regroup them all
        return set(pairs["file_id"].to_list())
    texts = pl.DataFrame(
        fetch_all(
            connection,
            sa.select(a.c.group_key, a.c.group_text).where(a.c.rule == rule.name),
        ),
        schema={"group_key": pl.Utf8, "group_text": pl.Utf8},
        orient="row",
    )
    values = _key_values(connection, rule, key, pairs["file_id"].unique().sort().to_list())
    per_group = (
        pairs.join(values, on="file_id", how="inner")  # a withdrawn file counts not
        .group_by("group_id")
        .agg(pl.col("value").unique().alias("values"), pl.col("file_id").unique())
        .join(stored, on="group_id", how="right")
        .join(texts, on="group_key", how="left")
    )
    one_value = (pl.col("values").list.len() == 1) & pl.col("values").list.first().is_not_null()
    carried = per_group.filter(pl.col("group_text").is_not_null() & one_value)
    texts_now = []
    for text, value in zip(carried["group_text"], carried["values"].list.first(), strict=True):
        rule_name, asn_type, constraints = text.split(GROUP_SEPARATOR)
        values_text, candidate, acid = constraints.partition(", asn_candidate=")
        constraints = f"{values_text}, {key}={value}{candidate}{acid}"
        texts_now.append(GROUP_SEPARATOR.join([rule_name, asn_type, constraints]))
    moved = keying.of_frame(
        pl.DataFrame({"group": texts_now}, schema={"group": pl.Utf8})
    ).with_columns(carried["group_key"].alias("old"))
    if moved.height:
        connection.execute(
            g.update()
            .where(g.c.group_key == sa.bindparam("old"))
            .values(group_key=sa.bindparam("new")),
            [{"old": o, "new": k} for o, k in zip(moved["old"], moved["key"], strict=True)],
        )
        connection.execute(
            a.update()
            .where(a.c.group_key == sa.bindparam("old"))
            .values(group_key=sa.bindparam("new"), group_text=sa.bindparam("text")),
            [
                {"old": o, "new": k, "text": x}
                for o, k, x in zip(moved["old"], moved["key"], moved["group"], strict=True)
            ],
        )
    left = per_group.filter(pl.col("group_text").is_null() | ~one_value.fill_null(False))
    return set(left["file_id"].explode().drop_nulls().to_list())


def _key_values(connection: Connection, rule: Rule, key: str, file_ids: list[int]):
    """(file_id, value): the value of group column ``key`` the engine gives each stored
    row of these files (not withdrawn) under ``rule``; null for a row the rule leaves
    out. Read back and made a batch of files at a time."""
    import polars as pl

    from roman_asn.catalog.ingest import BATCH, batched, read_files
    from roman_asn.catalog.rows import stored_schema
    from roman_asn.generator.engine import prepare, rule_rows
    from roman_asn.generator.options import GenerateOptions
    from roman_asn.pool.columns import ROW_COLUMN

    schema = stored_schema(connection)
    parts = [pl.DataFrame(schema={"file_id": pl.Int64, "value": pl.Utf8})]
    if schema is None:
        return parts[0]
    for chunk in batched(file_ids, 10 * BATCH):
        rows = read_files(connection, chunk, schema)
        if rows.is_empty():
            continue
        prepared = prepare(rows, [rule], require_runnable=False)
        made = pl.DataFrame(schema={ROW_COLUMN: pl.UInt32, "value": pl.Utf8})
        if prepared.runnable:
            frame = prepared.frames[rule.expand]
            made = rule_rows(rule, frame, GenerateOptions(), members=False).select(
                pl.col(ROW_COLUMN).cast(pl.UInt32), pl.col(key).cast(pl.Utf8).alias("value")
            )
        rows = rows.select(pl.col(ROW_COLUMN).cast(pl.UInt32), "file_id")
        parts.append(rows.join(made, on=ROW_COLUMN, how="left").select("file_id", "value").unique())
    return pl.concat(parts)


UPDATES = (
    RuleUpdate(
        what="WFI_SPECTRAL is a science type (Level 2 spec and FOV associations)",
        undo=_without_exp_type("WFI_SPECTRAL"),
        rows=_exp_type_is("WFI_SPECTRAL"),
    ),
    # the target is no part of an association's meaning (its type, members and
    # product): no row to reconcile, a new version of each stored association
    RuleUpdate(
        what='the Level 3 mosaic and GBTDS associations have the target "None"',
        undo=_without_fixed_targets,
        rows=sa.false,
        rewrite=_retarget,
    ),
    # each stored FOV is re-keyed in place (names kept); a FOV of two exposures that
    # old names numbered alike is split by the reconcile
    RuleUpdate(
        what="a FOV association holds one exposure file's detector files (exposure_stem)",
        undo=_without_group_key([FOV_RULE], "exposure_stem"),
        rows=sa.false,
        rekey=_rekey_groups([FOV_RULE], "exposure_stem"),
    ),
    # the same for the GBTDS sub-survey: each stored GBTDS group is re-keyed in place
    # (names kept); one that holds two sub-surveys is split by the reconcile
    RuleUpdate(
        what="the GBTDS pass and full associations hold one sub-survey (gbtds_subcategory)",
        undo=_without_group_key(GBTDS_RULES, "gbtds_subcategory"),
        rows=sa.false,
        rekey=_rekey_groups(GBTDS_RULES, "gbtds_subcategory"),
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


def rewrite(
    connection: Connection, updates: Sequence[RuleUpdate], rules: Sequence[Rule], run_id: int
) -> list[str]:
    """Apply the updates' rewrites in run ``run_id``: the associations changed."""
    changed: list[str] = []
    for update in updates:
        if update.rewrite is not None:
            changed += update.rewrite(connection, rules, run_id)
    return changed


def files_to_reconcile(
    connection: Connection, updates: Sequence[RuleUpdate], rules: Sequence[Rule]
) -> set[int]:
    """Apply the updates' re-keyings of stored groups (before the run's reconcile, which
    must find the groups under their new keys), then the ids of the files the updates
    leave to the reconcile: those of the groups not re-keyed and those they concern."""
    again: set[int] = set()
    for update in updates:
        if update.rekey is not None:
            again |= update.rekey(connection, rules)
    return again | concerned_files(connection, updates)


def concerned_files(connection, updates: Sequence[RuleUpdate]) -> set[int]:
    """Ids of the files (not withdrawn) whose associations ``updates`` change."""
    if not updates:
        return set()
    e = t.exposures.c
    which = sa.or_(*(u.rows() for u in updates))
    query = sa.select(e.file_id).where(which & e.withdrawn.is_(False))
    return {file_id for (file_id,) in connection.execute(query)}
