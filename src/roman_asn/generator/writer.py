"""Writing generated associations: JSON text exactly as ``Association.dump()`` makes it,
built directly from the result table (no per-association objects), each file
written atomically, optionally by several processes.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from json.encoder import encode_basestring as _quote
from pathlib import Path
from typing import overload

import polars as pl

from roman_asn._version import __version__
from roman_asn.association import DEGRADED, NO_DEGRADED
from roman_asn.atomic import (
    WriteError,
    make_folder,
    remove_stale_temporaries,
    temporary_suffix,
    write_bytes_in,
    write_error,
)
from roman_asn.errors import RomanAsnError
from roman_asn.generator.engine import GenerationResult
from roman_asn.generator.naming import (
    MAX_NAME_BYTES,
    UNSAFE_FILE_NAME,
    UNSAFE_PRODUCT_NAME,
    unsafe_product_name,
)
from roman_asn.skycells.skymap import get_skymap
from roman_asn.skycells.wcs import wcs_info_texts

CHUNK = 20_000


def _q(value: str | None) -> str:
    return "null" if value is None else _quote(value)


_CONTROL = r"[\x00-\x1f]"


_SPECIAL = r'["\\\x00-\x1f]'  # characters JSON escapes
_STRINGS = ("asn_type", "rule", "target", "constraints", "asn_id", "product_name", "exptype")
_LISTS = ("members", "exposerr")


def _special_columns(frame: pl.DataFrame) -> set[str]:
    """The string columns with a character JSON escapes in some row: the others are
    quoted without the escaping passes (most columns, most of the time)."""
    flags = frame.select(
        *[pl.col(c).str.contains(_SPECIAL).any().alias(c) for c in _STRINGS],
        *[pl.col(c).explode().str.contains(_SPECIAL).any().alias(c) for c in _LISTS],
    ).row(0, named=True)
    return {column for column, flag in flags.items() if flag}


def _json_text(expr: pl.Expr, plain: bool = False) -> pl.Expr:
    """JSON text of a string column (null -> null), as json.dumps(ensure_ascii=False)
    writes it for text without control characters (those rows are redone in Python).
    ``plain``: the column has nothing to escape."""
    if plain:
        return pl.concat_str([pl.lit('"'), expr, pl.lit('"')]).fill_null(pl.lit("null"))
    escaped = expr.str.replace_all("\\", "\\\\", literal=True).str.replace_all(
        '"', '\\"', literal=True
    )
    return (
        pl.when(expr.is_null())
        .then(pl.lit("null"))
        .otherwise(pl.concat_str([pl.lit('"'), escaped, pl.lit('"')]))
    )


def _newline(pretty: bool):
    """Line break and indent before a token at ``depth`` in the file's layout; nothing
    in the compact one (the bundle's JSON lines: the file's text with each newline and
    the indent after it dropped)."""
    return (lambda depth: "\n" + "    " * depth) if pretty else (lambda depth: "")


def compact_text(text: str) -> str:
    """The file's text compacted as the bundle writes it: each newline and the indent
    after it dropped, deepest indent first (deeper nesting keeps some spaces, still
    valid JSON)."""
    for depth in (5, 4, 3, 2, 1, 0):
        text = text.replace("\n" + " " * (4 * depth), "")
    return text


def render_frame(
    frame: pl.DataFrame, result: GenerationResult, *, pretty: bool = True
) -> pl.DataFrame:
    """(file_name, text) for each association, the JSON built by polars in bulk: the
    file's exact text, or (``pretty=False``) the same compacted (see compact_text)."""
    options = result.options
    nl = _newline(pretty)
    special = _special_columns(frame)

    def _json_string(column: str) -> pl.Expr:
        return _json_text(pl.col(column), plain=column not in special)

    member_blocks = _member_blocks(frame, nl, special, _json_string)
    release = (
        f'"data_release_id": {_q(options.data_release_id)},{nl(1)}'
        f'"version_id": {_q(options.version_id)},{nl(1)}'
    )
    text = pl.concat_str(
        [
            pl.lit("{" + nl(1) + '"asn_type": '),
            _json_string("asn_type"),
            pl.lit("," + nl(1) + '"asn_rule": '),
            _json_string("rule"),
            pl.lit(f',{nl(1)}"code_version": {_q(__version__)},{nl(1)}"degraded_status": '),
            pl.when(pl.col("degraded"))
            .then(pl.lit(_q(DEGRADED)))
            .otherwise(pl.lit(_q(NO_DEGRADED))),
            pl.lit("," + nl(1) + '"program": "'),
            pl.col("program").cast(pl.Utf8).str.zfill(5),
            pl.lit('",' + nl(1) + release + '"target": '),
            _json_string("target"),
            pl.lit("," + nl(1) + '"constraints": '),
            _json_string("constraints"),
            pl.lit("," + nl(1) + '"asn_id": '),
            _json_string("asn_id"),
            pl.lit(f',{nl(1)}"asn_pool": {_q(result.asn_pool)},{nl(1)}"skycell_wcs_info": '),
            _wcs_info_text(frame, pretty),
            pl.lit("," + nl(1) + '"products": [' + nl(2) + "{" + nl(3) + '"name": '),
            _json_string("product_name"),
            pl.lit("," + nl(3) + '"members": [' + nl(0)),
            pl.col("__m"),
            pl.lit(nl(3) + "]" + nl(2) + "}" + nl(1) + "]" + nl(0) + "}" + nl(0)),
        ]
    )
    with_members = frame.with_columns(member_blocks)
    out = with_members.select("file_name", text.alias("text"))
    # rare: control characters need json's \uXXXX escapes; redo those rows exactly
    if not special:
        return out
    checks = [pl.col(c).str.contains(_CONTROL).fill_null(False) for c in _STRINGS if c in special]
    checks += [
        pl.col(c).list.eval(pl.element().str.contains(_CONTROL).fill_null(False)).list.any()
        for c in _LISTS
        if c in special
    ]
    odd = frame.select(pl.any_horizontal(checks)).to_series()
    if odd.any():
        exact = [_exact_text(row, result) for row in frame.filter(odd).iter_rows(named=True)]
        if not pretty:
            exact = [compact_text(t) for t in exact]
        fixed = out["text"].scatter(odd.arg_true(), exact)
        out = out.with_columns(fixed.alias("text"))
    return out


