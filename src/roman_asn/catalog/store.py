"""Opening a catalog: the database behind a location, its schema version, its one writer.

A location is a file path (an embedded SQLite database, the default) or a
``postgresql://`` URL (a shared server). Both carry the same schema, managed by
Alembic revisions in :mod:`roman_asn.catalog.migrations`: a catalog of an older
revision is refused until ``roman-asn catalog upgrade`` brings it up to date.

One writer at a time: SQLite writes in ``BEGIN IMMEDIATE`` transactions in WAL
mode (readers keep reading the state before the write), PostgreSQL under a
transaction-scoped advisory lock. A second writer waits up to ``wait`` seconds,
then fails saying who holds the catalog.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, unquote

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from roman_asn.errors import RomanAsnError

log = logging.getLogger("roman_asn.catalog")

LOCK_ID = 0x526F6D616E41534E  # "RomanASN": the writers' advisory lock on PostgreSQL
WAIT_SECONDS = 60.0
CACHE_KIB = 1024 * 1024  # SQLite page cache of a connection: 1 GiB


class CatalogError(RomanAsnError):
    """A catalog cannot be opened, is of another schema revision, or is busy."""


def is_url(location: str) -> bool:
    return "://" in location


def _on_read_only_media(path: Path) -> bool:
    """A catalog file whose folder cannot be written (a read-only mount, even for
    root) and with no unmerged write-ahead log beside it."""
    if not path.is_file() or os.access(path.parent, os.W_OK):
        return False
    wal = path.with_name(path.name + "-wal")
    return not wal.exists() or wal.stat().st_size == 0


def make_engine(location: str | os.PathLike[str], *, wait: float = WAIT_SECONDS) -> Engine:
    text = os.fspath(location)
    if is_url(text):
        try:
            url = sa.engine.make_url(text)
            url.port  # parsed lazily: "[::1" fails here  # noqa: B018
        except (sa.exc.ArgumentError, ValueError) as error:
            raise CatalogError(
                f"not a valid database URL ({shown_location(text)}): {error}"
            ) from None
        if url.get_backend_name() != "postgresql":
            raise CatalogError(
                f"a catalog is a file (SQLite) or a postgresql:// URL, not {url.drivername}://"
            )
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        elif url.drivername != "postgresql+psycopg":  # the one driver installed with us
            raise CatalogError(
                f"{url.drivername}:// needs a driver roman-asn does not use: "
                "write postgresql:// (psycopg 3)"
            )
        _quiet_psycopg_copy_ends()
        engine = sa.create_engine(
            url, connect_args={"connect_timeout": 10}, pool_pre_ping=True, future=True
        )
        engine.info_wait = wait  # type: ignore[attr-defined]
        return engine
    path = Path(text)
    if path.exists() and path.is_dir():
        raise CatalogError("is a folder; a catalog is a file or a postgresql:// URL", path=path)
    frozen = _on_read_only_media(path)
    engine = sa.create_engine(
        # read-only media: SQLite cannot make the WAL index beside the file, so the
        # catalog is read as the immutable file it is there (queries work, writes fail)
        f"sqlite:///file:{quote(str(path.absolute()))}?mode=ro&immutable=1&uri=true"
        if frozen
        else f"sqlite:///{path}",
        connect_args={"timeout": wait, "isolation_level": None},
        future=True,
    )

    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        if not frozen:  # unless a direct first load holds the catalog (see writing)
            _set_journal(dbapi_connection, "wal", wait)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")  # index inserts of big ingests
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _sqlite_begin(connection) -> None:
        # pysqlite's own transaction handling is off (isolation_level None): begin here,
        # IMMEDIATE for writers so a second writer waits on busy_timeout, not mid-way
        mode = connection.info.get("write") and "IMMEDIATE" or "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")

    engine.info_wait = wait  # type: ignore[attr-defined]
    engine.info_read_only = frozen  # type: ignore[attr-defined]
    return engine


def _alembic_config(connection: Connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    config = _alembic_config(None)  # type: ignore[arg-type]
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The catalog's schema revision; several (branches this roman-asn never made)
    come back joined by '+', a revision it does not know."""
    from alembic.runtime.migration import MigrationContext

    heads = MigrationContext.configure(connection).get_current_heads()
    return "+".join(sorted(heads)) if heads else None


