"""The association catalog: ingest pools, keep names and versions, answer questions.

``Catalog.open(location)`` opens (and on first ingest creates) a catalog at a file
path (SQLite) or a ``postgresql://`` URL. Writers (``ingest``, ``withdraw``,
``mark``) each run in one transaction: a failure or a kill leaves the catalog as it
was. Readers see the last committed state and never wait for a writer.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import MISSING, dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa

from roman_asn import __version__
from roman_asn.catalog import rule_updates, stem_blocks
from roman_asn.catalog import schema as t
from roman_asn.catalog.ingest import (
    DIFF_SCHEMA,
    Changes,
    batched,
    member_changes,
    member_frame,
    member_names,
    member_stem,
    reconcile,
)
from roman_asn.catalog.rows import (
    encode_rows,
    merge_schemas,
    row_hashes,
    schema_text,
    stored_schema,
)
from roman_asn.catalog.store import (
    CatalogError,
    bulk_insert,
    check_revision,
    discard_unused_file,
    fetch_all,
    is_in,
    is_url,
    log,
    make_engine,
    reading,
    refresh_statistics,
    setting,
    shown_location,
    upgrade,
    writing,
)
from roman_asn.errors import PoolError, RomanAsnError, first_line
from roman_asn.generator.options import GenerateOptions
from roman_asn.pool import Pool, read_pool
from roman_asn.pool.columns import ROW_COLUMN
from roman_asn.pool.reader import check_duplicate_files
from roman_asn.rules.loader import Rule, load_rules

MULTIBAND = "multiband"


# where a rule was read from is not what it says: another install or checkout of the
# same rules must match (catalogs hashed with the file path are accepted and re-hashed)
_NOT_SAID = frozenset({"source"})


def rules_hash(rules: Sequence[Rule], *, _legacy: bool = False) -> str:
    """A hash of what the rules say: each rule's fields that differ from their defaults,
    so a new field with a default (a code change, not a rule change) keeps the hash."""
    said = []
    for rule in rules:
        fields = {
            f.name: getattr(rule, f.name)
            for f in dataclass_fields(rule)
            if (_legacy or f.name not in _NOT_SAID)
            and (
                (f.default is MISSING and f.default_factory is MISSING)
                or getattr(rule, f.name)
                != (f.default if f.default is not MISSING else f.default_factory())
            )
        }
        said.append(sorted((k, repr(v)) for k, v in fields.items()))
    return hashlib.sha1(repr(said).encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# a first load of at least this many rows writes into the file directly (store.writing)
DIRECT_LOAD_ROWS = 100_000
BYTES_PER_FILE = 11_000  # a SQLite catalog's size per pool file (10.5 GB at 1M, default rules)


@dataclass
class RunReport:
    """What one ingest or withdrawal did."""

    run_id: int
    inputs: list[str]
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    # groups the rules made but dropped, by reason (``Changes.not_recorded``)
    not_recorded: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    # this run's change list (as ``Catalog.changes(frames=True)`` gives it), when asked for
    change_list: dict[str, pl.DataFrame] | None = None
    # the members each version of the run gained and lost, worked out by the ingest
    diffs: pl.DataFrame | None = field(default=None, repr=False)

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "withdrawn": self.withdrawn,
            "new": len(self.new),
            "changed": len(self.changed),
            "retired": len(self.retired),
        }


def processing_stage(level: int, asn_type: str) -> int:
    """Processing order: Level 2, then Level 3, then multiband (over Level 3 products)."""
    if asn_type == MULTIBAND:
        return 2
    return 0 if level <= 2 else 1


def _refuse_no_catalog_file(path: str, missing: str) -> None:
    """Before SQLite opens it: a command that only reads must not turn an empty file
    into a database (opening one writes its header)."""
    place = Path(path)
    if not place.exists():
        raise CatalogError(missing, path=path)
    _refuse_a_special_file(path)
    if place.is_file() and place.stat().st_size == 0:
        raise CatalogError("an empty file, not a catalog", path=path)


def _refuse_a_special_file(path: str) -> None:
    """A device, pipe or socket is no catalog, and SQLite would put its journal beside
    it (``/dev/null-journal``)."""
    place = Path(path)
    if place.exists() and not place.is_file() and not place.is_dir():
        raise CatalogError(
            "not a regular file (a device, pipe or socket), not a catalog", path=path
        )


class Catalog:
    """An association catalog at one location (SQLite file or PostgreSQL URL)."""

    def __init__(self, location: str, engine: sa.Engine, *, made: bool = False) -> None:
        self.location = location
        self.engine = engine
        self._made = made  # this object made the file: a block that fails removes it

    @property
    def where(self) -> str:
        """The location for people: a URL's password is never shown."""
        return shown_location(self.location)  # as given, not the driver's spelling

    @classmethod
    def open(
        cls, location: str | os.PathLike[str], *, create: bool = False, wait: float = 60.0
    ) -> Catalog:
        """Open the catalog; ``create``: make a new one if nothing is there."""
        text = os.fspath(location)
        if not is_url(text) and not create:
            _refuse_no_catalog_file(text, "no catalog here (ingest a pool to create one)")
        if not is_url(text) and create:
            _refuse_a_special_file(text)
            parent = Path(text).parent
            if not parent.is_dir():
                why = "is a file, not a folder" if parent.exists() else "does not exist"
                raise CatalogError(f"folder {parent} {why}", path=text)
        made = not is_url(text) and create and not Path(text).exists()
        if made:
            _refuse_an_uncreatable_file(text)
        engine = make_engine(text, wait=wait)
        try:
            check_revision(engine, text, create=create)
        except BaseException:
            if made:
                discard_unused_file(engine, text)
            engine.dispose()
            raise
        return cls(text, engine, made=made)

    @staticmethod
    def upgrade(
        location: str | os.PathLike[str], progress: Callable[[str], None] | None = None
    ) -> tuple[str | None, str]:
        """Bring an older catalog's schema up to date; return (before, after) revisions.
        ``progress`` is told each revision as it starts."""
        text = os.fspath(location)
        if not is_url(text):
            _refuse_no_catalog_file(text, "no catalog here")
        engine = make_engine(text)
        try:  # a catalog of a newer version, or not a catalog, is refused as by open
            check_revision(engine, text, create=False, older_ok=True)
            return upgrade(engine, progress=progress)
        finally:
            engine.dispose()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        """A new catalog file whose block failed before any run landed (a refused or
        interrupted first ingest) is removed: no empty catalog is left behind."""
        if exc_type is not None and self._made:
            discard_unused_file(self.engine, self.location)
        self.close()

    # settings ---------------------------------------------------------------------------
    def _setting(self, connection, key: str) -> str | None:
        return setting(connection, key)

    def _set(self, connection, key: str, value: str) -> None:
        if self._setting(connection, key) is None:
            connection.execute(t.settings.insert().values(key=key, value=value))
        else:
            connection.execute(
                t.settings.update().where(t.settings.c.key == key).values(value=value)
            )

    def _options(self, connection, data_release_id: str | None) -> GenerateOptions:
        stored = self._setting(connection, "data_release_id")
        if stored is None:
            stored = data_release_id or "p"
            self._set(connection, "data_release_id", stored)
        elif data_release_id is not None and data_release_id != stored:
            raise CatalogError(
                f"the catalog's data release id is {stored!r}, not {data_release_id!r}",
                path=self.where,
            )
        return self._stored_options(stored)

    def _stored_options(self, stored: str) -> GenerateOptions:
        """Run options with the catalog's data release id: one edited into what no
        release id is was said as if the user had typed it, naming no catalog."""
        try:
            return GenerateOptions(data_release_id=stored)
        except RomanAsnError as error:
            raise CatalogError(
                f"stored {error.message}; edited or damaged", path=self.where
            ) from None

    def _check_rules(
        self, connection, rules: Sequence[Rule]
    ) -> tuple[str, list[rule_updates.RuleUpdate]]:
        """The rules' hash, and the changes of the default rules since the catalog was
        made (``rule_updates``; usually none)."""
        digest = rules_hash(rules)
        stored = self._setting(connection, "rules_hash")
        if stored is None or (stored != digest and stored == rules_hash(rules, _legacy=True)):
            self._set(connection, "rules_hash", digest)  # new, or hashed with the file path
        elif stored != digest:
            updates = rule_updates.updates_since(stored, rules, rules_hash)
            if not updates:
                raise CatalogError(
                    "the catalog was built with other rules (rules hash "
                    f"{stored[:12]}, these are {digest[:12]}): use the same rule options",
                    path=self.where,
                )
            for update in updates:
                log.warning("%s: the rules changed since it was made: %s", self.where, update.what)
            self._set(connection, "rules_hash", digest)
            return digest, updates
        return digest, []

    def _start_run(self, connection, kind: str, inputs: list[str], digest: str | None) -> int:
        return connection.execute(
            t.runs.insert().values(
                kind=kind,
                started=_now(),
                code_version=__version__,
                rules_hash=digest,
                inputs=json.dumps(inputs),
                counts="{}",
            )
        ).inserted_primary_key[0]

    def _finish_run(self, connection, report: RunReport) -> None:
        connection.execute(
            t.runs.update()
            .where(t.runs.c.run_id == report.run_id)
            .values(finished=_now(), counts=json.dumps(report.counts()))
        )

    # writing ----------------------------------------------------------------------------
    def ingest(
        self,
        pools: Iterable[str | os.PathLike[str] | Pool],
        rules: list[Rule] | None = None,
        *,
        data_release_id: str | None = None,
        with_changes: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> RunReport:
        """Add or update the pools' rows, then bring the associations up to date.
        ``with_changes``: also list this run's changes (``report.change_list``), read in
        its own transaction, so no other writer's run can slip in between. ``progress``
        is told how far a first load is (its sky-cell units, as ``generate`` says)."""
        started = time.perf_counter()
        rules = load_rules() if rules is None else rules
        read = [p if isinstance(p, Pool) else read_pool(p) for p in pools]  # all checked first
        names = [p.name for p in read]
        delta = _delta_table(read)
        direct = delta.height >= DIRECT_LOAD_ROWS and self._holds_no_file()
        self._warn_if_short_of_disk(delta.height, logged=not direct)
        with writing(self.engine, direct=direct) as connection:
            digest, updates = self._check_rules(connection, rules)
            options = self._options(connection, data_release_id)
            run_id = self._start_run(connection, "ingest", names, digest)
            report = RunReport(run_id=run_id, inputs=names, rows=sum(len(p) for p in read))
            schema = self._schema(connection)
            for pool in read:
                schema = merge_schemas(schema, pool.table.schema)
            self._set(connection, "schema", schema_text(schema))
            again = rule_updates.files_to_reconcile(connection, updates, rules)
            touched = self._upsert(connection, delta, run_id, report) | again
            # the reconcile reads its rows back from the catalog (typed as stored): let the
            # pools and the delta go (a first load of millions of rows holds gigabytes)
            del delta
            read.clear()
            if touched:
                changes = reconcile(
                    connection,
                    delta_ids=touched,
                    rules=rules,
                    options=options,
                    schema=schema,
                    run_id=run_id,
                    asn_pool=names[0] if len(names) == 1 else "+".join(names),
                    with_diffs=with_changes,
                    progress=progress,
                )
                _fill(report, changes)
            self._rewrite(connection, updates, rules, report)
            self._refresh_if_grown(connection, report.added + report.updated)
            self._finish(connection, report, started, with_changes)
        return report

    def _holds_no_file(self) -> bool:
        with reading(self.engine) as connection:
            return not _holds_files(connection)

    def _warn_if_short_of_disk(self, files: int, *, logged: bool = True) -> None:
        """Say so before an ingest that will likely fill the disk of a SQLite catalog: it
        grows by about BYTES_PER_FILE a file, and (``logged``) its write-ahead log holds
        as much again until the commit (a full disk leaves the catalog as it was, after
        the time the ingest took; a 3M-row first load needs about 30 GB)."""
        if is_url(self.location):
            return
        need = (2 if logged else 1) * BYTES_PER_FILE * files
        free = shutil.disk_usage(Path(self.location).resolve().parent).free
        if free < need:
            log.warning(
                "ingesting %s files into %s needs about %s of free disk (%s); %s free",
                f"{files:,}",
                self.where,
                _size(need),
                "the catalog and, until the commit, its write-ahead log"
                if logged
                else "the catalog",
                _size(free),
            )

    def withdraw(
        self, files: Iterable[str], rules: list[Rule] | None = None, *, with_changes: bool = False
    ) -> RunReport:
        """Take files out (bad data): their associations are updated and versioned
        (``with_changes`` as for :meth:`ingest`)."""
        started = time.perf_counter()
        rules = load_rules() if rules is None else rules
        names = sorted({Path(f).name for f in files})
        with writing(self.engine) as connection:
            digest, updates = self._check_rules(connection, rules)
            again = rule_updates.files_to_reconcile(connection, updates, rules)
            options = self._options(connection, None)
            found = {}
            for chunk in batched(names):
                found.update(
                    connection.execute(
                        sa.select(t.exposures.c.filename, t.exposures.c.file_id).where(
                            is_in(connection, t.exposures.c.filename, chunk)
                            & ~t.exposures.c.withdrawn
                        )
                    ).all()
                )
            unknown = [n for n in names if n not in found]
            if unknown:
                more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
                raise CatalogError(
                    f"not in the catalog (or already withdrawn): {unknown[0]}{more}",
                    path=self.where,
                )
            run_id = self._start_run(connection, "withdraw", names, digest)
            report = RunReport(run_id=run_id, inputs=names, withdrawn=len(found))
            ids = set(found.values())
            for chunk in batched(sorted(ids)):
                connection.execute(
                    t.exposures.update()
                    .where(is_in(connection, t.exposures.c.file_id, chunk))
                    .values(withdrawn=True, last_run=run_id)
                )
            schema = self._schema(connection)
            changes = reconcile(
                connection,
                delta_ids=ids | again,
                rules=rules,
                options=options,
                schema=schema,
                run_id=run_id,
                asn_pool="withdrawal",
                with_diffs=with_changes,
            )
            _fill(report, changes)
            self._rewrite(connection, updates, rules, report)
            self._refresh_if_grown(connection, report.withdrawn)
            self._finish(connection, report, started, with_changes)
        return report

    @staticmethod
    def _rewrite(connection, updates, rules: Sequence[Rule], report: RunReport) -> None:
        """The default-rules changes that make new versions without rows (after the
        reconcile: what it touched has them already), counted as changed."""
        if updates:
            rewritten = rule_updates.rewrite(connection, updates, rules, report.run_id)
            report.changed = sorted({*report.changed, *rewritten})

    def _finish(self, connection, report: RunReport, started: float, with_changes: bool) -> None:
        if with_changes:
            report.change_list = change_list(connection, report.run_id - 1, report.diffs)
        report.seconds = time.perf_counter() - started
        self._finish_run(connection, report)

    def _refresh_if_grown(self, connection, changed_files: int) -> None:
        """Refresh the planner's statistics when a write changed a tenth of the files or
        more (a first load above all); smaller days are left to the database's own
        auto-analyze, as refreshing costs seconds on big tables."""
        # the highest file id (ids are issued in order) stands for the file count: read
        # from the key's end, where a count reads a whole index (grows with the catalog)
        total = connection.execute(sa.select(sa.func.max(t.exposures.c.file_id))).scalar()
        if changed_files and changed_files * 10 >= (total or 0):
            refresh_statistics(connection)

    def _schema(self, connection) -> pl.Schema | None:
        return stored_schema(connection)

    def _upsert(self, connection, delta: pl.DataFrame, run_id: int, report: RunReport) -> set[int]:
        """Insert new files, update changed ones; return the file ids that changed."""
        e = t.exposures
        known: list[tuple] = []
        if _holds_files(connection):
            for chunk in batched(delta["filename"].to_list()):
                known += fetch_all(
                    connection,
                    sa.select(e.c.filename, e.c.file_id, e.c.row_hash, e.c.withdrawn).where(
                        is_in(connection, e.c.filename, chunk)
                    ),
                )
        stored = pl.DataFrame(
            known,
            schema={
                "filename": pl.Utf8,
                "file_id": pl.Int64,
                "row_hash": pl.Utf8,
                "withdrawn": pl.Boolean,
            },
            orient="row",
        )
        frame = delta.select(
            "filename",
            pl.col("__data").alias("data"),
            pl.col("__hash").alias("new_hash"),
            (pl.col("program") if "program" in delta.columns else pl.lit(None)).alias("program"),
            (
                pl.col("start_time").cast(pl.Utf8)
                if "start_time" in delta.columns
                else pl.lit(None, dtype=pl.Utf8)
            ).alias("start_time"),
        ).join(stored, on="filename", how="left")
        fresh = frame.filter(pl.col("file_id").is_null())
        changed = frame.filter(
            pl.col("file_id").is_not_null()
            & ((pl.col("row_hash") != pl.col("new_hash")) | pl.col("withdrawn"))
        )
        touched = set(changed["file_id"].to_list())
        report.updated = changed.height
        report.unchanged = frame.height - fresh.height - changed.height
        report.added = fresh.height
        if changed.height:
            connection.execute(
                e.update()
                .where(e.c.file_id == sa.bindparam("id"))
                .values(
                    data=sa.bindparam("d"),
                    row_hash=sa.bindparam("h"),
                    withdrawn=False,
                    program=sa.bindparam("p"),
                    start_time=sa.bindparam("s"),
                    last_run=run_id,
                ),
                [
                    {"id": i, "d": d, "h": h, "p": p, "s": st}
                    for i, d, h, p, st in changed.select(
                        "file_id", "data", "new_hash", "program", "start_time"
                    ).iter_rows()
                ],
            )
        del frame, changed
        bulk_insert(
            connection,
            e,
            fresh.select(
                "filename",
                "program",
                "start_time",
                "data",
                pl.col("new_hash").alias("row_hash"),
                pl.lit(False).alias("withdrawn"),
                pl.lit(run_id, dtype=pl.Int64).alias("first_run"),
                pl.lit(run_id, dtype=pl.Int64).alias("last_run"),
            ),
        )
        for chunk in batched(fresh["filename"].to_list()):
            touched.update(
                r[0]
                for r in connection.execute(
                    sa.select(e.c.file_id).where(is_in(connection, e.c.filename, chunk))
                )
            )
        return touched

    def mark(
        self,
        names: Iterable[str] | None = None,
        *,
        all_current: bool = False,
        failed: bool = False,
        product_paths: dict[str, str] | None = None,
        listed_in: str | None = None,
    ) -> int:
        """Record that the current version of these associations was processed (or failed).
        ``listed_in``: where the names come from, for errors."""
        wanted = [_asn_name(n) for n in (names or [])]
        with writing(self.engine) as connection:
            query = sa.select(
                t.associations.c.asn_pk, t.associations.c.name, t.associations.c.current_version
            ).where(t.associations.c.retired_run.is_(None))
            rows: list[Any] = []
            if all_current:
                rows = connection.execute(query).all()
            else:
                for chunk in batched(wanted):
                    rows += connection.execute(
                        query.where(is_in(connection, t.associations.c.name, chunk))
                    ).all()
                unknown = sorted(set(wanted) - {r.name for r in rows})
                if unknown:
                    raise CatalogError(
                        f"no current association named {unknown[0]}"
                        + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
                        + (f", listed in {listed_in}" if listed_in else ""),
                        path=self.where,
                    )
            run_id = self._start_run(connection, "mark", sorted(r.name for r in rows)[:100], None)
            paths = product_paths or {}
            bulk_insert(
                connection,
                t.processing,
                [
                    {
                        "asn_pk": r.asn_pk,
                        "version": r.current_version,
                        "run_id": run_id,
                        "status": "failed" if failed else "processed",
                        "product_path": paths.get(r.name),
                    }
                    for r in rows
                ],
            )
            connection.execute(
                t.runs.update()
                .where(t.runs.c.run_id == run_id)
                .values(finished=_now(), counts=json.dumps({"marked": len(rows)}))
            )
        return len(rows)

    # reading ----------------------------------------------------------------------------
    def runs(self) -> list[dict]:
        with reading(self.engine) as connection:
            rows = connection.execute(sa.select(t.runs).order_by(t.runs.c.run_id)).mappings()
            return [
                dict(r) | {"inputs": json.loads(r["inputs"]), "counts": json.loads(r["counts"])}
                for r in rows
            ]

    def check_run(self, since: int) -> int:
        """``since`` if the catalog has had such a run, else a CatalogError."""
        with reading(self.engine) as connection:
            return self._check_run(connection, since)

    def _check_run(self, connection, since: int) -> int:
        """``since`` as given, if the catalog has had that many runs: a run not made
        yet (a typo, another catalog's number) would list nothing, silently."""
        last = connection.execute(sa.select(sa.func.max(t.runs.c.run_id))).scalar() or 0
        if since < 0 or since > last:
            raise CatalogError(
                f"no run {since}: this catalog's runs are 1 to {last} (0: from the start)",
                path=self.where,
            )
        return since

    def _default_since(self, connection, since: int | None) -> int:
        if since is not None:
            return self._check_run(connection, since)
        ids = (
            connection.execute(
                sa.select(t.runs.c.run_id)
                .where(t.runs.c.kind.in_(["ingest", "withdraw"]))
                .order_by(t.runs.c.run_id.desc())
                .limit(2)
            )
            .scalars()
            .all()
        )
        return ids[1] if len(ids) > 1 else 0

    def changes(self, since: int | None = None, *, frames: bool = False) -> dict[str, Any]:
        """New, changed and retired associations after run ``since`` (default: the runs
        after the one before the last), in processing order, with members added/removed:
        lists of entries, or (``frames``) a polars frame per kind."""
        with reading(self.engine) as connection:
            found = change_list(connection, self._default_since(connection, since))
        return found if frames else as_dicts(found)

    def stale(self) -> list[dict]:
        """The reprocessing plan: current associations never processed, or processed at
        an older version (or failed), and those consuming their products, in order."""
        with reading(self.engine) as connection:
            a, p = t.associations, t.processing
            latest = (
                sa.select(p.c.asn_pk, sa.func.max(p.c.version).label("version"))
                .where(p.c.status == "processed")
                .group_by(p.c.asn_pk)
                .subquery()
            )
            failed = sa.select(p.c.asn_pk, p.c.version).where(p.c.status == "failed").subquery()
            rows = (
                connection.execute(
                    sa.select(a, latest.c.version.label("processed"))
                    .outerjoin(latest, latest.c.asn_pk == a.c.asn_pk)
                    .where(a.c.retired_run.is_(None))
                    .where(latest.c.version.is_(None) | (latest.c.version < a.c.current_version))
                )
                .mappings()
                .all()
            )
            failures = {(r.asn_pk, r.version) for r in connection.execute(sa.select(failed)).all()}
            plan: dict[int, dict] = {}
            for row in rows:
                if row["processed"] is None:
                    why = "never processed"
                else:
                    why = (
                        f"processed version {row['processed']}, current version is "
                        f"{row['current_version']}"
                    )
                if (row["asn_pk"], row["current_version"]) in failures:
                    why += " (its last processing failed)"
                plan[row["asn_pk"]] = _entry(row) | {"reason": why}
            # consumers of stale products, transitively (Level 2 -> 3 -> multiband)
            frontier = dict(plan)
            while frontier:
                products = {e["product_name"]: e["name"] for e in frontier.values()}
                frontier = {}
                # each consumer once, for the first of its stale products (by name)
                held = (
                    stem_blocks.read(connection, products)
                    .filter(pl.col("removed") == stem_blocks.HELD)
                    .filter(~pl.col("asn_pk").is_in(sorted(plan)))
                    .sort("stem")
                    .unique("asn_pk", keep="first")
                )
                consumed = dict(held.select("asn_pk", "stem").iter_rows())
                for chunk in batched(sorted(consumed)):
                    found = (
                        connection.execute(
                            sa.select(a).where(
                                is_in(connection, a.c.asn_pk, chunk) & a.c.retired_run.is_(None)
                            )
                        )
                        .mappings()
                        .all()
                    )
                    for row in found:
                        stem = consumed[row["asn_pk"]]
                        entry = _entry(row) | {
                            "reason": f"consumes the product of stale {products[stem]}"
                        }
                        plan[row["asn_pk"]] = frontier[row["asn_pk"]] = entry
            return sorted(plan.values(), key=_processing_key)

    def find(self, filename: str) -> list[dict]:
        """Every association, current or past version, that holds the file."""
        with reading(self.engine) as connection:  # which says so if the name is not text
            stem = member_stem(Path(filename).name)
            intervals = stem_blocks.read(connection, [stem])
            a = t.associations
            rows = {
                row["asn_pk"]: row
                for row in connection.execute(
                    sa.select(a).where(
                        is_in(connection, a.c.asn_pk, intervals["asn_pk"].unique().to_list())
                    )
                )
                .mappings()
                .all()
            }
            held: dict[int, dict] = {}
            for pk, added, removed in intervals.select("asn_pk", "added", "removed").iter_rows():
                row = rows[pk]
                held_now = removed == stem_blocks.HELD
                last = row["current_version"] if held_now else removed - 1
                entry = held.setdefault(pk, _entry(row) | {"versions": [], "current": False})
                entry["versions"] += list(range(added, last + 1))
                if held_now and row["retired_run"] is None:
                    entry["current"] = True
            for entry in held.values():
                entry["versions"].sort()
            return sorted(held.values(), key=_processing_key)

    def cell(self, skycell: str) -> list[dict]:
        """Current associations on this sky cell."""
        from roman_asn.skycells.skymap import NAME_PATTERN

        if NAME_PATTERN.match(skycell) is None:
            raise CatalogError(
                f"{skycell!r} is not a sky-cell name (expected e.g. 270p65x48y69)",
                path=self.where,
            )
        with reading(self.engine) as connection:
            a = t.associations
            rows = (
                connection.execute(
                    sa.select(a).where((a.c.skycell == skycell) & a.c.retired_run.is_(None))
                )
                .mappings()
                .all()
            )
            if not rows and not _knows_cell(connection, skycell):
                _check_cell_exists(skycell, self.where)
            return sorted((_entry(r) for r in rows), key=_processing_key)

    def cone(self, ra: float, dec: float, radius: float) -> list[dict]:
        """Current associations on sky cells whose centre is within ``radius`` degrees."""
        with reading(self.engine) as connection:
            cells = connection.execute(sa.select(t.cells)).all()
            if not cells:
                return []
            names = np.array([c.name for c in cells])
            cra = np.radians([c.ra for c in cells])
            cdec = np.radians([c.dec for c in cells])
            r0, d0 = np.radians(ra), np.radians(dec)
            cosd = np.sin(d0) * np.sin(cdec) + np.cos(d0) * np.cos(cdec) * np.cos(cra - r0)
            near = names[np.degrees(np.arccos(np.clip(cosd, -1, 1))) <= radius].tolist()
            a = t.associations
            out = []
            for chunk in batched(sorted(near)):
                out += (
                    connection.execute(
                        sa.select(a).where(
                            is_in(connection, a.c.skycell, chunk) & a.c.retired_run.is_(None)
                        )
                    )
                    .mappings()
                    .all()
                )
            return sorted((_entry(r) for r in out), key=_processing_key)

    def show(self, name: str) -> dict:
        """An association's current version and its history (which run changed what)."""
        name = _asn_name(name)
        with reading(self.engine) as connection:
            row = (
                connection.execute(sa.select(t.associations).where(t.associations.c.name == name))
                .mappings()
                .first()
            )
            if row is None:
                raise CatalogError(f"no association named {name}", path=self.where)
            history = []
            previous: list[str] = []
            versions = (
                connection.execute(
                    sa.select(t.versions, t.runs.c.started, t.runs.c.inputs)
                    .join(t.runs, t.runs.c.run_id == t.versions.c.run_id)
                    .where(t.versions.c.asn_pk == row["asn_pk"])
                    .order_by(t.versions.c.version)
                )
                .mappings()
                .all()
            )
            for v in versions:
                members = member_names(v["members"])
                history.append(
                    {
                        "version": v["version"],
                        "run": v["run_id"],
                        "time": v["started"],
                        "inputs": json.loads(v["inputs"]),
                        "members": len(members),
                        "members_added": sorted(set(members) - set(previous)),
                        "members_removed": sorted(set(previous) - set(members)),
                        "retired_run": v["retired_run"],
                        "retired_reason": v["retired_reason"],
                    }
                )
                previous = members
            processed = (
                connection.execute(
                    sa.select(t.processing).where(t.processing.c.asn_pk == row["asn_pk"])
                )
                .mappings()
                .all()
            )
            return _entry(row) | {
                "version": row["current_version"],
                "retired_reason": row["retired_reason"],
                "members": previous,
                "history": history,
                "processing": [
                    {k: p[k] for k in ("version", "run_id", "status", "product_path")}
                    for p in processed
                ],
            }

    def stats(self) -> dict:
        with reading(self.engine) as connection:
            a, e = t.associations, t.exposures

            def count(query) -> int:
                return int(connection.execute(query).scalar() or 0)

            by_type = connection.execute(
                sa.select(a.c.level, a.c.asn_type, sa.func.count())
                .where(a.c.retired_run.is_(None))
                .group_by(a.c.level, a.c.asn_type)
                .order_by(a.c.level, a.c.asn_type)
            ).all()
            return {
                "location": self.where,
                "files": count(sa.select(sa.func.count()).select_from(e)),
                "withdrawn": count(sa.select(sa.func.count()).where(e.c.withdrawn)),
                "associations": count(sa.select(sa.func.count()).where(a.c.retired_run.is_(None))),
                "retired": count(sa.select(sa.func.count()).where(a.c.retired_run.isnot(None))),
                "versions": count(sa.select(sa.func.count()).select_from(t.versions)),
                "runs": count(sa.select(sa.func.count()).select_from(t.runs)),
                "by_type": [
                    {"level": lv, "asn_type": ty, "associations": n} for lv, ty, n in by_type
                ],
            }

    def current_results(self, since: int | None = None):
        """The current associations (all, or changed after run ``since``) as a generation
        result, for the association writers (files or bundle)."""
        from roman_asn.catalog.current import current_results

        with reading(self.engine) as connection:
            options = self._stored_options(self._setting(connection, "data_release_id") or "p")
            if since is not None:
                self._check_run(connection, since)
            return current_results(connection, options, since)


def _size(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def _asn_name(name: str) -> str:
    return Path(name).name.removesuffix(".json").removesuffix("_asn")


def read_mark_list(text: str, source: str) -> dict[str, str | None]:
    """Association name -> product path (or None) from what ``catalog mark --from``
    reads: names one a line, each optionally with a tab and the product path, or the
    JSON a catalog listing prints (``catalog stale --json``: a list of entries with
    ``name`` and, if given, ``product_path``; ``catalog changes --json``: its new and
    changed entries; a list of names). ``source`` names the input in errors."""
    stripped = text.lstrip()
    if not stripped.startswith(("[", "{")):
        marks: dict[str, str | None] = {}
        for line in text.splitlines():
            name, _, path = line.partition("\t")
            if name.strip():
                marks[_asn_name(name.strip())] = path.strip() or None
        return marks
    expected = (
        "expected a listing of `catalog stale --json` or `catalog changes --json`,"
        " or names one a line"
    )
    try:
        listed = json.loads(text)
    except json.JSONDecodeError as error:
        raise CatalogError(
            f"line {error.lineno}: not JSON ({error.msg}); {expected}", path=source
        ) from None
    except RecursionError:
        raise CatalogError(f"JSON nested too deeply; {expected}", path=source) from None
    except ValueError as error:  # JSON Python will not make, e.g. an integer of 5,000 digits
        raise CatalogError(f"not usable JSON: {first_line(error)}", path=source) from None
    if isinstance(listed, dict):  # a change list: what is now current
        if not {"new", "changed"} & listed.keys():  # else any object was an empty list
            raise CatalogError(
                f"an object with neither 'new' nor 'changed'; {expected}", path=source
            )
        parts = [listed.get(kind, []) for kind in ("new", "changed")]
        if not all(isinstance(part, list) for part in parts):
            raise CatalogError(f"'new' and 'changed' must be lists; {expected}", path=source)
        listed = [*parts[0], *parts[1]]
    marks = {}
    for number, entry in enumerate(listed if isinstance(listed, list) else [listed], 1):
        if isinstance(entry, str):
            name, path = entry, None
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            name, path = entry["name"], entry.get("product_path")
        else:
            raise CatalogError(
                f"entry {number}: expected an association name or an object with a "
                f"'name', found {json.dumps(entry)[:80]}",
                path=source,
            )
        marks[_asn_name(name)] = path if isinstance(path, str) and path else None
    return marks


# an association's entry in listings, with its type in change-list frames
_ENTRY_SCHEMA = {
    "name": pl.Utf8,
    "file_name": pl.Utf8,
    "product_name": pl.Utf8,
    "rule": pl.Utf8,
    "level": pl.Int64,
    "asn_type": pl.Utf8,
    "program": pl.Int64,
    "asn_id": pl.Utf8,
    "skycell": pl.Utf8,
}
ENTRY_FIELDS = tuple(_ENTRY_SCHEMA)
_CHANGE_FIELDS = ("asn_pk", "current_version", "created_run", "retired_run")


def _entry(row) -> dict:
    return {name: row[name] for name in ENTRY_FIELDS}


def _processing_key(entry: dict) -> tuple:
    return (processing_stage(entry["level"], entry["asn_type"]), entry["name"])


_CHANGE_SCHEMA = {name: pl.Int64 for name in _CHANGE_FIELDS}


def _stage_expr() -> pl.Expr:
    """:func:`processing_stage` of a frame's rows (the same rule as an expression, for
    change lists; ``test_change_lists_agree_with_each_history`` holds them together)."""
    return (
        pl.when(pl.col("asn_type") == MULTIBAND)
        .then(2)
        .when(pl.col("level") <= 2)
        .then(0)
        .otherwise(1)
    )


def change_list(
    connection, since: int, known: pl.DataFrame | None = None
) -> dict[str, pl.DataFrame]:
    """New, changed and retired associations after run ``since``, in processing order,
    each with the members it gained and lost: a frame per kind (a day is 50k entries,
    too many to build as Python objects on the way to a JSON file). ``known``: the
    (asn_pk, members_added, members_removed) the run itself worked out, when ``since``
    is the run before it; member lists are read back only for the versions not in it
    (a day changes sky cells of thousands of members each, and reading them back
    was a tenth of the day)."""
    a, v = t.associations, t.versions
    # the versions made after ``since`` (by the run index: a GROUP BY here would read
    # every version), then their associations by key
    made = pl.DataFrame(
        fetch_all(connection, sa.select(v.c.asn_pk, v.c.version).where(v.c.run_id > since)),
        schema={"asn_pk": pl.Int64, "version": pl.Int64},
        orient="row",
    )
    first_new = made.group_by("asn_pk").agg(pl.col("version").min().alias("first_new"))
    columns = [a.c[name] for name in (*ENTRY_FIELDS, *_CHANGE_FIELDS)]
    touched = []
    for chunk in batched(sorted(first_new["asn_pk"].to_list())):
        touched += fetch_all(
            connection, sa.select(*columns).where(is_in(connection, a.c.asn_pk, chunk))
        )
    kept = (
        pl.DataFrame(touched, schema=_ENTRY_SCHEMA | _CHANGE_SCHEMA, orient="row")
        .join(first_new, on="asn_pk")
        .filter(pl.col("retired_run").is_null() | (pl.col("retired_run") <= since))
        .with_columns(
            (pl.col("first_new") - 1).alias("before"),
            pl.col("current_version").alias("version"),
        )
    )
    held = kept.head(0)
    if known is not None:  # what the run worked out, as this would read it
        known = known.unique("asn_pk", keep="last")
        held = kept.join(known, on="asn_pk", how="inner")
        kept = kept.join(known, on="asn_pk", how="anti")
    wanted = pl.concat(
        [
            kept.select("asn_pk", "version"),
            kept.filter(pl.col("before") > 0).select("asn_pk", pl.col("before").alias("version")),
        ]
    )
    members = member_frame(connection, wanted)
    empty = pl.lit([], dtype=pl.List(pl.Utf8))
    read = (
        kept.join(members.rename({"members": "after"}), on=["asn_pk", "version"], how="left")
        .join(
            members.rename({"version": "before", "members": "old"}),
            on=["asn_pk", "before"],
            how="left",
        )
        .with_columns(pl.col("after").fill_null(empty), pl.col("old").fill_null(empty))
        .with_columns(member_changes(pl.col("after"), pl.col("old")))
        .drop("after", "old")
    )
    if held.height:
        read = pl.concat([held, read], how="diagonal")
    kept = read.with_columns(
        pl.when((pl.col("before") > 0) & (pl.col("created_run") <= since))
        .then(pl.lit("changed"))
        .otherwise(pl.lit("new"))
        .alias("kind"),
    ).sort(_stage_expr(), "name")
    fields = [*ENTRY_FIELDS, "version", "members_added", "members_removed"]
    out = {kind: kept.filter(pl.col("kind") == kind).select(fields) for kind in ("new", "changed")}
    retired = fetch_all(
        connection,
        sa.select(*(a.c[name] for name in ENTRY_FIELDS), a.c.retired_reason).where(
            a.c.retired_run > since
        ),
    )
    out["retired"] = pl.DataFrame(
        retired, schema=_ENTRY_SCHEMA | {"reason": pl.Utf8}, orient="row"
    ).sort(_stage_expr(), "name")
    return out


def as_dicts(frames: dict[str, pl.DataFrame]) -> dict[str, list[dict]]:
    """A change list's frames as lists of entries (what :meth:`Catalog.changes` gives)."""
    return {kind: frame.to_dicts() for kind, frame in frames.items()}


def _fill(report: RunReport, changes: Changes) -> None:
    report.new = sorted(changes.new)
    report.changed = sorted(changes.changed)
    report.retired = sorted(changes.retired)
    report.not_recorded = dict(sorted(changes.not_recorded.items()))
    if changes.diffs is not None:
        report.diffs = pl.concat([pl.DataFrame(schema=DIFF_SCHEMA), *changes.diffs])


def _knows_cell(connection, name: str) -> bool:
    return (
        connection.execute(sa.select(t.cells.c.name).where(t.cells.c.name == name)).first()
        is not None
    )


def _check_cell_exists(name: str, where: str) -> None:
    """Refuse a well-formed name that is no sky cell (``999p99x99y99``): asked only when
    the catalog has nothing there, so a query on a known cell never loads the map."""
    from roman_asn.skycells import get_skymap

    try:
        get_skymap().index_of(name)
    except RomanAsnError as error:
        raise CatalogError(str(error), path=where) from None


def _holds_files(connection) -> bool:
    """Whether the catalog holds any file (withdrawn ones too): read from the key's start."""
    return connection.execute(sa.select(t.exposures.c.file_id).limit(1)).first() is not None


def _delta_table(pools: list[Pool]) -> pl.DataFrame:
    """One row per file of the pools, in file-name order: its pool rows as JSON lines
    (sorted, repeats counted once) and their hash.

    A file may sit on several rows (romancal's own pools list one file under two
    observations); rows that disagree on what describes the file itself are refused,
    naming both places, across pools as within one (``check_duplicate_files``). Only
    the columns the catalog keeps are carried: a first load of millions of rows holds
    this table, the pools and the catalog's page cache at once."""
    from roman_asn.pool.reader import FILE_FACTS

    frames = []
    for pool in pools:
        table = pool.table
        kept = [c for c in ("filename", "program", "start_time", *FILE_FACTS) if c in table.columns]
        frames.append(table.select(*dict.fromkeys(kept), encode_rows(table).alias("__data")))
    joined = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    del frames
    ends = np.cumsum([len(p) for p in pools])

    def locate(row: int) -> dict:
        """The error location of the joined table's ``row`` (its pool and source row)."""
        k = int(np.searchsorted(ends, row, side="right"))
        pool = pools[k]
        return pool.where(int(pool.table[ROW_COLUMN][row - (int(ends[k - 1]) if k else 0)]))

    joined = joined.with_row_index(ROW_COLUMN)
    if joined["filename"].null_count():
        raise PoolError("empty filename", **locate(int(joined["filename"].is_null().arg_true()[0])))
    check_duplicate_files(joined, locate)
    kept = [c for c in ("filename", "__data", "program", "start_time") if c in joined.columns]
    joined = joined.select(kept)
    if not joined["filename"].is_duplicated().any():  # one row a file: the common case
        per_file = joined.sort("filename")
    else:
        per_file = (
            joined.unique(["filename", "__data"], keep="first", maintain_order=True)
            .sort(["filename", "__data"])
            .group_by("filename", maintain_order=True)
            .agg(
                pl.col("__data").str.join("\n"),
                *[pl.col(c).first() for c in ("program", "start_time") if c in joined.columns],
            )
        )
    del joined
    return per_file.with_columns(row_hashes(per_file["__data"]).alias("__hash"))


def export(catalog: Catalog, output, since: int | None = None) -> int:
    """Write the current associations (or those changed after run ``since``) to ``output``
    (any :class:`~roman_asn.outputs.Output`: a folder or a bundle); return how many."""
    if hasattr(output, "expect_parts"):
        output.expect_parts()  # one result per program: names are not known in advance
    with output:
        for result in catalog.current_results(since):
            output.write(result)
    return output.written


def _refuse_an_uncreatable_file(path: str) -> None:
    """Why a new catalog cannot be made at ``path``, said before SQLite's "unable to open
    database file": a link to nothing, or a folder that cannot be written."""
    from roman_asn.atomic import link_to_nothing

    if why := link_to_nothing(path):
        raise CatalogError(f"{why}: give the catalog's own path", path=path)
    folder = os.path.dirname(path) or "."
    if not os.access(folder, os.W_OK):  # read-only media, or not ours
        raise CatalogError(f"cannot make the catalog: folder {folder} cannot be written", path=path)