def _member_blocks(frame: pl.DataFrame, nl, special: set[str], json_string) -> pl.Series:
    """The text of each association's member list (``__m``). Associations without an
    exposure error, whose members and exptype need no escaping, share one exptype:
    their list is the member names joined (no explode and group-by); the others,
    the degraded ones, are built member by member."""
    exptypes = frame["exptype"].unique()
    exploded = frame["members"].explode()
    if (
        "members" not in special
        and "exptype" not in special
        and exptypes.len() == 1
        and exptypes.null_count() == 0
        and exploded.null_count() == 0
    ):
        first = nl(4)[1:] + "{" + nl(5) + '"expname": "'
        last = f'",{nl(5)}"exptype": "{exptypes[0]}",{nl(5)}"exposerr": null{nl(4)}}}'
        blocks = frame.select(
            pl.concat_str(
                [
                    pl.lit(first),
                    pl.col("members").list.join(last + "," + nl(0) + first),
                    pl.lit(last),
                ]
            ).alias("__m")
        ).to_series()
        degraded = frame["degraded"]
        if not degraded.any():
            return blocks
        slow = _exploded_member_blocks(frame.filter(degraded), nl, json_string)
        return blocks.scatter(degraded.arg_true(), slow)
    return _exploded_member_blocks(frame, nl, json_string)


def _exploded_member_blocks(frame: pl.DataFrame, nl, json_string) -> pl.Series:
    """The member list texts built member by member (any exposure errors, escaping)."""
    return (
        frame.select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("__i"), "members", "exposerr", "exptype"
        )
        .explode(["members", "exposerr"])
        .select(
            "__i",
            pl.concat_str(
                [
                    pl.lit(nl(4)[1:] + "{" + nl(5) + '"expname": '),
                    json_string("members"),
                    pl.lit("," + nl(5) + '"exptype": '),
                    json_string("exptype"),
                    pl.lit("," + nl(5) + '"exposerr": '),
                    json_string("exposerr"),
                    pl.lit(nl(4) + "}"),
                ]
            ).alias("__m"),
        )
        .group_by("__i", maintain_order=True)
        .agg(pl.col("__m").str.join("," + nl(0)))["__m"]
    )


def _wcs_info_text(frame: pl.DataFrame, pretty: bool = True) -> pl.Expr:
    """The ``skycell_wcs_info`` JSON of each association: "none" without a sky cell."""
    names = frame["skycell"].drop_nulls().unique().sort().to_list()
    if not names:
        return pl.lit('"none"')
    texts = _cell_texts(names, pretty)
    return pl.col("skycell").replace_strict(texts, default='"none"', return_dtype=pl.Utf8)


