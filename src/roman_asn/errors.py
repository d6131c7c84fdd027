"""Errors users see: each names the file, where in it, and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

import click


class RomanAsnError(click.ClickException):
    """An error caused by the user's input: click shows it as one line and exits 2."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: str | None = None,
        row: int | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.column = column
        self.row = row
        self.key = key  # of a TOML or JSON document, where a table's column is not

    def __str__(self) -> str:
        where = []
        if self.path is not None:
            where.append(str(self.path))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.key is not None:
            where.append(f"key {self.key!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message

    def format_message(self) -> str:
        return str(self)

    def show(self, file: IO[Any] | None = None) -> None:
        """``error: <file>, line N: what is wrong`` on stderr, never wrapped."""
        from rich.console import Console
        from rich.markup import escape

        # one line whatever the names in it hold (a file or association name with a
        # newline or an escape sequence, given back by the user)
        text = one_line(str(self))
        Console(file=file, stderr=file is None, highlight=False).print(
            f"[bold red]error:[/] {escape(text)}", soft_wrap=True
        )


class PoolError(RomanAsnError):
    """A pool file that cannot be read as a pool."""


class AssociationError(RomanAsnError):
    """An association file that cannot be read or is not an association."""


@dataclass(frozen=True)
class Problem:
    """One validation problem: where (JSON path) and what."""

    path: str
    json_path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.json_path}: {self.message}"


def one_line(text: str) -> str:
    """``text`` with what does not print (line breaks, escape sequences, the C1 set,
    Unicode line separators and direction marks) written as ``\\n``, ``\\x1b``...: a
    name given back in a message stays one line and cannot move the terminal's cursor."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


def first_line(error: BaseException) -> str:
    """The first line of an error's message (libraries such as polars, pyarrow and asdf
    write several), or its type's name when it has none: one line for our messages."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters: an error quoting a 5,000-digit value
    stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