def upgrade(
    engine: Engine, revision: str = "head", progress: Callable[[str], None] | None = None
) -> tuple[str | None, str]:
    """Bring the schema to ``revision``; return (before, after). ``progress`` is told
    each revision as it starts (one can rewrite every membership: 101 s at 1M rows)."""
    from alembic import command
    from alembic.script import ScriptDirectory

    with writing(engine) as connection:
        before = current_revision(connection)
        config = _alembic_config(connection)
        if progress is not None:
            script = ScriptDirectory.from_config(config)
            steps = list(reversed(list(script.iterate_revisions(revision, before))))
            told = iter(enumerate(steps, 1))

            def tell_next(**_) -> None:
                i, step = next(told, (0, None))
                if step is not None:  # named by its file: 0006_membership_blocks.py
                    what = Path(step.path).stem.partition("_")[2].replace("_", " ")
                    progress(f"revision {step.revision} ({i} of {len(steps)}): {what}")

            tell_next()
            config.attributes["on_version_apply"] = tell_next
        command.upgrade(config, revision)
        after = current_revision(connection)
    return before, after or ""


def check_revision(engine: Engine, location: str, *, create: bool, older_ok: bool = False) -> None:
    """Create a new catalog at the head revision, or refuse one of another revision
    (``older_ok``: accept an older one, which is about to be upgraded)."""
    location = shown_location(location)
    try:
        with engine.connect() as connection:
            revision = current_revision(connection)
            # a SQLite file is one application's: never add our tables to someone
            # else's; a PostgreSQL database may be shared, but not our table names
            tables = set(sa.inspect(connection).get_table_names())
            if connection.dialect.name != "sqlite":
                tables &= {"runs", "exposures", "associations", "versions", "groups"}
            has_tables = bool(tables)
    except sa.exc.DBAPIError as error:
        if "locked" in _reason(error):
            raise _held_by_a_load(engine) from None
        raise CatalogError(f"cannot open the catalog: {_reason(error)}", path=location) from None
    head = head_revision()
    if revision == head:
        return
    if revision is None and not has_tables:
        if not create:
            raise CatalogError("no catalog here (ingest a pool to create one)", path=location)
        upgrade(engine)
        return
    if revision is None:
        raise CatalogError(
            "this database has tables but no catalog schema revision: not a roman-asn catalog",
            path=location,
        )
    from alembic.script import ScriptDirectory

    known = {
        s.revision for s in ScriptDirectory.from_config(_alembic_config(None)).walk_revisions()
    }
    if revision in known and "groups" not in tables:
        # the first development catalogs (before 9872ee9 rewrote revision 0001) have no
        # groups table under the same revision numbers: no revision can bring them on
        raise CatalogError(
            f"the catalog has schema revision {revision} from a development version of "
            "roman-asn that no upgrade can read (no groups table): build it again by "
            "ingesting its pools into a new catalog",
            path=location,
        )
    if revision in known and getattr(engine, "info_read_only", False):
        raise CatalogError(
            f"the catalog has schema revision {revision}, this roman-asn needs {head}, and "
            "its folder cannot be written (read-only media), so it cannot be upgraded there: "
            "copy it to writable storage and run `roman-asn catalog upgrade` on the copy",
            path=location,
        )
    if revision in known:
        if older_ok:
            return
        raise CatalogError(
            f"the catalog has schema revision {revision}, this roman-asn needs {head}: "
            f"run `roman-asn catalog upgrade {location}` first",
            path=location,
        )
    raise CatalogError(
        f"the catalog has schema revision {revision}, unknown to this roman-asn "
        f"(which knows up to {head}): it was made by a newer version",
        path=location,
    )


def discard_unused_file(engine: Engine, path: str) -> bool:
    """Remove a SQLite catalog that holds no run (one this process just made, for an
    ingest that failed): whether it did. Done under the write lock, so a writer that
    opened the file meanwhile is not undone: SQLite refuses its writes to a removed
    file (SQLITE_READONLY_DBMOVED) instead of losing them. Where the lock cannot be
    had for another reason than a writer holding it (a full disk refuses the first
    write of a new file, its header, or its WAL index), the file goes if it shows that
    nothing was ever committed into it (:func:`_never_committed`). The caller disposes
    of ``engine`` (its pool still holds the removed file open)."""
    if is_url(path):
        return False  # a shared database: its (empty) tables stay
    try:
        with engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            raw.execute("PRAGMA busy_timeout=0")
            raw.execute("BEGIN IMMEDIATE")  # busy: somebody is writing to it, it stays
            try:
                tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
                if "runs" in tables and raw.execute("SELECT 1 FROM runs").fetchone():
                    return False
                return remove_catalog_files(path)
            finally:
                raw.execute("ROLLBACK")
    except (sa.exc.SQLAlchemyError, sqlite3.Error, OSError) as error:
        # kept when another writer holds it: the first error is the one to say
        if "locked" in _reason(error) or "busy" in _reason(error):
            return False
        return _never_committed(path) and remove_catalog_files(path)