CELL_TEXTS_KEPT = 300_000  # sky cells whose texts are kept between chunks, per layout
_cell_texts_kept: dict[tuple[int, bool], dict[str, str]] = {}
_cell_texts_lock = threading.Lock()


def _cell_texts(names: list[str], pretty: bool) -> dict[str, str]:
    """Each cell's ``skycell_wcs_info`` text in the file's (or compact) layout, kept
    between chunks: a cell's visit, pass and full products are far apart in name
    order, so its text is wanted by many chunks (json.dumps per cell and chunk was
    most of the rendering when a part's names are spread out)."""
    skymap = get_skymap()
    with _cell_texts_lock:
        kept = _cell_texts_kept.setdefault((id(skymap), pretty), {})
        missing = [name for name in names if name not in kept]
        if missing:
            texts = wcs_info_texts(missing, skymap)
            if not pretty:
                texts = {name: compact_text(text) for name, text in texts.items()}
            if len(kept) + len(texts) > CELL_TEXTS_KEPT:
                kept.clear()
            kept.update(texts)
        return {name: kept[name] for name in names}


def _exact_text(row: dict, result: GenerationResult) -> str:
    from roman_asn.association import Association, Member, Product
    from roman_asn.skycells import skycell_wcs_info

    members = [
        Member(expname=m, exptype=row["exptype"], exposerr=e, has_exposerr=True)
        for m, e in zip(row["members"], row["exposerr"], strict=True)
    ]
    return Association(
        products=[Product(name=row["product_name"], members=members)],
        asn_type=row["asn_type"],
        asn_rule=row["rule"],
        degraded_status=DEGRADED if row["degraded"] else NO_DEGRADED,
        program=f"{row['program']:05d}",
        data_release_id=result.options.data_release_id,
        version_id=result.options.version_id,
        target=row["target"],
        constraints=row["constraints"],
        asn_id=row["asn_id"],
        asn_pool=result.asn_pool,
        skycell_wcs_info=skycell_wcs_info(row["skycell"]) if row["skycell"] else "none",
    ).dump()


def render_texts(
    result: GenerationResult, start: int = 0, stop: int | None = None
) -> Iterator[tuple[str, str]]:
    """(file name, JSON text) for associations[start:stop]: the bytes Association.dump() gives."""
    frame = result.associations.slice(start, None if stop is None else stop - start)
    texts = render_frame(frame, result)
    yield from zip(texts["file_name"].to_list(), texts["text"].to_list(), strict=True)


def _write_texts(dir_fd: int, folder: Path, names: list[str], texts: list[bytes], stop) -> int:
    """Write each text whole under its name in the open folder ``dir_fd`` (see
    ``roman_asn.atomic.write_bytes_in``: no path lookup and no text layer per file,
    3-4 times cheaper than opening paths). Stops between files once ``stop`` is set
    (Ctrl-C): every file is whole or absent."""
    write, suffix, stopped = write_bytes_in, temporary_suffix(), stop.is_set
    for number, (name, data) in enumerate(zip(names, texts, strict=True)):
        if stopped():
            return number
        try:
            write(dir_fd, name, data, None, suffix)
        except OSError as error:
            raise write_error(error, folder / name) from None
    return len(names)


def _chunk_bytes(result: GenerationResult, start: int, stop: int) -> tuple[list[str], list[bytes]]:
    frame = result.associations.slice(start, stop - start)
    texts = render_frame(frame, result)
    return texts["file_name"].to_list(), texts["text"].cast(pl.Binary).to_list()


