"""Bringing the catalog's associations up to date with new, changed or withdrawn rows.

An ingest regenerates only the groups its rows can touch:

1. ``generate`` over the delta alone names every group (rule, type, group values,
   candidate) a new or changed row falls in; ``file_groups`` adds the groups the
   changed and withdrawn rows were in before.
2. The catalog reads back every file of those groups (and nothing else), and the
   engine runs again over them, each rule over its own touched groups only
   (``rows_by_rule``): each of those groups is now complete.
3. A touched group dropped as identical to an untouched one is checked: the other
   group must be complete too (its file count in the catalog), else its files are
   read as well and step 2 runs again. Untouched groups identical to a touched one
   are reconciled too (a discovered association that became identical to a
   candidate one is retired; one that stopped being identical comes back).
4. Each reconciled group is compared with the catalog: new associations get
   permanent names (numbers never reused), changed ones a new version, emptied or
   duplicated ones are retired with the reason. ``group_files`` and ``file_groups``
   change by the delta's files only: a file's groups follow from its own row.

Everything happens in the caller's one transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from roman_asn.catalog import schema as t
from roman_asn.catalog import stem_blocks, store
from roman_asn.catalog.grow import Completion, stored_groups
from roman_asn.catalog.rows import decode_rows
from roman_asn.catalog.store import BATCH, batched, cut_blocks, fetch_all, is_in
from roman_asn.generator.engine import (
    GROUP_SEPARATOR,
    GenerationResult,
    drop_reasons,
    finish,
    generate,
    group_identity,
    prepare,
    undeduplicated_associations,
)
from roman_asn.generator.naming import (
    ACID_PLACEHOLDER,
    DISCOVERED_SUFFIX,
    discovered_constraints,
)
from roman_asn.generator.options import GenerateOptions
from roman_asn.pool.columns import ROW_COLUMN
from roman_asn.read_ahead import one_ahead
from roman_asn.rules.loader import Rule

BULK_CACHE_KIB = 4 * 1024 * 1024  # SQLite page cache of a first load
RECORD_SLICE = 250_000  # associations recorded at a time by a first load


@dataclass
class Changes:
    """What one reconciliation did: association names by outcome."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    # groups the rules made but dropped (duplicates, too few filters, a product name
    # that is no file name), by reason: said, as generate says "not written"
    not_recorded: Counter = field(default_factory=Counter)
    # (asn_pk, members_added, members_removed) of each version written, when collected:
    # a change list of the run needs no member lists read back (``change_list``)
    diffs: list[pl.DataFrame] | None = None


KEY_FORMAT = "group_keys"  # the settings entry; absent: the catalog's keys are hashes
ORDERED = "ordered"
_LABEL = r"(?:^|, )[^=,]*="  # "program=" of "program=2, visit_token=..."


