"""Output files never overwrite a command's inputs, or each other.

A command declares each file it writes with :class:`OutputFile`; every other
argument or option that names an existing file is an input. Before the command
runs, :class:`Command` refuses an output that is the same file as an input (by
device and inode, so links and other spellings count) or as another output:
``generate P.csv --orphans P.csv`` or ``catalog ingest C.db P --changes C.db``
would replace the very file being read, and two outputs on one path would lose
one of them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

import click

from roman_asn.errors import RomanAsnError

# '' is the current folder to os and pathlib: ``-o "$OUT"`` with OUT unset wrote
# there, and an input was reported as '.'; an empty name is refused as a usage error.
EMPTY_PATH = "an empty name is no file or folder"
# '-' is standard input where a pool or a list is read; as an output it made a file
# named '-' in the current folder, where the output was expected on the terminal.
DASH_OUTPUT = "'-' stands for standard output, which this output cannot be: give a name (./-)"


def _output_name(kind: click.Path, value, param, ctx) -> str:
    """``value`` as a path, unless it is '' or '-' (a usage error)."""
    path = os.fspath(value)
    if not path:
        kind.fail(EMPTY_PATH, param, ctx)
    if path == "-":
        kind.fail(DASH_OUTPUT, param, ctx)
    return path


class OutputFile(click.Path):
    """A file the command writes. ``may_replace``: the one input parameter it may
    be (an in-place edit of that input is the point, as with ``edit -o ASN``).

    Checked as the command line is read, before any work (a run recorded in a
    catalog, a pool scanned): a folder or device named as the file, or a folder in
    the way of it that is a file, a link to nothing, or cannot be written, is an
    error naming it (``atomic.check_file``)."""

    def __init__(self, *, may_replace: str | None = None) -> None:
        super().__init__(dir_okay=False)
        self.may_replace = may_replace

    def convert(self, value, param, ctx) -> str:
        from roman_asn.atomic import check_file

        path = _output_name(self, value, param, ctx)
        check_file(path)
        return path


class OutputDir(click.Path):
    """A folder the command writes in, made with its parents if need be. Checked as
    the command line is read: a file or a link to nothing there, or on the way to it,
    is an error naming it (``atomic.check_folder``), as for every output folder."""

    def __init__(self) -> None:
        super().__init__(file_okay=False)

    def convert(self, value, param, ctx) -> str:
        from roman_asn.atomic import check_folder

        path = _output_name(self, value, param, ctx)
        check_folder(path)
        return path


class Command(click.Command):
    """A command whose outputs are checked against its inputs before it runs."""

    def invoke(self, ctx: click.Context) -> object:
        refuse_empty_paths(ctx)
        check_outputs(ctx)
        return super().invoke(ctx)


class Group(click.Group):
    """A group whose subcommands are :class:`Command`."""

    command_class = Command


def _paths(value: object) -> Iterator[str]:
    if isinstance(value, (tuple, list)):
        for item in value:
            yield from _paths(item)
    elif isinstance(value, (str, os.PathLike)):
        yield os.fspath(value)


def _place(path: str) -> str:
    """Where ``path`` would be, for names that do not exist yet."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return path


def _identity(path: str) -> tuple[int, int] | None:
    """The (device, inode) of the regular file ``path`` names, links followed."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISREG(info.st_mode) else None


def _label(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        return next((opt for opt in param.opts if opt.startswith("--")), param.opts[0])
    return (param.name or "").upper()


def refuse_empty_paths(ctx: click.Context) -> None:
    """A usage error when an input path parameter (a ``click.Path``) is ''."""
    for param in ctx.command.params:
        if isinstance(param.type, click.Path) and "" in _paths(ctx.params.get(param.name or "")):
            raise click.BadParameter(EMPTY_PATH, ctx=ctx, param=param)


def check_outputs(ctx: click.Context) -> None:
    """Raise a one-line error, before anything is read or written, when an output
    file of ``ctx``'s command is one of its input files or another output."""
    inputs: dict[object, tuple[str, click.Parameter]] = {}
    outputs: list[tuple[str, click.Parameter]] = []
    for param in ctx.command.params:
        for path in _paths(ctx.params.get(param.name or "")):
            if isinstance(param.type, OutputFile):
                outputs.append((path, param))
            elif (key := _identity(path)) is not None:
                inputs.setdefault(key, (path, param))
            elif isinstance(param, click.Argument) and path != "-":
                # an input the command creates (a new catalog): by where it would be
                inputs.setdefault(_place(path), (path, param))
    seen: dict[object, tuple[str, click.Parameter]] = {}
    for path, param in outputs:
        key = _identity(path)
        place = key if key is not None else _place(path)
        source = inputs.get(place)
        if source is not None and source[1].name != param.type.may_replace:
            raise RomanAsnError(
                f"{_label(param)} would overwrite the input {source[0]} "
                f"({_label(source[1])}); nothing was written: choose another output name",
                path=path,
            )
        if place in seen:
            raise RomanAsnError(
                f"{_label(param)} and {_label(seen[place][1])} name the same file; "
                "nothing was written: give each output its own name",
                path=path,
            )
        seen[place] = (path, param)
