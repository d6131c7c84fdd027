"""Whole files or none: writes that never leave a partial or temporary file behind.

Every file is written under a temporary name, ``.<name>.<pid>.<random>.tmp``, and
renamed over its target only once every byte is written (rename is atomic: readers
see the old file or the whole new one). An error or Ctrl-C removes the temporary
file; one left by ``kill -9`` is removed by the first write of a later run into
the folder, since its process is gone (:func:`remove_stale_temporaries`).

Created files follow the umask (0644 under 022, 0600 under 077), as with any Unix
tool; rewriting an existing file keeps its mode and, by default, writes through a
symlink to the file it names (a link to nothing is replaced). A failed write raises
:class:`WriteError` naming the path (a full disk, a short write, a read-only folder).

No fsync: that guards against power loss, not crashes, and costs milliseconds per
file when a run writes millions of associations.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import secrets
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from roman_asn.errors import RomanAsnError

TEMP_SUFFIX = ".tmp"
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_cleaned: set[str] = set()
_cleaned_lock = threading.Lock()


class WriteError(RomanAsnError):
    """A file could not be written completely; nothing partial was left."""


_RUST_ERRNO = re.compile(r"\(os error (\d+)\)$")


def write_error(error: OSError, path: str | os.PathLike[str]) -> WriteError:
    """The one-line error for a failed write of ``path`` (pyarrow's strerror is its own
    sentence with the errno inside, polars's OSError has no errno but ends "(os error
    28)": the system's words for the errno are said instead)."""
    found = _RUST_ERRNO.search(str(error)) if error.errno is None else None
    code = int(found.group(1)) if found else error.errno
    if code in errno.errorcode:
        return WriteError(f"cannot write: {os.strerror(code)}", path=str(path))
    reason = error.strerror or str(error) or type(error).__name__
    return WriteError(f"cannot write: {reason}", path=str(path))


def make_folder(path: str | os.PathLike[str]) -> Path:
    """The folder ``path``, made with its parents if need be; a one-line error naming
    it otherwise (a file or device in the way says so, not "File exists")."""
    folder = Path(path)
    try:
        _make(folder)
    except OSError as error:
        raise write_error(error, folder) from None
    return folder


def _make(folder: Path) -> None:
    """``folder.mkdir(parents=True, exist_ok=True)``; where a file or a link to nothing
    stands in the way (mkdir says "File exists" or "Not a directory"), a WriteError
    naming it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        why = _in_the_way(folder) or "exists and is not a folder"
        raise WriteError(f"cannot write: {why}", path=str(folder)) from None


def link_to_nothing(path: str | os.PathLike[str]) -> str | None:
    """What is wrong with ``path`` if it is a link to nothing ("is a link to X, which
    does not exist"), else None."""
    if os.path.islink(path) and not os.path.exists(path):
        return f"is a link to {os.readlink(path)}, which does not exist"
    return None


def _in_the_way(folder: Path, *, writable: bool = False) -> str | None:
    """What keeps ``folder`` from being made (with its parents) or written in, found
    without writing anything: a link to nothing or a file at it or on the way to it,
    or (``writable``) a folder where files or folders must be made that this user
    cannot write in; None when nothing is in the way."""
    for place in (folder, *folder.parents):
        named = "" if place == folder else f"{place} "
        if why := link_to_nothing(place):
            return named + why
        if not os.path.exists(place):
            continue  # made when the first file is written
        if not os.path.isdir(place):
            return f"{place} is a file" if named else "exists and is not a folder"
        if writable and not os.access(place, os.W_OK | os.X_OK):
            where = f"folder {named}" if named else "the folder "
            return where + "cannot be written (read-only, or no permission)"
        return None
    return None


def check_folder(path: str | os.PathLike[str]) -> None:
    """Before any work: refuse an output folder that no file can be written in (see
    :func:`_in_the_way`; whether it can be written is found when writing, as an
    option's default folder may not be written at all)."""
    if why := _in_the_way(Path(path)):
        raise WriteError(f"cannot write: {why}", path=os.fspath(path))


def check_file(path: str | os.PathLike[str]) -> None:
    """Before any work: refuse an output file that cannot be written (a folder, a
    device, or a folder that cannot hold it: see :func:`_in_the_way`), naming the
    path at fault. A failure only writing can show (a full disk) is said then."""
    target = resolve_target(path)
    if target.is_dir():
        raise WriteError("cannot write: is a folder, not a file", path=os.fspath(path))
    if why := _in_the_way(target.parent, writable=True):
        # the folder in the way is named, as when writing (the file itself is not there)
        raise WriteError(f"cannot write: {why}", path=str(target.parent))


def temporary_suffix() -> str:
    """``.<pid>.<random>.tmp``: unique, and naming the process that owns the file."""
    return f".{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"


def temporary_name(name: str, suffix: str | None = None) -> str:
    """``.<name>.<pid>.<random>.tmp``: hidden, unique, and naming the process that owns it
    (``suffix``: one :func:`temporary_suffix` shared by a batch of distinct names)."""
    return f".{name}{suffix or temporary_suffix()}"


_TEMPORARY = re.compile(r"^\..+\.(\d{1,10})\.[0-9a-f]{8}" + re.escape(TEMP_SUFFIX) + "$")


def _owner(entry_name: str) -> int | None:
    """The pid in a temporary name made by :func:`temporary_name`, exactly
    ``.<name>.<pid>.<8 hex digits>.tmp``: a user's own ``.notes.2024.tmp`` is not ours."""
    found = _TEMPORARY.match(entry_name)
    return int(found.group(1)) if found else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_stale_temporaries(folder: str | os.PathLike[str], *, force: bool = False) -> int:
    """Remove the temporary files an interrupted earlier run left in ``folder`` (those
    whose process no longer runs); once per folder and process unless ``force``."""
    key = os.path.abspath(folder)
    with _cleaned_lock:
        if key in _cleaned and not force:
            return 0
        _cleaned.add(key)
    removed = 0
    try:
        entries = list(os.scandir(key))
    except OSError:
        return 0
    for entry in entries:
        pid = _owner(entry.name)
        if pid is None or _alive(pid):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed += 1
    return removed


def resolve_target(path: str | os.PathLike[str], follow_symlinks: bool = True) -> Path:
    """The file a write of ``path`` replaces: through symlinks unless told otherwise.
    A link to nothing is replaced itself: following it would make its target's folders
    wherever it points, outside the folder the user named."""
    target = Path(path)
    if follow_symlinks and target.is_symlink() and target.exists():
        target = Path(os.path.realpath(target))
    try:
        kind = os.stat(target, follow_symlinks=False).st_mode
    except OSError:
        return target  # nothing there yet (or not reachable: the write will say so)
    if not (stat.S_ISREG(kind) or stat.S_ISDIR(kind) or stat.S_ISLNK(kind)):  # a link: replaced
        # the temporary file would be renamed over it: /dev/null would become a file
        raise WriteError(
            "is a device, pipe or socket, not a file: give a file path for the output",
            path=str(path),
        )
    return target


def _existing_mode(target: Path) -> int | None:
    try:
        info = os.stat(target, follow_symlinks=False)
    except OSError:
        return None
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else None


def write_all(fd: int, data: bytes | memoryview) -> None:
    """``os.write`` until every byte is written (it may write fewer than asked)."""
    written = os.write(fd, data)
    if written == len(data):  # nearly always: one call
        return
    view = memoryview(data)[max(written, 0) :]
    if written <= 0:
        raise OSError(errno.EIO, "the write made no progress")
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "the write made no progress")
        view = view[written:]


