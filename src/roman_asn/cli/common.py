"""What every subcommand shares: error reporting, the console, progress bars."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

import click
from rich.console import Console
from rich.markup import escape

from roman_asn.errors import RomanAsnError

T = TypeVar("T")

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def run_cli(group: click.Group, argv: list[str] | None = None) -> int:
    """Run ``group``; user errors become one line on stderr and exit status 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        # with standalone_mode=False click returns (not raises) the code of ctx.exit/Exit
        result = group.main(args=args, prog_name="roman-asn", standalone_mode=False)
        if isinstance(result, int):
            return result
    except click.exceptions.Exit as stop:
        return stop.exit_code
    except click.exceptions.Abort:
        err_console.print("Aborted.")
        return 130
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except RomanAsnError as error:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
        return error.exit_code
    except KeyboardInterrupt:
        err_console.print("Interrupted.")
        return 130
    except OSError as error:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
        return 2
    return result if isinstance(result, int) else 0


def exit_with(code: int) -> None:
    """Leave a command with ``code`` without an error message."""
    raise click.exceptions.Exit(code)


def progress(
    items: Iterable[T], *, total: int | None, description: str, enabled: bool = True
) -> Iterator[T]:
    """Yield ``items`` with a rich progress bar on a terminal (off when not a TTY)."""
    if not enabled or not err_console.is_terminal:
        yield from items
        return
    from rich.progress import Progress

    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)


class RichReporter:
    """Run reports on stderr: a spinner per phase and log lines, only on a terminal."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and err_console.is_terminal

    def status(self, text: str):
        if not self.enabled:
            return contextlib.nullcontext()
        return err_console.status(text, spinner="dots")

    def log(self, text: str) -> None:
        if self.enabled:
            err_console.log(text)


class WriteProgress:
    """A progress bar for files written by an output (shown from ``threshold`` files)."""

    def __init__(self, enabled: bool = True, threshold: int = 5_000) -> None:
        self.enabled = enabled and err_console.is_terminal
        self.threshold = threshold
        self._bar = None
        self._task = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < self.threshold:
            return
        if self._bar is None:
            from rich.progress import Progress

            self._bar = Progress(console=err_console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task("writing associations", total=total)
        self._bar.update(self._task, completed=done, total=total)
        if done >= total:
            self._bar.stop()
            self._bar = None


SKYMAP_OPTION = click.option(
    "--skymap",
    "skymap_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Sky-cell reference file (ASDF) to use instead of the computed tessellation "
    "(default: $SKYMAP_PATH when set).",
)
