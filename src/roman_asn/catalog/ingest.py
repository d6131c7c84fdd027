"""Bringing the catalog's associations up to date with new, changed or withdrawn rows.

An ingest regenerates only the groups its rows can touch:

1. ``generate`` over the delta alone names every group (rule, type, group values,
   candidate) a new or changed row falls in; ``group_rows`` adds the groups the
   changed and withdrawn rows were in before.
2. The catalog reads back every file of those groups (and nothing else), and the
   engine runs again over them: each of those groups is now complete.
3. A touched group dropped as identical to an untouched one is checked: the other
   group must be complete too (its file count in the catalog), else its files are
   read as well and step 2 runs again. Untouched groups identical to a touched one
   are reconciled too (a discovered association that became identical to a
   candidate one is retired; one that stopped being identical comes back).
4. Each reconciled group is compared with the catalog: new associations get
   permanent names (numbers never reused), changed ones a new version, emptied or
   duplicated ones are retired with the reason. ``group_rows`` is rewritten for them.

Everything happens in the caller's one transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from roman_asn.catalog import schema as t
from roman_asn.catalog.rows import decode_rows
from roman_asn.generator.engine import GROUP_SEPARATOR, GenerationResult, generate
from roman_asn.generator.naming import ACID_PLACEHOLDER
from roman_asn.generator.options import GenerateOptions
from roman_asn.generator.rules import Rule
from roman_asn.pool.columns import ROW_COLUMN

DISCOVERED_SUFFIX = " (discovered)"
BATCH = 5_000  # values per IN (...) list


@dataclass
class Changes:
    """What one reconciliation did: association names by outcome."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def group_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def member_stem(expname: str) -> str:
    """``r..._wfi01_cal.asdf`` -> ``r..._wfi01``: the product a member comes from."""
    base = expname.rsplit("/", 1)[-1]
    return base.rsplit("_", 1)[0] if "_" in base else base.rsplit(".", 1)[0]


def batched(values: list, size: int = BATCH) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def files_of_groups(connection: Connection, keys: Iterable[str]) -> set[int]:
    found: set[int] = set()
    for chunk in batched(sorted(set(keys))):
        rows = connection.execute(
            sa.select(t.group_rows.c.file_id).where(t.group_rows.c.group_key.in_(chunk))
        )
        found.update(r[0] for r in rows)
    return found


def groups_of_files(connection: Connection, file_ids: Iterable[int]) -> set[str]:
    found: set[str] = set()
    for chunk in batched(sorted(set(file_ids))):
        rows = connection.execute(
            sa.select(t.group_rows.c.group_key).where(t.group_rows.c.file_id.in_(chunk))
        )
        found.update(r[0] for r in rows)
    return found