def remove_catalog_files(path: str) -> bool:
    """Remove a SQLite file and its side files: whether the file itself is gone."""
    for suffix in ("-wal", "-shm", "-journal", ""):  # the file last: all or it stays
        try:
            os.unlink(path + suffix)
        except FileNotFoundError:
            pass
        except OSError:
            return False
    return True


def _never_committed(path: str) -> bool:
    """Whether the SQLite file ``path`` shows, read without SQLite's locks, that no
    write was ever committed into it: it is empty (the first write puts its header
    there, and a write-ahead log is used only once the header says so), or its own
    pages hold no table and no write-ahead log beside it holds anything. Anything
    else, or a file that cannot be read so, counts as committed: it stays."""
    try:
        wal = os.path.getsize(path + "-wal")
    except FileNotFoundError:
        wal = 0
    except OSError:
        return False
    try:
        if os.path.getsize(path) == 0:
            return wal == 0
        uri = f"file:{quote(os.path.abspath(path))}?mode=ro&immutable=1"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as raw:
            tables = raw.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except (OSError, sqlite3.Error):
        return False
    return tables == 0 and wal == 0


def _second_error_of_a_copy(record: logging.LogRecord) -> bool:
    """psycopg's warning that ending a COPY failed too, after the error that stopped it
    (a lost connection): that error is the one said, on one line."""
    return not str(record.msg).startswith("error ignored terminating")


def _quiet_psycopg_copy_ends() -> None:
    psycopg_log = logging.getLogger("psycopg")
    if _second_error_of_a_copy not in psycopg_log.filters:
        psycopg_log.addFilter(_second_error_of_a_copy)


def shown_location(location: str) -> str:
    """A catalog location for people: a URL as given (not the driver's spelling),
    never with its password."""
    if not is_url(location):
        return location
    try:
        url = sa.engine.make_url(location)
        url.port  # parsed lazily: "[::1" fails here  # noqa: B018
        return url.render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):  # does not parse: the host part only
        return "...@" + location.rsplit("@", 1)[1] if "@" in location else location