def write_associations(
    result: GenerationResult,
    output_dir: str | os.PathLike[str],
    *,
    workers: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> WrittenFiles:
    """Write every association of ``result`` into ``output_dir``; return the paths.

    The JSON of each chunk is built by polars (off the GIL) while writer threads put
    the previous chunks on disk through one open folder descriptor (no path lookup
    per file). Threads rather than forked processes, because polars' thread pool does
    not survive a fork. ``workers``: writer threads (default 1; the file system
    serializes creations in one folder and the GIL the Python loop, so more do not
    help). ``on_progress(n)`` is called after each chunk.
    """
    check_file_names(result.associations)
    folder = make_folder(output_dir)
    total = result.associations.height
    remove_stale_temporaries(folder)
    try:
        dir_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as error:
        raise write_error(error, folder) from None
    stop = threading.Event()
    try:
        with ThreadPoolExecutor(max_workers=workers or 1) as pool:
            pending = []
            try:
                for start in range(0, total, CHUNK):
                    names, texts = _chunk_bytes(result, start, min(start + CHUNK, total))
                    pending.append(pool.submit(_write_texts, dir_fd, folder, names, texts, stop))
                    while len(pending) > 4 or (pending and pending[0].done()):
                        done = wait_for(pending.pop(0))
                        if on_progress:
                            on_progress(done)
                for future in pending:
                    done = wait_for(future)
                    if on_progress:
                        on_progress(done)
            except BaseException:
                # Ctrl-C or a failed write: the writers stop after the file in hand
                stop.set()
                for future in pending:
                    future.cancel()
                raise
    finally:
        os.close(dir_fd)
    return WrittenFiles(folder, result.associations["file_name"])


def check_file_names(associations: pl.DataFrame) -> None:
    """Every file name, and every product name romancal will write a file under, stays
    in the output folder, and file names are unique even where case does not count
    (macOS, Windows): a rule whose names could escape or overwrite one another is
    refused before anything is written. The checks run as one polars query (in
    parallel: millions of names a part); the first one failing is reported."""
    name = pl.col("file_name")
    checks = {
        "unsafe": name.str.contains(UNSAFE_FILE_NAME),
        "too_long": name.str.len_bytes() > MAX_NAME_BYTES,
        "clash": name.str.to_lowercase().is_duplicated(),
    }
    if "product_name" in associations.columns:  # romancal names its output file after it
        checks["product"] = unsafe_product_name(pl.col("product_name")).fill_null(False)
    failed = associations.select(**checks)
    found = failed.select(pl.all().any()).row(0, named=True)
    if not any(found.values()):
        return
    names = associations["file_name"]
    if found["unsafe"]:
        index = int(failed["unsafe"].arg_true()[0])
        raise RomanAsnError(
            f"rule {associations['rule'][index]} makes the file name {names[index]!r}, "
            "which is not a plain file name (a '/', '\\', control character or leading '.')"
        )
    if found["too_long"]:  # found here, not after thousands of files are written
        index = int(failed["too_long"].arg_true()[0])
        raise RomanAsnError(
            f"rule {associations['rule'][index]} makes a file name of "
            f"{len(names[index].encode())} bytes ({names[index][:60]!r}...): file systems "
            f"take at most {MAX_NAME_BYTES}"
        )
    if found.get("product"):  # the engine drops these groups: a backstop for other makers
        index = int(failed["product"].arg_true()[0])
        raise RomanAsnError(
            f"rule {associations['rule'][index]} makes the product name "
            f"{associations['product_name'][index]!r}, which is not a plain file name "
            f"({UNSAFE_PRODUCT_NAME}): romancal writes its product under that name"
        )
    folded = names.str.to_lowercase()
    first = folded.filter(failed["clash"])[0]
    same = names.filter(folded == first).to_list()
    raise RomanAsnError(
        f"associations {' and '.join(repr(n) for n in same[:2])} would share one file "
        "where case does not count; their rules must name them apart"
    )


def wait_for(future: Future):
    """The future's result, waking every 0.1 s: a signal handled by a writer thread
    does not interrupt the main thread's wait, so Ctrl-C would wait for the chunk."""
    while True:
        try:
            return future.result(timeout=0.1)
        except FuturesTimeout:
            continue


ASN_PATTERN = "*_asn.json"
LOCK_NAME = ".roman-asn.lock"
EXISTING = ("refuse", "clean", "force")


class OutputFolder:
    """The folder a run writes its association files into, held for the run.

    - A lock (``.roman-asn.lock``, ``flock``: released when the process ends, even by
      ``kill -9``) makes a second run into the same folder fail at once instead of
      mixing its files with the first one's.
    - Association files already there that this run does not write are refused
      (``existing="refuse"``, the default: the folder would mix two runs' outputs),
      removed once the run has written its own (``"clean"``) or left alone (``"force"``).
      Files this run rewrites are fine: re-running a command is safe.
    """

    def __init__(self, folder: str | os.PathLike[str], existing: str = "refuse") -> None:
        if existing not in EXISTING:
            raise ValueError(f"existing must be one of {EXISTING}, not {existing!r}")
        self.folder = Path(folder)
        self.existing_mode = existing
        self.existing: set[str] = set()
        self.blocked: set[str] = set()  # association-file names held by a folder
        self.written: set[str] = set()
        self._lock_fd: int | None = None
        self._made = False  # the folder is this run's: a run that fails leaves it empty

    def __enter__(self) -> OutputFolder:
        lock = self.folder / LOCK_NAME
        self._made = not os.path.lexists(self.folder)
        make_folder(self.folder)
        self._lock_fd = _take_lock(lock)
        remove_stale_temporaries(self.folder, force=True)
        # one listing, no stat per entry (a re-run finds a million files here); a folder
        # is in the way (a file cannot be renamed over it), a link of any kind is not
        with os.scandir(self.folder) as entries:
            found = [
                (e.name, e.is_dir(follow_symlinks=False))
                for e in entries
                if fnmatch.fnmatchcase(e.name, ASN_PATTERN)
            ]
        self.existing = {name for name, _ in found}
        self.blocked = {name for name, folder in found if folder}
        return self

    def check(self, names: Iterable[str] | None) -> None:
        """Refuse (default) when association files are here that a run writing ``names``
        would not rewrite; ``None``: the names are not known yet (chunked runs), so
        any association file already here counts. Whatever the mode, a folder under a
        name the run writes (or, with ``clean``, removes) is refused before the
        first file: found at that file, it would stop the run with part of its files
        written."""
        if self.blocked:
            everything = names is None or self.existing_mode == "clean"
            blocked = sorted(self.blocked if everything else self.blocked & set(names))
            if blocked:
                raise RomanAsnError(
                    f"{blocked[0]} is a folder ({len(blocked)} such name(s)) with the name "
                    "of an association file this run writes: move it away",
                    path=str(self.folder),
                )
        if self.existing_mode != "refuse" or not self.existing:
            return
        others = sorted(self.existing if names is None else self.existing - set(names))
        if others:
            raise RomanAsnError(
                f"the folder holds {len(others)} association file(s) this run does not "
                f"write (e.g. {others[0]}); use --clean to remove them or --force to "
                "write beside them",
                path=str(self.folder),
            )

    def wrote(self, names: Iterable[str]) -> None:
        self.written.update(names)

    def __exit__(self, kind, *rest) -> None:
        try:
            if kind is None and self.existing_mode == "clean":
                for name in sorted(self.existing - self.written):
                    try:
                        (self.folder / name).unlink(missing_ok=True)
                    except OSError as error:
                        raise WriteError(
                            f"cannot remove: {error.strerror}", path=str(self.folder / name)
                        ) from None
        finally:
            if self._lock_fd is not None:
                # removed while still held: a run waiting on this file sees it is gone
                with contextlib.suppress(OSError):
                    os.unlink(self.folder / LOCK_NAME)
                os.close(self._lock_fd)
                self._lock_fd = None
            if kind is not None and self._made:  # a refused pool: no empty folder stays
                with contextlib.suppress(OSError):  # not empty: it keeps what was written
                    os.rmdir(self.folder)


def _take_lock(lock: Path) -> int:
    """An exclusive ``flock`` on ``lock`` (created if need be), or a one-line error when
    another process holds it. The lock goes with the process, so ``kill -9`` frees it."""
    import fcntl

    while True:
        try:  # never through a link: the lock must not create a file outside the folder
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o666)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise RomanAsnError(
                    "is a symbolic link; roman-asn's lock must be a plain file: remove it",
                    path=str(lock),
                ) from None
            raise write_error(error, lock) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise RomanAsnError(
                "is not a plain file; roman-asn's lock must be one: remove it", path=str(lock)
            )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise RomanAsnError(
                "another roman-asn run is writing into this folder (it holds "
                f"{LOCK_NAME}); wait for it to finish or choose another output folder",
                path=str(lock.parent),
            ) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the holder removed it as we opened it: take the new one


class WrittenFiles(Sequence[Path]):
    """The written paths, made on access: a million Path objects cost seconds."""

    def __init__(self, folder: Path, names: pl.Series) -> None:
        self.folder, self.names = folder, names

    def __len__(self) -> int:
        return len(self.names)

    @overload
    def __getitem__(self, index: int) -> Path: ...
    @overload
    def __getitem__(self, index: slice) -> list[Path]: ...
    def __getitem__(self, index: int | slice) -> Path | list[Path]:
        if isinstance(index, slice):
            return [self.folder / name for name in self.names[index].to_list()]
        return self.folder / self.names[index]

    def __iter__(self) -> Iterator[Path]:
        return (self.folder / name for name in self.names)