@dataclass(frozen=True)
class GroupKeys:
    """How a catalog names its groups: the rule's place in the (pinned) rule list, so a
    rule's groups are found from their keys alone, then either a hash of the group's
    identity text (catalogs made before schema 0004) or, ``ordered``, the group values
    (cut to 48 characters) and a shorter hash. Group values grow with time (visits,
    passes, file names), so a day's new keys go to a few places of the key indexes
    instead of one page each: a third of the pages a day's ingest wrote."""

    index: dict[str, int]
    ordered: bool = True

    @classmethod
    def of(cls, connection: Connection, rules: list[Rule]) -> GroupKeys:
        return cls(rule_indexes(rules), ordered=store.setting(connection, KEY_FORMAT) == ORDERED)

    def of_frame(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Add ``key`` to a frame of groups (once: a frame that has it keeps it)."""
        if "key" in frame.columns:
            return frame
        texts = frame["group"]
        parts = texts.str.split(GROUP_SEPARATOR)
        place = (
            parts.list.get(0)
            .replace_strict(self.index, default=99, return_dtype=pl.Int64)
            .cast(pl.Utf8)
            .str.zfill(2)
        )
        digests = [hashlib.sha1(text.encode()).hexdigest() for text in texts.to_list()]
        digest = pl.Series(digests, dtype=pl.Utf8)
        if not self.ordered:
            key = place + digest.str.slice(0, 38)
        else:
            values = parts.list.get(2).str.replace_all(_LABEL, "|").str.slice(0, 48)
            key = place + values + "|" + digest.str.slice(0, 20)
        return frame.with_columns(key.alias("key"))


def member_stem(expname: str) -> str:
    """``r..._wfi01_cal.asdf`` -> ``r..._wfi01``: the product a member comes from."""
    return pl.select(_stem_expr(pl.lit(expname, dtype=pl.Utf8))).item()


EMPTY = "roman_asn.empty_catalog"  # connection.info key, set per reconcile


def _empty(connection: Connection) -> bool:
    """Did the catalog hold no group when this reconcile began?"""
    return bool(connection.info.get(EMPTY))


def _ids_of_keys(connection: Connection, keys: list[str]) -> list[tuple[str, int]]:
    """(group_key, group_id) of these keys that the catalog has."""
    return fetch_all(
        connection,
        sa.select(t.groups.c.group_key, t.groups.c.group_id).where(
            is_in(connection, t.groups.c.group_key, keys)
        ),
    )


ID_BLOCK = np.dtype("<i8")  # the ids of a block: little-endian 64-bit, ascending


def ids_of_block(block: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(block, dtype=ID_BLOCK)


def _blocks_of(connection: Connection, table: sa.Table, ids: list[int]) -> list[tuple]:
    """(owner, first, block) rows of these owners (group ids in ``group_files``, file
    ids in ``file_groups``), by the table's key: no planner joins a whole table."""
    owner, first, block = table.c
    return fetch_all(
        connection, sa.select(owner, first, block).where(is_in(connection, owner, ids))
    )


def _owners_and_ids(rows: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """Blocks as two aligned arrays: the owner of each id, and the id."""
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    arrays = [ids_of_block(block) for _, _, block in rows]
    owners = np.repeat(np.array([o for o, _, _ in rows], np.int64), [len(a) for a in arrays])
    return owners, np.concatenate(arrays).astype(np.int64)


def files_and_groups(connection: Connection, group_ids: Iterable[int]) -> pl.DataFrame:
    """(group_id, file_id): the catalog files of these groups."""
    parts = [pl.DataFrame(schema={"group_id": pl.Int64, "file_id": pl.Int64})]
    for chunk in batched(sorted(set(group_ids))):
        groups, files = _owners_and_ids(_blocks_of(connection, t.group_files, chunk))
        parts.append(pl.DataFrame({"group_id": groups, "file_id": files}))
    return pl.concat(parts)


def files_of_groups(connection: Connection, keys: Iterable[str]) -> pl.DataFrame:
    """(rule, file_id): the catalog files of these groups, with the place of each group's
    rule in the rule list (the first two characters of its key)."""
    parts = [pl.DataFrame(schema={"rule": pl.Int64, "file_id": pl.Int64})]
    if not _empty(connection):
        for chunk in batched(sorted(set(keys))):
            rule_of = {gid: int(key[:2]) for key, gid in _ids_of_keys(connection, chunk)}
            if rule_of:
                pairs = files_and_groups(connection, rule_of)
                rules = pairs["group_id"].replace_strict(rule_of, return_dtype=pl.Int64)
                parts.append(pl.DataFrame({"rule": rules, "file_id": pairs["file_id"]}))
    return pl.concat(parts).unique()


def _lookup(connection: Connection, wanted, key, values: Iterable) -> set:
    """The values of column ``wanted`` in the rows whose ``key`` is among ``values``:
    keyed look-ups of one table, a batch at a time."""
    found: set = set()
    for chunk in batched(sorted(set(values))):
        statement = sa.select(wanted).where(is_in(connection, key, chunk))
        found.update(value for (value,) in fetch_all(connection, statement))
    return found


def groups_of_files(connection: Connection, file_ids: Iterable[int]) -> set[str]:
    """The keys of the groups these files are in (two keyed look-ups, no join)."""
    ids: set[int] = set()
    for chunk in batched(sorted(set(file_ids))):
        ids.update(_owners_and_ids(_blocks_of(connection, t.file_groups, chunk))[1].tolist())
    return _lookup(connection, t.groups.c.group_key, t.groups.c.group_id, ids)


def group_sizes(connection: Connection, keys: Iterable[str]) -> dict[str, int]:
    """How many files each of these groups holds (a file is in one block of a group)."""
    sizes: dict[str, int] = {}
    if _empty(connection):
        return sizes
    g = t.group_files.c
    for chunk in batched(sorted(set(keys))):
        key_of = {gid: key for key, gid in _ids_of_keys(connection, chunk)}
        if key_of:
            rows = connection.execute(
                sa.select(g.group_id, sa.func.sum(sa.func.length(g.files)))
                .where(is_in(connection, g.group_id, sorted(key_of)))
                .group_by(g.group_id)
            )
            sizes.update({key_of[gid]: int(n) // ID_BLOCK.itemsize for gid, n in rows})
    return sizes


def _group_ids(connection: Connection, keys: list[str]) -> pl.DataFrame:
    """(group_key, group_id) of these keys, numbering the keys not seen before."""
    from roman_asn.catalog.store import bulk_insert

    known: list[tuple[str, int]] = []
    for chunk in batched(keys if not _empty(connection) else []):
        known += _ids_of_keys(connection, chunk)
    ids = pl.DataFrame(known, schema={"group_key": pl.Utf8, "group_id": pl.Int64}, orient="row")
    fresh = pl.DataFrame({"group_key": keys}, schema={"group_key": pl.Utf8}).join(
        ids, on="group_key", how="anti"
    )
    if fresh.height:
        start = (connection.execute(sa.select(sa.func.max(t.groups.c.group_id))).scalar() or 0) + 1
        fresh = fresh.with_columns(
            (pl.int_range(pl.len(), dtype=pl.Int64) + start).alias("group_id")
        )
        bulk_insert(connection, t.groups, fresh)
        ids = pl.concat([ids, fresh])
    return ids


def read_files(connection: Connection, file_ids: Iterable[int], schema: pl.Schema) -> pl.DataFrame:
    """The active rows of these files as a pool table, in file-name order, with file_id
    (decoded a batch at a time: a first load reads back millions of rows)."""
    parts = []
    for chunk in batched(sorted(set(file_ids)), 10 * BATCH):
        ids, data = [], []
        for inner in batched(chunk):
            rows = fetch_all(
                connection,
                sa.select(t.exposures.c.file_id, t.exposures.c.data).where(
                    is_in(connection, t.exposures.c.file_id, inner) & ~t.exposures.c.withdrawn
                ),
            )
            for file_id, text in rows:  # a file's pool rows, one JSON object a line
                ids += [file_id] * (text.count("\n") + 1)
                data.append(text)
        parts.append(
            decode_rows(data, schema).with_columns(pl.Series("file_id", ids, dtype=pl.Int64))
        )
    if not parts:
        empty = decode_rows([], schema).with_columns(pl.Series("file_id", [], dtype=pl.Int64))
        parts.append(empty)
    return in_pool_order(parts)


def in_pool_order(tables: list[pl.DataFrame]) -> pl.DataFrame:
    """Rows read by ``read_files`` (each table's ``pool_row`` dropped) as one table in
    file-name order, numbered again: a file's rows keep their order."""
    table = pl.concat([t.drop(ROW_COLUMN, strict=False) for t in tables], how="vertical")
    return table.sort("filename", maintain_order=True).with_row_index(ROW_COLUMN)


def rule_indexes(rules: list[Rule]) -> dict[str, int]:
    return {rule.name: i for i, rule in enumerate(rules)}


@dataclass
class Recording:
    """What every recorded part of one reconciliation shares."""

    rules: list[Rule]
    keying: GroupKeys
    run_id: int
    asn_pool: str
    changes: Changes = field(default_factory=Changes)
    progress: Callable[[str], None] | None = None  # told how far a first load is


def touched_groups(result: GenerationResult, keys: GroupKeys) -> set[str]:
    """Every group the rows of ``result`` fall in, written or dropped (the result's
    frames keep their ``key`` column for later use)."""
    result.associations = keys.of_frame(result.associations)
    result.dropped = keys.of_frame(result.dropped)
    return set(result.associations["key"].to_list()) | set(result.dropped["key"].to_list())


def _rows_by_rule(
    pairs: pl.DataFrame, rules: list[Rule], table: pl.DataFrame, delta_ids: set[int]
) -> dict[str, pl.Series]:
    """Per rule, the table rows of its touched groups (``pairs``: rule, file_id) and of the
    stage-2 groups built on its products, so each rule regroups only what it must."""
    delta = pl.Series(sorted(delta_ids), dtype=pl.Int64)
    files: dict[str, pl.Series] = {}
    for i, rule in enumerate(rules):
        own = pairs.filter(pl.col("rule") == i)["file_id"]
        files[rule.name] = pl.concat([own, delta])
    for rule in rules:
        for source in rule.source_rules:
            if source in files:
                files[source] = pl.concat([files[source], files[rule.name]])
    rows = table.select("file_id", ROW_COLUMN)
    return {
        name: rows.filter(pl.col("file_id").is_in(ids.unique().implode()))[ROW_COLUMN]
        .sort()
        .cast(pl.UInt32)
        for name, ids in files.items()
    }


def reconcile(
    connection: Connection,
    *,
    delta_ids: set[int],
    rules: list[Rule],
    options: GenerateOptions,
    schema: pl.Schema,
    run_id: int,
    asn_pool: str,
    with_diffs: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Changes:
    """Regenerate the groups the files ``delta_ids`` (new, changed or withdrawn, already
    written to ``exposures``) fall in now or fell in before, and record the outcome
    (``with_diffs``: with the members each version gained and lost, ``Changes.diffs``;
    ``progress``: told, sky-cell unit by unit, how far a first load is)."""
    # a first ingest: every lookup of earlier groups, names and sizes would find nothing
    connection.info[EMPTY] = (
        connection.execute(sa.select(t.groups.c.group_id).limit(1)).first() is None
    )
    try:
        recording = Recording(
            rules, GroupKeys.of(connection, rules), run_id, asn_pool, progress=progress
        )
        if with_diffs and not _empty(connection):  # a first load's would hold every member
            recording.changes.diffs = []
        return _reconcile(connection, delta_ids, recording, options, schema)
    finally:
        store.forget(connection, EMPTY)


def _reconcile(connection, delta_ids, recording: Recording, options, schema) -> Changes:
    rules, keying = recording.rules, recording.keying
    before = groups_of_files(connection, delta_ids)  # where they were
    keys = set(before)
    delta = read_files(connection, delta_ids, schema)
    if _empty(connection) and _by_cells(delta, rules):
        return _first_by_cells(connection, delta, delta_ids, recording, options)
    first = None
    if delta.height:  # the groups the delta makes alone: where its files go
        prepared = prepare(delta.drop("file_id"), rules, keep_made=True)
        first = undeduplicated_associations(prepared, options)
        keys |= set(keying.of_frame(first.select(group_identity().alias("group")))["key"])
    # groups that only gain files are completed from their stored members, not read back
    stored = stored_groups(connection, keys - before, rules, delta.columns)
    product_rules = {r.name for r in rules if r.source_rules}
    fixed_targets = {r.name for r in rules if r.fixed_target is not None}
    result, table, completion = None, delta, None
    while True:
        pairs = files_of_groups(connection, keys - set(stored))
        files = set(pairs["file_id"].to_list()) | delta_ids
        if first is not None and not stored and files == set(delta["file_id"].to_list()):
            # nothing else to read: the delta is the whole group set
            result, table = finish(prepared, first, rules, options, asn_pool="none"), delta
        else:
            # the delta was read already: the same rows as reading all again
            table = in_pool_order([delta, read_files(connection, files - delta_ids, schema)])
            scoped = _rows_by_rule(pairs, rules, table, delta_ids)
            completion = Completion(stored, product_rules, fixed_targets)
            result = (
                generate(
                    table.drop("file_id"),
                    rules,
                    options,
                    rows_by_rule=scoped,
                    amend=completion,
                    made_before=_renumbered(
                        prepared.made if first is not None else None, table, delta_ids
                    ),
                )
                if table.height
                else None
            )
            if completion.unsure:  # read those back after all
                stored = {k: v for k, v in stored.items() if k not in completion.unsure}
                continue
        if result is None:
            break
        missing = _incomplete_winners(connection, result, keys, keying)
        if not missing:
            break
        keys |= missing
    grown = completion.gained_stems() if completion is not None else None
    gained = completion.added if completion is not None else None
    with _bulk_load(connection):
        _record(connection, result, table, keys, delta_ids, recording, grown, gained)
    return recording.changes


def _renumbered(
    made: dict[str, pl.DataFrame] | None, table: pl.DataFrame, delta_ids: set[int]
) -> dict[str, pl.DataFrame] | None:
    """The hooks' output for the delta alone (its sky-cell matches), numbered as the
    delta's rows are in ``table``: a file's rows keep their order in both, and the
    delta's are numbered from 0 (``in_pool_order``)."""
    if not made:
        return None
    ids = pl.Series(sorted(delta_ids), dtype=pl.Int64).implode()
    rows = table.filter(pl.col("file_id").is_in(ids))[ROW_COLUMN]
    return {
        hook: frame.with_columns(rows.gather(frame[ROW_COLUMN]).alias(ROW_COLUMN))
        for hook, frame in made.items()
    }


@contextlib.contextmanager
def _bulk_load(connection: Connection) -> Iterator[None]:
    """Into an empty catalog, the bulk indexes are dropped and built again by one sort
    after the load (same transaction)."""
    bulk = [
        index
        for table_ in t.metadata.tables.values()
        for index in table_.indexes
        if index.name in t.BULK_INDEXES and _empty(connection)
    ]
    for index in bulk:
        index.drop(connection)
    sqlite = bulk and connection.dialect.name == "sqlite"
    if sqlite:  # the unique keys are inserted all over their indexes: keep their pages cached
        connection.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    yield
    for index in bulk:
        index.create(connection)
    if sqlite:
        connection.exec_driver_sql(f"PRAGMA cache_size=-{store.CACHE_KIB}")


def _by_cells(delta: pl.DataFrame, rules: list[Rule]) -> bool:
    """A first load large enough to make the sky-cell rules a range of cells at a time."""
    from roman_asn.generator import cell_units

    big = delta.height >= cell_units.BY_CELLS_FROM_ROWS
    return big and cell_units.partitionable(delta.columns, rules)


def _first_by_cells(
    connection, delta: pl.DataFrame, delta_ids, recording: Recording, options
) -> Changes:
    """A first load in parts (the other rules, then units of sky cells): no part's groups
    meet another's (``cell_units``), so each is recorded on its own and memory is set by
    a part, not by the load."""
    from roman_asn.generator import cell_units

    def keyed_parts() -> Iterator[tuple[GenerationResult, set[str]]]:
        for part in cell_units.generate_by_cells(
            delta.drop("file_id"),
            recording.rules,
            options,
            unit_pairs=cell_units.UNIT_PAIRS,
            progress=recording.progress,
        ):
            if part.associations.height or part.dropped.height:
                yield part, touched_groups(part, recording.keying)

    with _bulk_load(connection):
        for part, keys in one_ahead(keyed_parts(), "next-part"):
            for piece in _slices(part, recording.rules):
                _record(connection, piece, delta, keys, delta_ids, recording)
    return recording.changes


def _slices(part: GenerationResult, rules: list[Rule]) -> Iterator[GenerationResult]:
    """A first load's part (the rules outside sky cells: a million Level 2 associations
    and more) a slice of associations at a time, so that recording holds a slice's
    frames, not the part's. The slices follow the order in which ``_assign_names``
    numbers (program, rule, group), so counters continue from slice to slice and the
    names are those of one whole part; the dropped groups go with the first slice."""
    if part.associations.height <= RECORD_SLICE:
        yield part
        return
    place = pl.col("rule").replace_strict(
        rule_indexes(rules), default=len(rules), return_dtype=pl.Int64
    )
    ranked = part.associations.sort(pl.col("program"), place, pl.col("group"))
    for start in range(0, ranked.height, RECORD_SLICE):
        yield replace(
            part,
            associations=ranked.slice(start, RECORD_SLICE),
            dropped=part.dropped if start == 0 else part.dropped.head(0),
        )


def _incomplete_winners(
    connection: Connection, result: GenerationResult, keys: set[str], keying: GroupKeys
) -> set[str]:
    """Keys of untouched groups that beat a touched one as duplicates but were read only
    in part (so the duplicate may be an artefact of the partial read)."""
    dropped = result.dropped.filter(pl.col("duplicate_of").is_not_null())
    if dropped.height == 0:
        return set()
    dropped = keying.of_frame(dropped).filter(
        pl.col("key").is_in(pl.Series(list(keys), dtype=pl.Utf8).implode())
    )
    if dropped.height == 0:
        return set()
    winners = keying.of_frame(
        result.associations.filter(
            pl.col("file_name").is_in(dropped["duplicate_of"].unique().implode())
        ).select("file_name", "group", "rows")
    )
    suspects = {
        k: len(set(rows))
        for k, rows in zip(winners["key"].to_list(), winners["rows"].to_list(), strict=True)
        if k not in keys
    }
    if not suspects:
        return set()
    sizes = group_sizes(connection, suspects)
    return {k for k, n in suspects.items() if sizes.get(k, 0) > n}


def _complete(connection: Connection, frame: pl.DataFrame) -> set[str]:
    """Keys of ``frame``'s groups read whole: no more catalog files than rows here."""
    if frame.height == 0:
        return set()
    counts = frame.select("key", pl.col("rows").list.unique().list.len().alias("n"))
    sizes = group_sizes(connection, counts["key"].to_list())
    return {k for k, n in counts.iter_rows() if sizes.get(k, 0) <= n}


def _reconciled(
    connection: Connection, result: GenerationResult, keys: set[str], keying: GroupKeys
) -> tuple[pl.DataFrame, pl.DataFrame, set[str]]:
    """(current, dropped, keys): the touched groups, and the complete untouched groups with
    the same members as a touched one (their duplicate standing may have changed)."""
    current = keying.of_frame(result.associations)
    dropped = keying.of_frame(result.dropped)
    if _empty(connection):  # a first ingest: every group is touched and whole
        return current, dropped, keys
    touched = pl.Series(sorted(keys), dtype=pl.Utf8).implode()
    hashed = pl.col("members").hash(7)
    in_touched = current.filter(pl.col("key").is_in(touched))
    same_members = set(in_touched.select(hashed)["members"].to_list())
    if same_members:
        alike = pl.Series(sorted(same_members), dtype=pl.UInt64).implode()
        others = current.filter(~pl.col("key").is_in(touched) & hashed.is_in(alike))
        others_dropped = dropped.filter(
            ~pl.col("key").is_in(touched)
            & pl.col("duplicate_of").is_in(in_touched["file_name"].implode())
        )
        extra = _complete(connection, others) | _complete(connection, others_dropped)
        if extra:
            keys = keys | extra
            touched = pl.Series(sorted(keys), dtype=pl.Utf8).implode()
    return (
        current.filter(pl.col("key").is_in(touched)),
        dropped.filter(pl.col("key").is_in(touched)),
        keys,
    )


def _known(connection: Connection, keys: set[str]) -> pl.DataFrame:
    """The catalog's associations of these groups, with their current content hash."""
    a, v = t.associations, t.versions
    rows = []
    for chunk in batched(sorted(keys) if not _empty(connection) else []):
        rows += fetch_all(
            connection,
            sa.select(
                a.c.group_key,
                a.c.asn_pk,
                a.c.name,
                a.c.asn_id,
                a.c.current_version,
                a.c.retired_run,
                v.c.content_hash,
            )
            .join(v, (v.c.asn_pk == a.c.asn_pk) & (v.c.version == a.c.current_version))
            .where(is_in(connection, a.c.group_key, chunk)),
        )
    return pl.DataFrame(
        rows,
        schema={
            "key": pl.Utf8,
            "asn_pk": pl.Int64,
            "name": pl.Utf8,
            "old_asn_id": pl.Utf8,
            "current_version": pl.Int64,
            "retired_run": pl.Int64,
            "old_hash": pl.Utf8,
        },
        orient="row",
    )


def content(frame: pl.DataFrame) -> pl.DataFrame:
    """Add base_constraints, discovered, the members JSON and the content hash."""
    frame = frame.with_columns(
        pl.col("group")
        .str.split(GROUP_SEPARATOR)
        .list.slice(2)
        .list.join(GROUP_SEPARATOR)
        .alias("base_constraints"),
        pl.col("constraints").str.ends_with(DISCOVERED_SUFFIX).alias("discovered"),
        pl.struct("members", "exposerr").struct.json_encode().alias("members_json"),
    )
    payload = frame.select(
        pl.struct(
            "asn_type",
            "rule",
            "target",
            "skycell",
            "exptype",
            "base_constraints",
            "members",
            "exposerr",
        ).struct.json_encode()
    ).to_series()
    digests = [hashlib.sha1(text.encode()).hexdigest() for text in payload.to_list()]
    return frame.with_columns(pl.Series("content_hash", digests, dtype=pl.Utf8))


def _record(
    connection: Connection,
    result: GenerationResult | None,
    table: pl.DataFrame,
    keys: set[str],
    delta_ids: set[int],
    recording: Recording,
    grown: pl.DataFrame | None = None,
    gained: dict[int, list[str]] | None = None,
) -> None:
    """Write the reconciled groups: memberships of the delta, new associations and
    versions, retirements. ``grown``: (asn_pk, stem) of the stems new to associations
    completed from their stored members (``grow``), ``gained``: their new members."""
    from roman_asn.catalog.store import bulk_insert

    if result is None:  # every file of these groups is gone
        current = dropped = None
    else:
        current, dropped, keys = _reconciled(connection, result, keys, recording.keying)
        recording.changes.not_recorded.update(drop_reasons(dropped))
    known = _known(connection, keys)

    # memberships: a file's groups follow from its own row alone, so only the delta's
    # change: changed and withdrawn files leave their groups, the delta joins its own
    if not _empty(connection):
        _leave_groups(connection, delta_ids)
    if result is not None:
        if not _empty(connection):
            table = table.filter(pl.col("file_id").is_in(sorted(delta_ids)))
        delta_rows = table.select(pl.col(ROW_COLUMN).alias("rows"), "file_id")
        pairs = (
            pl.concat([current.select("key", "rows"), dropped.select("key", "rows")])
            .explode("rows")
            .drop_nulls("rows")
            .join(delta_rows, on="rows", how="inner")
            .select(pl.col("key").alias("group_key"), "file_id")
            .unique(maintain_order=True)
        )
        ids = _group_ids(connection, pairs["group_key"].unique().sort().to_list())
        pairs = pairs.join(ids, on="group_key", how="left").select("group_id", "file_id")
        _join_groups(connection, pairs)

    current_keys: set[str] = set(current["key"].to_list()) if current is not None else set()
    # the stored associations of these groups current no more: the run retires them
    # (below), and a new product may take one of their names
    gone = known.filter(
        ~pl.col("key").is_in(pl.Series(sorted(current_keys), dtype=pl.Utf8).implode())
        & pl.col("retired_run").is_null()
    )
    if current is not None and current.height:
        current = content(current).join(known, on="key", how="left")
        fresh = current.filter(pl.col("asn_pk").is_null())
        old = current.filter(
            pl.col("asn_pk").is_not_null()
            & (pl.col("retired_run").is_not_null() | (pl.col("content_hash") != pl.col("old_hash")))
        )
        versions = []
        if old.height:
            old = old.with_columns(
                (pl.col("current_version") + 1).alias("version"),
                pl.col("old_asn_id").alias("asn_id_final"),
            )
            connection.execute(
                t.associations.update()
                .where(t.associations.c.asn_pk == sa.bindparam("pk"))
                .values(current_version=sa.bindparam("v"), retired_run=None, retired_reason=None),
                [{"pk": p, "v": v} for p, v in old.select("asn_pk", "version").iter_rows()],
            )
            # one that comes back after its retirement is changed too, not new: its name
            # and versions go on, and change lists (change_list) say so
            recording.changes.changed += old["name"].to_list()
            versions.append(old)
            _rename_revived_products(
                connection,
                old.filter(pl.col("retired_run").is_not_null()),
                set(gone["key"].to_list()),
                {r.name for r in recording.rules if r.asn_file_name == "product"},
            )
        if fresh.height:
            fresh = _assign_names(
                connection,
                fresh,
                {r.name: r.asn_file_name for r in recording.rules},
                gone["key"].to_list(),
            )
            start = (
                connection.execute(sa.select(sa.func.max(t.associations.c.asn_pk))).scalar() or 0
            ) + 1
            fresh = fresh.with_columns(
                (pl.int_range(pl.len(), dtype=pl.Int64) + start).alias("asn_pk"),
                pl.lit(1, dtype=pl.Int64).alias("version"),
            )
            bulk_insert(
                connection,
                t.associations,
                fresh.select(
                    "asn_pk",
                    pl.col("key").alias("group_key"),
                    pl.col("group").alias("group_text"),
                    "name",
                    pl.col("file_name_final").alias("file_name"),
                    pl.col("product_final").alias("product_name"),
                    "rule",
                    pl.col("rule_order_final").alias("rule_order"),
                    "level",
                    "asn_type",
                    "program",
                    pl.col("asn_id_final").alias("asn_id"),
                    "discovered",
                    "skycell",
                    pl.lit(1, dtype=pl.Int64).alias("current_version"),
                    pl.lit(recording.run_id, dtype=pl.Int64).alias("created_run"),
                ),
            )
            recording.changes.new += fresh["name"].to_list()
            _remember_cells(connection, set(fresh["skycell"].drop_nulls().unique().to_list()))
            versions.append(fresh)
        if versions:
            changed = pl.concat(
                [
                    v.select(
                        "asn_pk",
                        "version",
                        "asn_id_final",
                        "content_hash",
                        "target",
                        "constraints",
                        "base_constraints",
                        "discovered",
                        "exptype",
                        "degraded",
                        "members",
                        "members_json",
                    )
                    for v in versions
                ]
            )
            constraints = (
                pl.when(pl.col("discovered"))
                .then(discovered_constraints(pl.col("base_constraints"), pl.col("asn_id_final")))
                .otherwise(pl.col("constraints"))
            )
            bulk_insert(
                connection,
                t.versions,
                changed.select(
                    "asn_pk",
                    "version",
                    pl.lit(recording.run_id, dtype=pl.Int64).alias("run_id"),
                    "content_hash",
                    pl.lit(recording.asn_pool).alias("asn_pool"),
                    "target",
                    constraints.alias("constraints"),
                    "exptype",
                    pl.col("degraded").cast(pl.Boolean),
                    pl.col("members").list.len().cast(pl.Int64).alias("n_members"),
                    pl.col("members_json").alias("members"),
                ),
            )
            _insert_stems(
                connection,
                changed.select("asn_pk", "version", "members"),
                opened_only={*fresh["asn_pk"].to_list()} if fresh.height else set(),
                grown=grown,
                gained=gained,
                diffs=recording.changes.diffs,
            )

    # retired: reconciled groups that are no longer current
    reasons: dict[str, str] = {}
    if dropped is not None and dropped.height:
        reasons = dict(zip(dropped["key"].to_list(), dropped["reason"].to_list(), strict=True))
    if gone.height:
        retirements = [
            {"pk": pk, "v": version, "why": reasons.get(key) or "left without members"}
            for key, pk, version in gone.select("key", "asn_pk", "current_version").iter_rows()
        ]
        connection.execute(
            t.associations.update()
            .where(t.associations.c.asn_pk == sa.bindparam("pk"))
            .values(retired_run=recording.run_id, retired_reason=sa.bindparam("why")),
            retirements,
        )
        # on the version too, where the history keeps it after a revival
        v = t.versions.c
        connection.execute(
            t.versions.update()
            .where((v.asn_pk == sa.bindparam("pk")) & (v.version == sa.bindparam("v")))
            .values(retired_run=recording.run_id, retired_reason=sa.bindparam("why")),
            retirements,
        )
        recording.changes.retired += gone["name"].to_list()


def _write_blocks(connection: Connection, table: sa.Table, pairs: pl.DataFrame) -> None:
    """Write unique (owner, member) pairs (columns named as the owner columns of
    ``group_files`` and ``file_groups``) to ``table``, one block per owner, in key order
    (each B-tree page is visited once)."""
    from roman_asn.catalog.store import bulk_insert

    owner, first, block = table.c.keys()
    (member,) = set(pairs.columns) - {owner}
    ordered = pairs.select(owner, member).sort(owner, member)
    if ordered.height == 0:
        return
    owners = ordered[owner].to_numpy()
    members = ordered[member].to_numpy().astype(ID_BLOCK)
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    blocks = pl.DataFrame(
        {
            owner: owners[starts],
            first: members[starts].astype(np.int64),
            block: cut_blocks(members, starts),
        },
        schema={owner: pl.Int64, first: pl.Int64, block: pl.Binary},
    )
    bulk_insert(connection, table, blocks)


def _join_groups(connection: Connection, pairs: pl.DataFrame) -> None:
    """Record (group_id, file_id) pairs of files not in those groups before."""
    _write_blocks(connection, t.group_files, pairs)
    _write_blocks(connection, t.file_groups, pairs)


def _leave_groups(connection: Connection, file_ids: set[int]) -> None:
    """Take these files out of every group they are in: their own blocks go, and each
    of their groups' blocks is written again as one, without them."""
    groups: set[int] = set()
    for chunk in batched(sorted(file_ids)):
        groups.update(_owners_and_ids(_blocks_of(connection, t.file_groups, chunk))[1].tolist())
        connection.execute(
            t.file_groups.delete().where(is_in(connection, t.file_groups.c.file_id, chunk))
        )
    leaving = np.array(sorted(file_ids), dtype=np.int64)
    for chunk in batched(sorted(groups)):
        owners, files = _owners_and_ids(_blocks_of(connection, t.group_files, chunk))
        connection.execute(
            t.group_files.delete().where(is_in(connection, t.group_files.c.group_id, chunk))
        )
        kept = ~np.isin(files, leaving)
        remaining = pl.DataFrame({"group_id": owners[kept], "file_id": files[kept]})
        _write_blocks(connection, t.group_files, remaining)


def decode_members(text: str) -> list[tuple[str, str | None]]:
    """A version's members as (expname, exposerr) pairs, in file order."""
    data = json.loads(text)
    return list(zip(data["members"], data["exposerr"], strict=True))


def member_names(text: str) -> list[str]:
    """A version's member names, in file order (:func:`decode_members` without errors)."""
    return json.loads(text)["members"]


MEMBER_NAMES = pl.Struct({"members": pl.List(pl.Utf8)})  # a version's ``members`` JSON


def member_frame(connection: Connection, wanted: pl.DataFrame) -> pl.DataFrame:
    """(asn_pk, version, members): member names of many (association, version) pairs
    (``wanted``), read in batches by the key of ``versions`` (an association has few
    versions: the others are read and dropped) and decoded by polars in one pass."""
    v = t.versions
    rows: list[tuple[int, int, str]] = []
    for chunk in batched(sorted(set(wanted["asn_pk"].to_list()))):
        statement = sa.select(v.c.asn_pk, v.c.version, v.c.members).where(
            is_in(connection, v.c.asn_pk, chunk)
        )
        rows += fetch_all(connection, statement)
    found = pl.DataFrame(
        rows,
        schema={"asn_pk": pl.Int64, "version": pl.Int64, "members": pl.Utf8},
        orient="row",
    )
    return found.join(
        wanted.select(pl.col("asn_pk", "version").cast(pl.Int64)).unique(),
        on=["asn_pk", "version"],
        how="semi",
    ).with_columns(pl.col("members").str.json_decode(MEMBER_NAMES).struct.field("members"))


def _stem_expr(name: pl.Expr) -> pl.Expr:
    """The stem of member names: the file name without its last ``_<suffix>.<ext>``
    (or only ``.<ext>`` when it has no ``_``)."""
    base = name.str.replace(r"^.*/", "")
    return (
        pl.when(base.str.contains("_"))
        .then(base.str.replace(r"_[^_]*$", ""))
        .otherwise(base.str.replace(r"\.[^.]*$", ""))
    )


def stems_of(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """``frame`` with the member names of ``column`` replaced by their ``stem``, worked
    out once per distinct name: a day's members repeat across its associations (1.3M
    names, 20k distinct, at 1M rows)."""
    names = frame.select(pl.col(column).unique())
    stems = names.with_columns(_stem_expr(pl.col(column)).alias("stem"))
    return frame.join(stems, on=column, how="left", maintain_order="left").drop(column)


def _insert_stems(
    connection: Connection,
    frame: pl.DataFrame,
    *,
    opened_only: set[int],
    grown: pl.DataFrame | None = None,
    gained: dict[int, list[str]] | None = None,
    diffs: list[pl.DataFrame] | None = None,
) -> None:
    """Open a (stem, association) interval at this version for each member stem not held
    before, and close the intervals of the stems the new versions no longer hold.
    ``opened_only``: new associations; ``grown``: (asn_pk, stem) of the stems new to
    associations that only gained members (``gained``: those members; neither kind has
    intervals to close, nor are its old ones read). ``diffs``: where to add each
    version's (asn_pk, members_added, members_removed), worked out on the way."""
    grown_pks = set() if grown is None else set(grown["asn_pk"].to_list())
    if diffs is not None:
        diffs.append(_diffs_without_reading(frame, opened_only, grown_pks, gained or {}))
    members = (
        frame.filter(~pl.col("asn_pk").is_in(sorted(grown_pks)))
        .select("asn_pk", "version", "members")
        .explode("members")
        .drop_nulls("members")
    )
    stems = (
        stems_of(members, "members")
        .select("stem", "asn_pk", pl.col("version").alias("added"))
        .unique(["stem", "asn_pk"], maintain_order=True)
    )
    if grown_pks:
        versions = frame.select("asn_pk", pl.col("version").alias("added"))
        stems = pl.concat(
            [stems, grown.join(versions, on="asn_pk").select("stem", "asn_pk", "added")]
        )
    older = sorted(set(frame["asn_pk"].to_list()) - opened_only - grown_pks)
    if older:
        # the open intervals are the stems of the version before (retiring closes none)
        before = frame.select("asn_pk", pl.col("version") - 1).filter(
            pl.col("asn_pk").is_in(pl.Series(older, dtype=pl.Int64).implode())
        )
        held_lists = member_frame(connection, before)
        if diffs is not None:
            diffs.append(_diffs_from(frame, held_lists))
        held = held_lists.explode("members").drop_nulls("members")
        if held.height:
            open_ = (
                stems_of(held.select("members", "asn_pk"), "members")
                .select("stem", "asn_pk")
                .unique()
            )
            versions = frame.select("asn_pk", pl.col("version").alias("removed"))
            gone = open_.join(stems, on=["stem", "asn_pk"], how="anti").join(versions, on="asn_pk")
            stem_blocks.close_intervals(connection, gone)
            stems = stems.join(open_, on=["stem", "asn_pk"], how="anti")
    stem_blocks.open_intervals(connection, stems)


DIFF_SCHEMA = {
    "asn_pk": pl.Int64,
    "members_added": pl.List(pl.Utf8),
    "members_removed": pl.List(pl.Utf8),
}


def member_changes(after: pl.Expr, before: pl.Expr) -> list[pl.Expr]:
    """members_added and members_removed of a version against the one before it (the
    one definition: change lists read from the catalog and made by an ingest agree)."""
    return [
        after.list.set_difference(before).list.sort().alias("members_added"),
        before.list.set_difference(after).list.sort().alias("members_removed"),
    ]


def _diffs_without_reading(
    frame: pl.DataFrame, opened: set[int], grown: set[int], gained: dict[int, list[str]]
) -> pl.DataFrame:
    """The diffs of new associations (every member gained) and of associations that
    only gained members (``gained``), from what the ingest holds."""
    fresh = frame.filter(pl.col("asn_pk").is_in(sorted(opened))).select(
        "asn_pk", *member_changes(pl.col("members"), pl.col("members").list.head(0))
    )
    pks = sorted(grown & set(frame["asn_pk"].to_list()))
    grew = pl.DataFrame(
        {"asn_pk": pks, "gained": [gained.get(pk, []) for pk in pks]},
        schema={"asn_pk": pl.Int64, "gained": pl.List(pl.Utf8)},
    ).select("asn_pk", *member_changes(pl.col("gained"), pl.col("gained").list.head(0)))
    return pl.concat([fresh.cast(DIFF_SCHEMA), grew.cast(DIFF_SCHEMA)])


def _diffs_from(frame: pl.DataFrame, before: pl.DataFrame) -> pl.DataFrame:
    """The diffs of the other versions, against their stored version before (read)."""
    return (
        frame.select("asn_pk", pl.col("version") - 1, "members")
        .join(
            before.select("asn_pk", "version", pl.col("members").alias("old")),
            on=["asn_pk", "version"],
            how="inner",
        )
        .select("asn_pk", *member_changes(pl.col("members"), pl.col("old")))
        .cast(DIFF_SCHEMA)
    )


def _remember_cells(connection: Connection, names: set[str]) -> None:
    if not names:
        return
    from roman_asn.skycells import get_skymap, skycell_wcs_infos

    have = set()
    for chunk in batched(sorted(names)):
        have.update(
            r[0]
            for r in connection.execute(
                sa.select(t.cells.c.name).where(is_in(connection, t.cells.c.name, chunk))
            )
        )
    skymap = get_skymap()
    infos = skycell_wcs_infos([skymap.index_of(n) for n in sorted(names - have)], skymap)
    rows = [{"name": i["name"], "ra": i["ra_center"], "dec": i["dec_center"]} for i in infos]
    if rows:
        connection.execute(t.cells.insert(), rows)


def _reserve(connection: Connection, counts: dict[str, int]) -> dict[str, int]:
    """Reserve ``n`` numbers of each counter; return the first of each (numbers start at 1)."""
    have: dict[str, int] = {}
    for chunk in batched(sorted(counts)):
        have.update(
            connection.execute(
                sa.select(t.counters.c.counter, t.counters.c.value).where(
                    is_in(connection, t.counters.c.counter, chunk)
                )
            ).all()
        )
    fresh = [{"counter": c, "value": n} for c, n in counts.items() if c not in have]
    if fresh:
        connection.execute(t.counters.insert(), fresh)
    bumped = [{"c": c, "v": have[c] + n} for c, n in counts.items() if c in have]
    if bumped:
        connection.execute(
            t.counters.update()
            .where(t.counters.c.counter == sa.bindparam("c"))
            .values(value=sa.bindparam("v")),
            bumped,
        )
    return {c: have.get(c, 0) + 1 for c in counts}


def _template_name(acid: pl.Expr) -> pl.Expr:
    """The product name a group's template makes with its association id ``acid``
    (before any -N that tells products of one name apart)."""
    return pl.col("product_template").str.replace_all(ACID_PLACEHOLDER, acid, literal=True)


def _next_free(base: str, taken: set[str]) -> str:
    """``base-2``, ``base-3``, ...: the first not in ``taken``."""
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _current_products(
    connection: Connection, names: Iterable[str], leaving: set[str]
) -> dict[str, set[int]]:
    """Which current associations (of groups this run does not retire) hold each of
    these product names."""
    a = t.associations.c
    holders: dict[str, set[int]] = {}
    for chunk in batched(sorted(set(names))):
        for name, pk, key in connection.execute(
            sa.select(a.product_name, a.asn_pk, a.group_key).where(
                is_in(connection, a.product_name, chunk) & a.retired_run.is_(None)
            )
        ):
            if key not in leaving:
                holders.setdefault(name, set()).add(pk)
    return holders


def _unique_products(
    connection: Connection, fresh: pl.DataFrame, leaving: set[str]
) -> pl.DataFrame:
    """New products named like a current association's product (of a group this run does
    not retire) take the next free -N after the name their template makes (``__base``),
    free among every current product of that name or its -N and every new one: rare
    (targets that sanitise alike, sub-surveys of one target, arriving on different
    days), so done in Python once a clash is found."""
    if _empty(connection):
        return fresh
    products = fresh["product_final"].unique().to_list()
    clashes = set(_current_products(connection, products, leaving))
    if not clashes:
        return fresh
    names, bases = fresh["product_final"].to_list(), fresh["__base"].to_list()
    taken = set(clashes)
    for base in sorted({b for n, b in zip(names, bases, strict=True) if n in clashes}):
        taken.update(_current_numbered(connection, base, leaving))
    every = set(products) | taken
    final = []
    for name, base in zip(names, bases, strict=True):
        if name in taken:
            name = _next_free(base, every)
            every.add(name)
        final.append(name)
    return fresh.with_columns(pl.Series("product_final", final, dtype=pl.Utf8))


def _rename_revived_products(
    connection: Connection, revived: pl.DataFrame, leaving: set[str], named_by_product: set[str]
) -> None:
    """An association that comes back after its retirement keeps its name; the name of
    its product may have gone to another meanwhile (retired and made in one run: a file
    moved to another GBTDS sub-survey), and then takes the next -N free after the name
    its template makes. One whose file is named after its product keeps both: its name
    was never issued again, so its product was not either."""
    revived = revived.filter(~pl.col("rule").is_in(sorted(named_by_product)))
    if revived.is_empty():
        return
    a = t.associations.c
    own: dict[int, str] = {}
    for chunk in batched(sorted(revived["asn_pk"].to_list())):
        query = sa.select(a.asn_pk, a.product_name).where(is_in(connection, a.asn_pk, chunk))
        own.update((pk, name) for pk, name in connection.execute(query))
    holders = _current_products(connection, own.values(), leaving)
    bases = revived.select("asn_pk", _template_name(pl.col("asn_id_final")))
    renamed = []
    for pk, base in sorted(bases.iter_rows()):
        name = own[pk]
        if not holders.get(name, set()) - {pk}:
            continue
        product = _next_free(base, _current_numbered(connection, base, leaving) | set(holders))
        holders[name].discard(pk)
        holders.setdefault(product, set()).add(pk)
        renamed.append({"pk": pk, "product": product})
    if renamed:
        connection.execute(
            t.associations.update()
            .where(a.asn_pk == sa.bindparam("pk"))
            .values(product_name=sa.bindparam("product")),
            renamed,
        )


def _current_numbered(connection: Connection, base: str, leaving: set[str]) -> set[str]:
    """Current products (of groups this run does not retire) named ``base`` or
    ``base-N``."""
    a = t.associations.c
    rows = _numbered(
        connection, a.product_name, base, also=a.group_key, where=a.retired_run.is_(None)
    )
    return {name for name, key in rows if key not in leaving}


def _numbered(
    connection: Connection, column: sa.Column, base: str, *, also=None, where=None
) -> list[tuple]:
    """Rows (value, ``also``) whose ``column`` is ``base`` or ``base-N``: a range of its
    index in byte order ('-' then digits sort below '.'), which PostgreSQL is asked
    for explicitly (a database's collation may ignore '-')."""
    value = column.collate("C") if connection.dialect.name == "postgresql" else column
    condition = (value >= base) & (value < base + ".")
    if where is not None:
        condition &= where
    columns = [column] if also is None else [column, also]
    numbered = re.compile(re.escape(base) + r"(-\d+)?")
    rows = connection.execute(sa.select(*columns).where(condition))
    return [tuple(row) for row in rows if numbered.fullmatch(row[0])]


def _assign_names(
    connection: Connection,
    fresh: pl.DataFrame,
    asn_file_names: dict[str, str],
    leaving: Iterable[str] = (),
) -> pl.DataFrame:
    """Permanent ids and names for new associations (columns asn_id_final, product_final,
    file_name_final, name, rule_order_final).

    Discovered ids continue the program's count (a3001, a3002, ...), sequence numbers
    the count of their (program, candidate, type), in (program, rule, group) order; a
    name already issued to another association, current or retired, is never issued
    again (-2, -3, ... is added). A product name keeps the -N the generator gave it
    against another of the run's groups, and takes one against a current association's
    product (not one of the groups ``leaving``, retired by this run): two products of
    one name would be written over each other."""
    from roman_asn.generator.naming import asn_file_name, discovered_ids

    # the generator's own -N (product names that clash within its groups)
    generated = (
        pl.when(pl.col("asn_id").is_null())  # left to the catalog: the name keeps the mark
        .then(pl.col("product_template"))
        .otherwise(_template_name(pl.col("asn_id").fill_null("")))
    )
    fresh = fresh.with_columns(
        pl.when(
            pl.col("product_name").str.starts_with(generated)
            & (pl.col("product_name") != generated)
        )
        .then(pl.col("product_name").str.slice(generated.str.len_chars()))
        .otherwise(pl.lit(""))
        .alias("__suffix")
    )
    order = {name: i for i, name in enumerate(asn_file_names)}
    fresh = fresh.with_columns(
        pl.col("rule")
        .replace_strict(order, default=len(order), return_dtype=pl.Int64)
        .alias("rule_order_final"),
        pl.col("rule")
        .replace_strict(asn_file_names, default="dms", return_dtype=pl.Utf8)
        .alias("__file_kind"),
    ).sort(["program", "rule_order_final", "group"])
    # discovered ids
    discovered = fresh.filter(pl.col("discovered"))
    counts = discovered.group_by("program").len()
    starts = _reserve(connection, {f"discovered {p}": n for p, n in counts.iter_rows()})
    fresh = fresh.with_columns(
        pl.when(pl.col("discovered"))
        .then(
            discovered_ids(
                pl.int_range(pl.len()).over(["program", "discovered"])
                + pl.concat_str(
                    [pl.lit("discovered "), pl.col("program").cast(pl.Utf8)]
                ).replace_strict(starts, default=1, return_dtype=pl.Int64)
                - 1
            )
        )
        .otherwise(pl.col("asn_id"))
        .alias("asn_id_final")
    )
    base = _template_name(pl.col("asn_id_final"))
    fresh = fresh.with_columns(
        (base + pl.col("__suffix")).alias("product_final"),
        base.alias("__base"),
        pl.col("asn_id_final").alias("asn_id"),
    ).drop("__suffix")
    fresh = _unique_products(connection, fresh, set(leaving))
    # sequence numbers of DMS file names
    dms = pl.col("__file_kind") != "product"
    counter = pl.concat_str(
        [
            pl.lit("sequence "),
            pl.col("program").cast(pl.Utf8),
            pl.lit(" "),
            pl.col("asn_id_final").str.to_lowercase(),
            pl.lit(" "),
            pl.col("asn_type").str.to_lowercase(),
        ]
    )
    fresh = fresh.with_columns(counter.alias("__counter"))
    counts = fresh.filter(dms).group_by("__counter").len()
    starts = _reserve(connection, dict(counts.iter_rows()))
    fresh = fresh.with_columns(
        (
            pl.int_range(pl.len()).over(["__counter", "__file_kind"])
            + pl.col("__counter").replace_strict(starts, default=1, return_dtype=pl.Int64)
        ).alias("sequence")
    )
    names = (
        pl.when(dms)
        .then(asn_file_name(None).str.replace(r"_asn\.json$", "").alias("x"))
        .otherwise(pl.col("product_final"))
    )
    fresh = fresh.with_columns(pl.col("asn_id_final").alias("asn_id"), names.alias("name"))
    # a name issued before, or twice now, gets -2, -3, ...
    issued: set[str] = set()
    for chunk in batched(fresh["name"].to_list() if not _empty(connection) else []):
        issued.update(
            r[0]
            for r in connection.execute(
                sa.select(t.associations.c.name).where(
                    is_in(connection, t.associations.c.name, chunk)
                )
            )
        )
    clash = fresh["name"].is_duplicated() | fresh["name"].is_in(
        pl.Series(sorted(issued), dtype=pl.Utf8).implode()
    )
    if clash.any():
        # numbered after the name the template makes (products) or the name itself,
        # free among every name ever issued so numbered and the run's own
        kinds, bases = fresh["__file_kind"].to_list(), fresh["__base"].to_list()
        names = fresh["name"].to_list()
        roots = [b if k == "product" else n for n, b, k in zip(names, bases, kinds, strict=True)]
        seen: set[str] = set(issued) | set(names)
        for root in sorted({r for r, c in zip(roots, clash.to_list(), strict=True) if c}):
            seen.update(row[0] for row in _numbered(connection, t.associations.c.name, root))
        kept: set[str] = set()
        final = []
        for name, root, clashing in zip(names, roots, clash.to_list(), strict=True):
            if not clashing or (name not in issued and name not in kept):
                final.append(name)
                kept.add(name)
                continue
            final.append(_next_free(root, seen))
            seen.add(final[-1])
            kept.add(final[-1])
        fresh = fresh.with_columns(pl.Series("__final", final, dtype=pl.Utf8))
        fresh = fresh.with_columns(
            pl.when(pl.col("__file_kind") == "product")
            .then(pl.col("__final"))
            .otherwise(pl.col("product_final"))
            .alias("product_final"),
            pl.col("__final").alias("name"),
        ).drop("__final")
    return fresh.with_columns((pl.col("name") + "_asn.json").alias("file_name_final")).drop(
        "__file_kind", "__counter", "sequence", "__base"
    )