def _reason(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return text[0] if text else type(error).__name__


@contextlib.contextmanager
def writing(engine: Engine, *, direct: bool = False) -> Iterator[Connection]:
    """One write transaction, alone: wait for another writer (bounded, saying so on
    stderr through logging), then hold the catalog until the transaction ends.

    ``direct`` (SQLite; a first load of a big pool into an empty catalog): write the
    pages into the file with a rollback journal, not into the write-ahead log from which
    the commit copies them again (10 GB twice at 1M rows; the copy took 54 s of 290).
    Readers wait for such a load instead of seeing the empty catalog; when another
    process has the catalog open, the log is kept."""
    wait = getattr(engine, "info_wait", WAIT_SECONDS)
    if getattr(engine, "info_read_only", False):
        raise CatalogError(
            "the catalog is on read-only media (its folder cannot be written): it can be "
            "queried and exported, not written",
            path=_where(engine),
        )
    try:
        with engine.connect() as connection:
            connection.info["write"] = True
            sqlite = connection.dialect.name == "sqlite"
            direct = direct and sqlite and _journal(connection, "delete")
            try:
                if sqlite:
                    _sort_beside_the_catalog(connection, True)
                    _sqlite_take(connection, wait)
                with connection.begin() if not connection.in_transaction() else _joined(connection):
                    if connection.dialect.name == "postgresql":
                        _postgres_take(connection, wait)
                    yield connection
            finally:
                forget(connection, "write")
                if sqlite:
                    with contextlib.suppress(sa.exc.SQLAlchemyError):  # see forget
                        _sort_beside_the_catalog(connection, False)
                if direct:  # else the next connection to open the catalog does it
                    _journal(connection, "wal")
    except UnicodeEncodeError as error:
        raise _not_text(error, engine) from None
    except _database_errors(engine) as error:
        reason = _reason(error)
        if "locked" in reason or "lock timeout" in reason or "canceling statement" in reason:
            raise CatalogError(
                f"another process is writing to the catalog; waited {wait:g} s: try again later",
                path=_where(engine),
            ) from None
        raise CatalogError(f"catalog write failed: {reason}", path=_where(engine)) from None


def _journal(connection: Connection, mode: str) -> bool:
    """``_set_journal`` for a write: any failure (busy, interrupted) only keeps the mode
    the catalog has, and the transaction, or the error already in flight, says the rest."""
    wait = getattr(connection.engine, "info_wait", WAIT_SECONDS)
    try:
        return _set_journal(connection.connection.dbapi_connection, mode, wait)
    except Exception:  # noqa: BLE001
        return False


def _set_journal(raw, mode: str, wait: float) -> bool:
    """Switch the SQLite journal of this driver connection (outside a transaction):
    whether it is now ``mode``. Leaving the write-ahead log needs the catalog to itself,
    and a direct first load holds it: then the mode stays as it is."""
    raw.execute("PRAGMA busy_timeout=0")
    try:
        return raw.execute(f"PRAGMA journal_mode={mode}").fetchone()[0] == mode
    except raw.OperationalError as error:
        if "locked" not in str(error) and "busy" not in str(error):
            raise
        return False
    finally:
        with contextlib.suppress(Exception):  # a broken connection says so where used
            raw.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")


def forget(connection: Connection, key: str) -> None:
    """Drop a mark set on the connection for one transaction. After Ctrl-C in the middle
    of a statement the connection may refuse every use until rolled back: the error
    already in flight (the interrupt) is the one to report, not that refusal."""
    with contextlib.suppress(sa.exc.SQLAlchemyError):
        connection.info.pop(key, None)


def _sort_beside_the_catalog(connection: Connection, on: bool) -> None:
    """A writer's temporary storage is files beside the catalog, the folder the user
    named (a reader's stays in memory). In memory, SQLite holds a whole sort there: the
    bulk index build of a 3M-row first load took 17.5 GB; with files it spills past a
    page cache's worth, and SQLite deletes each file as it opens it. Set outside a
    transaction (SQLite refuses otherwise); the directory is process-wide."""
    raw = connection.connection.dbapi_connection
    if on:
        folder = os.path.dirname(os.path.abspath(connection.engine.url.database or "."))
        quoted = folder.replace("'", "''")
        raw.execute(f"PRAGMA temp_store_directory='{quoted}'")
        raw.execute("PRAGMA temp_store=FILE")
    else:  # after the transaction, whatever became of it: never hide its error
        with contextlib.suppress(Exception):
            raw.execute("PRAGMA temp_store=MEMORY")
            raw.execute("PRAGMA temp_store_directory=''")


def _sqlite_take(connection: Connection, wait: float) -> None:
    """BEGIN IMMEDIATE at once if the catalog is free, else say so and wait."""
    raw = connection.connection.dbapi_connection
    raw.execute("PRAGMA busy_timeout=0")
    try:
        connection.begin()
    except sa.exc.OperationalError as error:
        if "locked" not in _reason(error) and "busy" not in _reason(error):
            raise
        connection.rollback()
        log.warning("another process is writing to the catalog: waiting up to %g s", wait)
        raw.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        connection.begin()
    finally:
        raw.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")


def _postgres_take(connection: Connection, wait: float) -> None:
    # a write's queries are many keyed look-ups: a parallel sequential scan (the planner's
    # choice for a long ANY(array) on a big table) reads the whole table each time, so
    # the ingest grows with the catalog, and pays the workers' start-up on every query
    connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    # and keyed look-ups gain nothing from compiling: JIT cost ~80 ms a query
    connection.exec_driver_sql("SET LOCAL jit = off")
    if connection.exec_driver_sql(f"SELECT pg_try_advisory_xact_lock({LOCK_ID})").scalar():
        return
    log.warning("another process is writing to the catalog: waiting up to %g s", wait)
    connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(wait * 1000)}ms'")
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_ID})")


@contextlib.contextmanager
def _joined(connection: Connection) -> Iterator[None]:
    """The transaction _sqlite_take began: commit it on success, roll back on error."""
    try:
        yield
    except BaseException:
        connection.rollback()
        raise
    connection.commit()


def _where(engine: Engine) -> str:
    """The catalog for people: a file's path, a server's URL without its password."""
    if engine.dialect.name == "sqlite":
        database = str(engine.url.database)
        if database.startswith("file:"):  # opened read-only (read-only media)
            database = unquote(database.removeprefix("file:").split("?", 1)[0])
        return database
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=True)


def _database_errors(engine: Engine) -> tuple[type[BaseException], ...]:
    """What a failing database raises: SQLAlchemy's wrapped errors, and the driver's own
    from the raw cursors of the bulk paths (a full disk in the middle of an insert)."""
    return (sa.exc.DBAPIError, engine.dialect.loaded_dbapi.Error)