def group_sizes(connection: Connection, keys: Iterable[str]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for chunk in batched(sorted(set(keys))):
        rows = connection.execute(
            sa.select(t.group_rows.c.group_key, sa.func.count())
            .where(t.group_rows.c.group_key.in_(chunk))
            .group_by(t.group_rows.c.group_key)
        )
        sizes.update({k: n for k, n in rows})
    return sizes


def read_files(connection: Connection, file_ids: Iterable[int], schema: pl.Schema) -> pl.DataFrame:
    """The active rows of these files as a pool table, in file-name order, with file_id."""
    ids, data = [], []
    for chunk in batched(sorted(set(file_ids))):
        rows = connection.execute(
            sa.select(t.exposures.c.file_id, t.exposures.c.data).where(
                t.exposures.c.file_id.in_(chunk) & ~t.exposures.c.withdrawn
            )
        )
        for file_id, text in rows:
            ids.append(file_id)
            data.append(text)
    table = decode_rows(data, schema).with_columns(pl.Series("file_id", ids, dtype=pl.Int64))
    return table.sort("filename").with_row_index(ROW_COLUMN)


def touched_groups(result: GenerationResult) -> set[str]:
    """Every group the rows of ``result`` fall in, written or dropped."""
    texts = pl.concat([result.associations["group"], result.dropped["group"]]).unique()
    return {group_key(text) for text in texts.to_list()}


def reconcile(
    connection: Connection,
    *,
    delta_ids: set[int],
    rules: list[Rule],
    options: GenerateOptions,
    schema: pl.Schema,
    run_id: int,
    asn_pool: str,
) -> Changes:
    """Regenerate the groups the files ``delta_ids`` (new, changed or withdrawn, already
    written to ``exposures``) fall in now or fell in before, and record the outcome."""
    import time

    changes = Changes()
    started = time.perf_counter()
    keys = groups_of_files(connection, delta_ids)  # where they were
    delta = read_files(connection, delta_ids, schema)
    if delta.height:
        keys |= touched_groups(generate(delta.drop("file_id"), rules, options))  # where they go
    changes.seconds["delta"] = time.perf_counter() - started
    while True:
        files = files_of_groups(connection, keys) | delta_ids
        table = read_files(connection, files, schema)
        result = generate(table.drop("file_id"), rules, options) if table.height else None
        if result is None:
            break
        missing = _incomplete_winners(connection, result, keys, table)
        if not missing:
            break
        keys |= missing
    changes.seconds["regenerate"] = time.perf_counter() - started
    _record(connection, result, table, keys, rules, run_id, asn_pool, changes)
    changes.seconds["record"] = time.perf_counter() - started
    return changes


def _file_ids(rows: pl.Series, table: pl.DataFrame) -> pl.Series:
    return table["file_id"].gather(rows.explode().unique().sort())


def _incomplete_winners(
    connection: Connection, result: GenerationResult, keys: set[str], table: pl.DataFrame
) -> set[str]:
    """Keys of untouched groups that beat a touched one as duplicates but were read only
    in part (so the duplicate may be an artefact of the partial read)."""
    by_name = result.associations.select("file_name", "group", "rows")
    dropped = result.dropped.filter(pl.col("duplicate_of").is_not_null())
    if dropped.height == 0:
        return set()
    dropped = dropped.filter(
        pl.col("group").map_elements(lambda g: group_key(g) in keys, return_dtype=pl.Boolean)
    )
    winners = by_name.filter(pl.col("file_name").is_in(dropped["duplicate_of"].unique().implode()))
    suspects = {
        group_key(g): rows
        for g, rows in zip(winners["group"].to_list(), winners["rows"].to_list(), strict=True)
        if group_key(g) not in keys
    }
    if not suspects:
        return set()
    sizes = group_sizes(connection, suspects)
    return {k for k, rows in suspects.items() if sizes.get(k, 0) > len(set(rows))}


def _reconciled(result: GenerationResult | None, keys: set[str], connection: Connection):
    """The groups to record: the touched ones, and complete untouched groups with the same
    members as a touched one (their duplicate standing may have changed)."""
    if result is None:
        return pl.DataFrame(), pl.DataFrame()
    current = result.associations.with_columns(
        pl.col("group").map_elements(group_key, return_dtype=pl.Utf8).alias("key")
    )
    dropped = result.dropped.with_columns(
        pl.col("group").map_elements(group_key, return_dtype=pl.Utf8).alias("key")
    )
    touched_members = set(
        tuple(m) for m in current.filter(pl.col("key").is_in(list(keys)))["members"].to_list()
    )
    others = current.filter(~pl.col("key").is_in(list(keys)))
    if touched_members and others.height:
        same = others.filter(
            pl.col("members").map_elements(
                lambda m: tuple(m) in touched_members, return_dtype=pl.Boolean
            )
        )
        if same.height:
            sizes = group_sizes(connection, same["key"].to_list())
            complete = [
                k
                for k, rows in zip(same["key"].to_list(), same["rows"].to_list(), strict=True)
                if sizes.get(k, 0) <= len(set(rows))
            ]
            keys = keys | set(complete)
    dropped_keys = set(dropped.filter(pl.col("key").is_in(list(keys)))["key"].to_list())
    others_dropped = dropped.filter(
        ~pl.col("key").is_in(list(keys)) & pl.col("duplicate_of").is_not_null()
    )
    if others_dropped.height and touched_members:
        # an untouched group now dropped as identical to a touched one
        winners = set(current.filter(pl.col("key").is_in(list(keys)))["file_name"].to_list())
        flipped = others_dropped.filter(pl.col("duplicate_of").is_in(list(winners)))
        if flipped.height:
            sizes = group_sizes(connection, flipped["key"].to_list())
            keys = keys | {
                k
                for k, rows in zip(flipped["key"].to_list(), flipped["rows"].to_list(), strict=True)
                if sizes.get(k, 0) <= len(set(rows))
            }
            dropped_keys = set(dropped.filter(pl.col("key").is_in(list(keys)))["key"].to_list())
    return (
        current.filter(pl.col("key").is_in(list(keys))),
        dropped.filter(pl.col("key").is_in(list(dropped_keys | (keys - set(current["key"]))))),
    ), keys


def _content_hash(row: dict) -> str:
    payload = [
        row["asn_type"],
        row["rule"],
        row["target"],
        row["skycell"],
        row["exptype"],
        row["base_constraints"],
        list(zip(row["members"], row["exposerr"], strict=True)),
    ]
    return hashlib.sha1(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


def _record(
    connection: Connection,
    result: GenerationResult | None,
    table: pl.DataFrame,
    keys: set[str],
    rules: list[Rule],
    run_id: int,
    asn_pool: str,
    changes: Changes,
) -> None:
    if result is None:
        current, dropped = (
            pl.DataFrame(schema={"key": pl.Utf8}),
            pl.DataFrame(schema={"key": pl.Utf8}),
        )
    else:
        (current, dropped), keys = _reconciled(result, keys, connection)
    # the catalog's state of these groups
    known: dict[str, dict] = {}
    for chunk in batched(sorted(keys)):
        for row in connection.execute(
            sa.select(t.associations).where(t.associations.c.group_key.in_(chunk))
        ).mappings():
            known[row["group_key"]] = dict(row)
    hashes: dict[int, str] = {}
    pks = [a["asn_pk"] for a in known.values()]
    for chunk in batched(pks):
        for asn_pk, content_hash in connection.execute(
            sa.select(t.versions.c.asn_pk, t.versions.c.content_hash)
            .join(t.associations, t.associations.c.asn_pk == t.versions.c.asn_pk)
            .where(
                t.versions.c.asn_pk.in_(chunk)
                & (t.versions.c.version == t.associations.c.current_version)
            )
        ):
            hashes[asn_pk] = content_hash
    asn_file_names = {r.name: r.asn_file_name for r in rules}
    # group_rows: rewrite for every reconciled group that still has rows
    for chunk in batched(sorted(keys)):
        connection.execute(t.group_rows.delete().where(t.group_rows.c.group_key.in_(chunk)))
    group_files: list[dict] = []
    for frame in (current, dropped):
        if frame.height == 0:
            continue
        for key, rows in zip(frame["key"].to_list(), frame["rows"].to_list(), strict=True):
            for file_id in table["file_id"].gather(sorted(set(rows))).to_list():
                group_files.append({"group_key": key, "file_id": file_id})
    from roman_asn.catalog.store import bulk_insert

    seen: set[tuple[str, int]] = set()
    unique_files = []
    for item in group_files:
        pair = (item["group_key"], item["file_id"])
        if pair not in seen:
            seen.add(pair)
            unique_files.append(item)
    bulk_insert(connection, t.group_rows, unique_files)

    # new and changed associations
    current_rows = (
        current.with_columns(
            pl.col("group")
            .str.split(GROUP_SEPARATOR)
            .list.slice(2)
            .list.join(GROUP_SEPARATOR)
            .alias("base_constraints"),
            pl.col("constraints").str.ends_with(DISCOVERED_SUFFIX).alias("discovered"),
        ).sort(["program", "rule", "group"])
        if current.height
        else current
    )
    new_rows: list[dict] = []
    version_rows: list[dict] = []
    stems: list[dict] = []
    current_keys = set()
    for row in current_rows.iter_rows(named=True) if current.height else []:
        key = row["key"]
        current_keys.add(key)
        content = _content_hash(row)
        existing = known.get(key)
        if existing is None:
            new_rows.append(row | {"content_hash": content})
            continue
        retired = existing["retired_run"] is not None
        if not retired and hashes.get(existing["asn_pk"]) == content:
            continue
        version = existing["current_version"] + 1
        constraints = _constraints(row, existing["asn_id"])
        version_rows.append(
            _version(existing["asn_pk"], version, run_id, content, asn_pool, row, constraints)
        )
        stems += _stems(existing["asn_pk"], row["members"])
        connection.execute(
            t.associations.update()
            .where(t.associations.c.asn_pk == existing["asn_pk"])
            .values(current_version=version, retired_run=None, retired_reason=None)
        )
        (changes.new if retired else changes.changed).append(existing["name"])
    if new_rows:
        named = _assign_names(connection, new_rows, asn_file_names)
        for row, (asn_id, product_name, file_name) in zip(new_rows, named, strict=True):
            name = file_name.removesuffix("_asn.json")
            asn_pk = connection.execute(
                t.associations.insert().values(
                    group_key=row["key"],
                    group_text=row["group"],
                    name=name,
                    file_name=file_name,
                    product_name=product_name,
                    rule=row["rule"],
                    rule_order=row.get("rule_order", 0) or 0,
                    level=row["level"],
                    asn_type=row["asn_type"],
                    program=row["program"],
                    asn_id=asn_id,
                    discovered=row["discovered"],
                    skycell=row["skycell"],
                    current_version=1,
                    created_run=run_id,
                )
            ).inserted_primary_key[0]
            constraints = _constraints(row, asn_id)
            version_rows.append(
                _version(asn_pk, 1, run_id, row["content_hash"], asn_pool, row, constraints)
            )
            stems += _stems(asn_pk, row["members"])
            changes.new.append(name)
        _remember_cells(connection, {r["skycell"] for r in new_rows if r["skycell"]})
    bulk_insert(connection, t.versions, version_rows)
    _insert_stems(connection, stems)

    # retired: reconciled groups that are no longer current
    reasons = {}
    if dropped.height:
        reasons = dict(zip(dropped["key"].to_list(), dropped["reason"].to_list(), strict=True))
    for key in sorted(keys - current_keys):
        existing = known.get(key)
        if existing is None or existing["retired_run"] is not None:
            continue
        reason = reasons.get(key) or "left without members"
        connection.execute(
            t.associations.update()
            .where(t.associations.c.asn_pk == existing["asn_pk"])
            .values(retired_run=run_id, retired_reason=reason)
        )
        changes.retired.append(existing["name"])


def _constraints(row: dict, asn_id: str) -> str:
    if row["discovered"]:
        return f"{row['base_constraints']}, asn_candidate={asn_id}{DISCOVERED_SUFFIX}"
    return row["constraints"]


def _version(asn_pk, version, run_id, content, asn_pool, row, constraints) -> dict:
    return {
        "asn_pk": asn_pk,
        "version": version,
        "run_id": run_id,
        "content_hash": content,
        "asn_pool": asn_pool,
        "target": row["target"],
        "constraints": constraints,
        "exptype": row["exptype"],
        "degraded": bool(row["degraded"]),
        "n_members": len(row["members"]),
        "members": json.dumps(
            [list(p) for p in zip(row["members"], row["exposerr"], strict=True)],
            ensure_ascii=False,
        ),
    }


def _stems(asn_pk: int, members: list[str]) -> list[dict]:
    return [{"stem": s, "asn_pk": asn_pk} for s in dict.fromkeys(member_stem(m) for m in members)]


def _insert_stems(connection: Connection, stems: list[dict]) -> None:
    if not stems:
        return
    by_asn: dict[int, set[str]] = {}
    for item in stems:
        by_asn.setdefault(item["asn_pk"], set()).add(item["stem"])
    known: set[tuple[str, int]] = set()
    for chunk in batched(sorted(by_asn)):
        for stem, asn_pk in connection.execute(
            sa.select(t.member_stems.c.stem, t.member_stems.c.asn_pk).where(
                t.member_stems.c.asn_pk.in_(chunk)
            )
        ):
            known.add((stem, asn_pk))
    fresh = [
        {"stem": s, "asn_pk": a}
        for a, found in sorted(by_asn.items())
        for s in sorted(found)
        if (s, a) not in known
    ]
    from roman_asn.catalog.store import bulk_insert

    bulk_insert(connection, t.member_stems, fresh)


def _remember_cells(connection: Connection, names: set[str]) -> None:
    if not names:
        return
    from roman_asn.skycells import skycell_wcs_info

    have = set()
    for chunk in batched(sorted(names)):
        have.update(
            r[0]
            for r in connection.execute(sa.select(t.cells.c.name).where(t.cells.c.name.in_(chunk)))
        )
    rows = []
    for name in sorted(names - have):
        info = skycell_wcs_info(name)
        rows.append({"name": name, "ra": info["ra_center"], "dec": info["dec_center"]})
    if rows:
        connection.execute(t.cells.insert(), rows)


def _next_counter(connection: Connection, counter: str, count: int) -> int:
    """Reserve ``count`` numbers of ``counter``; return the first (numbers start at 1)."""
    value = connection.execute(
        sa.select(t.counters.c.value).where(t.counters.c.counter == counter)
    ).scalar()
    if value is None:
        connection.execute(t.counters.insert().values(counter=counter, value=count))
        return 1
    connection.execute(
        t.counters.update().where(t.counters.c.counter == counter).values(value=value + count)
    )
    return value + 1


def _assign_names(
    connection: Connection, rows: list[dict], asn_file_names: dict[str, str]
) -> list[tuple[str, str, str]]:
    """(asn_id, product name, file name) of new associations, in the rows' order.

    Discovered ids continue the program's count (a3001, a3002, ...), sequence numbers
    the count of their (program, candidate, type); a name already issued to another
    association, current or retired, is never issued again (-2, -3, ... is added)."""
    discovered: dict[int, int] = {}
    for row in rows:
        if row["discovered"]:
            discovered[row["program"]] = discovered.get(row["program"], 0) + 1
    next_id = {
        p: _next_counter(connection, f"discovered {p}", n) for p, n in sorted(discovered.items())
    }
    ids = []
    for row in rows:
        if row["discovered"]:
            number = next_id[row["program"]]
            next_id[row["program"]] += 1
            ids.append(f"a3{number:03d}")
        else:
            ids.append(row["asn_id"])
    sequences: dict[tuple, int] = {}
    for row, asn_id in zip(rows, ids, strict=True):
        if asn_file_names.get(row["rule"]) != "product":
            key = (row["program"], asn_id.lower(), row["asn_type"].lower())
            sequences[key] = sequences.get(key, 0) + 1
    next_seq = {
        key: _next_counter(connection, f"sequence {key[0]} {key[1]} {key[2]}", n)
        for key, n in sorted(sequences.items())
    }
    out = []
    taken: set[str] = set()
    for row, asn_id in zip(rows, ids, strict=True):
        product = row["product_template"].replace(ACID_PLACEHOLDER, asn_id)
        if asn_file_names.get(row["rule"]) == "product":
            stem = product
        else:
            key = (row["program"], asn_id.lower(), row["asn_type"].lower())
            sequence = next_seq[key]
            next_seq[key] += 1
            stem = (
                f"r{row['program']:05d}-{asn_id.lower()}_{row['asn_type'].lower()}_{sequence:03d}"
            )
        out.append([asn_id, product, stem])
        taken.add(stem)
    # names issued before (to other groups) are never reused
    issued: set[str] = set()
    for chunk in batched(sorted(taken)):
        issued.update(
            r[0]
            for r in connection.execute(
                sa.select(t.associations.c.name).where(t.associations.c.name.in_(chunk))
            )
        )
    seen: set[str] = set()
    result = []
    for asn_id, product, stem in out:
        name, n = stem, 1
        while name in issued or name in seen:
            n += 1
            name = f"{stem}-{n}"
        seen.add(name)
        if name != stem and product == stem:
            product = name
        result.append((asn_id, product, name + "_asn.json"))
    return result