def write_bytes_in(
    dir_fd: int, name: str, data: bytes, mode: int | None = None, suffix: str | None = None
) -> None:
    """Write ``data`` as ``name`` in the open folder ``dir_fd``, whole or not at all.

    The generator's fast path for millions of small files: no path lookups, no text
    layer. Raises OSError (callers name the path)."""
    tmp = temporary_name(name, suffix)
    fd = os.open(tmp, _OPEN_FLAGS, 0o666, dir_fd=dir_fd)
    try:
        try:
            write_all(fd, data)
            if mode is not None:
                os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str], mode: str = "w", *, follow_symlinks: bool = True, **kwargs
) -> Iterator[IO]:
    """Open a temporary file beside ``path``; it becomes ``path`` only on success.

    Bytes go out through ``os.write`` in a checked loop (``_RawFile`` under a
    buffer), so a short write is finished and a failing one raises."""
    with atomic_path(path, follow_symlinks=follow_symlinks) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0))
        try:
            buffered = io.BufferedWriter(_RawFile(fd), buffer_size=1 << 20)
            stream = buffered if "b" in mode else io.TextIOWrapper(buffered, **kwargs)
            try:
                yield stream
                stream.flush()
            finally:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()  # closes only the wrappers: the descriptor is ours
        finally:
            os.close(fd)


class _RawFile(io.RawIOBase):
    """A raw stream over a descriptor that it does not close (atomic_open closes it)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return os.write(self._fd, data)


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, follow_symlinks: bool = True
) -> None:
    try:  # before anything is opened: JSON text may hold a lone surrogate ("\ud800")
        data = text.encode("utf-8")
    except UnicodeEncodeError as error:
        bad = error.object[error.start : error.end]
        raise WriteError(
            f"cannot be written as UTF-8: the text holds {bad!r} at character {error.start}"
            " (an unpaired surrogate, not a character)",
            path=str(path),
        ) from None
    atomic_write_bytes(path, data, follow_symlinks=follow_symlinks)


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, *, follow_symlinks: bool = True
) -> None:
    with atomic_open(path, "wb", follow_symlinks=follow_symlinks) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, follow_symlinks: bool = True) -> Iterator[Path]:
    """Yield a temporary path for writers that want a file name (Parquet, ASDF, plots);
    it is renamed to ``path`` when the block ends without an error."""
    target = resolve_target(path, follow_symlinks)
    folder = target.parent
    try:
        _make(folder)
        remove_stale_temporaries(folder)
        keep = _existing_mode(target)
        tmp = folder / temporary_name(target.name)
        os.close(os.open(tmp, _OPEN_FLAGS, 0o666))
    except OSError as error:
        raise write_error(error, target) from None
    try:
        yield tmp
        if keep is not None and not tmp.is_symlink():
            os.chmod(tmp, keep)
        os.replace(tmp, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise write_error(error, target) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def scratch_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A hidden, empty temporary file named after ``path`` (``.<name>.<pid>.<random>.tmp``
    in its folder) for intermediate data; removed when the block ends, whatever happens
    (an error, Ctrl-C; ``kill -9``: by :func:`remove_stale_temporaries`)."""
    target = Path(path)
    tmp = target.parent / temporary_name(target.name)
    try:
        os.close(os.open(tmp, _OPEN_FLAGS, 0o666))
    except OSError as error:
        raise write_error(error, target) from None
    try:
        yield tmp
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