@contextlib.contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A consistent read (one snapshot) that never waits for a writer."""
    try:
        with engine.connect() as connection, connection.begin():
            yield connection
    except UnicodeEncodeError as error:
        raise _not_text(error, engine) from None
    except _database_errors(engine) as error:
        reason = _reason(error)
        if "locked" in reason:
            raise _held_by_a_load(engine) from None
        raise CatalogError(f"catalog read failed: {reason}", path=_where(engine)) from None


def _held_by_a_load(engine: Engine) -> CatalogError:
    """What a reader says when it waited in vain: readers wait only for a direct first
    load (``writing``), which holds the file while it writes it."""
    wait = getattr(engine, "info_wait", WAIT_SECONDS)
    return CatalogError(
        f"a first load is being written into the catalog; waited {wait:g} s:"
        " try again when it is done",
        path=_where(engine),
    )


def _not_text(error: UnicodeEncodeError, engine: Engine) -> CatalogError:
    """A value given to the catalog that is not text: a command-line argument with a
    byte that is not UTF-8 arrives as a lone surrogate, which no database stores."""
    value = error.object if isinstance(error.object, str) else repr(error.object)
    return CatalogError(
        f"{value!r} is not UTF-8 text (it holds {value[error.start : error.end]!r});"
        " the catalog holds text only",
        path=_where(engine),
    )


def refresh_statistics(connection: Connection) -> None:
    """Let the planner see what a write added: PostgreSQL plans from table statistics,
    and without them after a bulk load it scans whole tables (find: 30 ms -> 1 ms)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "ANALYZE exposures, groups, group_files, file_groups, associations, versions,"
            " member_stem_blocks"
        )
    else:
        connection.exec_driver_sql("PRAGMA optimize")


BATCH = 5_000  # values per IN (...) list


def batched(values: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def is_in(connection: Connection, column, values) -> sa.ColumnElement[bool]:
    """``column IN values`` with one parameter however many values (rendering thousands
    of bound parameters costs more than many queries): ``column = ANY(array)`` on
    PostgreSQL, ``column IN (SELECT value FROM json_each(json))`` on SQLite."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(column.type)))
    listed = sa.bindparam(None, json.dumps(list(values)), type_=sa.Text)
    return column.in_(sa.select(sa.column("value")).select_from(sa.func.json_each(listed)))


def setting(connection: Connection, key: str) -> str | None:
    """The catalog's ``settings`` entry ``key`` (None: not set)."""
    from roman_asn.catalog import schema as t

    return connection.execute(sa.select(t.settings.c.value).where(t.settings.c.key == key)).scalar()


def fetch_all(connection: Connection, statement) -> list[tuple]:
    """All rows of a query as the driver's plain tuples: for the large reads of an ingest,
    where building SQLAlchemy rows costs more than the query (types are the driver's)."""
    result = connection.execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def cut_blocks(values, starts):
    """A sorted numpy array cut into one ``Binary`` block per run (``starts``: where each
    owner's values begin): the blocks of ``group_files``, ``file_groups`` and
    ``member_stem_blocks``, cut from one buffer, not packed one by one (a first load
    makes millions)."""
    import numpy as np
    import polars as pl

    size = values.dtype.itemsize
    ends = np.r_[starts[1:], len(values)] * size
    buffer = values.tobytes()
    cuts = zip((starts * size).tolist(), ends.tolist(), strict=True)
    return pl.Series([buffer[a:b] for a, b in cuts], dtype=pl.Binary)


def bulk_insert(connection: Connection, table: sa.Table, rows) -> None:
    """Insert many rows (a polars frame, or dicts) by the database's fast path: COPY
    on PostgreSQL, the driver's executemany of plain tuples on SQLite."""
    import polars as pl

    frame = (
        rows
        if isinstance(rows, pl.DataFrame)
        else pl.DataFrame(list(rows), infer_schema_length=None)
    )
    if frame.height == 0:
        return
    columns = frame.columns
    raw = connection.connection.dbapi_connection
    if connection.dialect.name == "postgresql":
        names = ", ".join(f'"{c}"' for c in columns)
        booleans = [c for c, d in frame.schema.items() if d == pl.Boolean]
        binaries = [c for c, d in frame.schema.items() if d == pl.Binary]
        text = frame.with_columns(
            pl.col(booleans).cast(pl.Utf8),
            *(("\\x" + pl.col(c).bin.encode("hex")).alias(c) for c in binaries),  # bytea hex
        )
        statement = f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT csv)'
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            step = 200_000
            for start in range(0, text.height, step):
                part = text.slice(start, step)
                # quoted text keeps "" apart from NULL (an unquoted empty field)
                copy.write(
                    part.write_csv(include_header=False, null_value="", quote_style="non_numeric")
                )
        return
    marks = ", ".join("?" for _ in columns)
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = raw.cursor()
    try:
        cursor.executemany(
            f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', frame.iter_rows()
        )
    finally:
        cursor.close()
