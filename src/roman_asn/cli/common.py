"""What every subcommand shares: error reporting, the console, progress bars."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import click
from rich.console import Console

from roman_asn.errors import RomanAsnError, one_line

T = TypeVar("T")

# Off a terminal (a pipe, a file, a test) nothing is cut or wrapped at 80 columns.
_WIDE = 10_000


def _console(stderr: bool) -> Console:
    """Markup only where a call asks for it (``markup=True``, every name in the line
    through :func:`escape`): names from pools, folders and catalogs hold brackets, and
    an output folder named 'o[/x]' was a MarkupError traceback after the run."""
    tty = (sys.stderr if stderr else sys.stdout).isatty()
    return Console(
        stderr=stderr,
        highlight=False,
        markup=False,
        soft_wrap=not tty,
        width=None if tty else _WIDE,
    )


console = _console(stderr=False)
err_console = _console(stderr=True)


def escape(text: object) -> str:
    """``text`` (a name from the user, a pool, a folder or a catalog) for a line printed
    with ``markup=True``: brackets shown as they are, what does not print escaped."""
    from rich.markup import escape as escape_markup

    return escape_markup(one_line(str(text)))


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a batch system's time limit): unwound as Ctrl-C is, so
    temporaries and the output folder's lock go with the run."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


@contextlib.contextmanager
def _unwinding_on_sigterm() -> Iterator[None]:
    """Unwind on SIGTERM, in the main thread, unless someone else handles it."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGTERM) != signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run_cli(group: click.Group, argv: list[str] | None = None) -> int:
    """Run ``group`` as click does on the command line and return the exit status.

    A run from the command line (``argv`` None) owns its process: once interrupted it
    ignores Ctrl-C to the end, its teardown included. A call with ``argv`` (a caller's
    process, tests) gives the caller its Ctrl-C handler back."""
    import signal

    handler = signal.getsignal(signal.SIGINT)
    try:
        with _unwinding_on_sigterm():
            group.main(args=argv, prog_name="roman-asn", standalone_mode=True)
    except KeyboardInterrupt:  # outside a command's own handling (user_errors)
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # else said already
            _ignore_further_interrupts()
            err_console.print("Interrupted.")
        return 130
    except SystemExit as stop:
        code = stop.code
        if code is None or isinstance(code, int):
            return code or 0
        err_console.print(f"error: {code}", markup=False, highlight=False)  # as sys.exit would
        return 1
    finally:
        if argv is not None and handler is not None and _in_main_thread():
            signal.signal(signal.SIGINT, handler)
    return 0


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def user_errors(debug: bool) -> Iterator[None]:
    """Around a subcommand: an OSError is a user error (one line, exit 2); with
    ``debug`` the traceback of a user error is printed first; Ctrl-C exits 130."""
    try:
        yield
    except Terminated:
        err_console.print("Terminated.")
        raise click.exceptions.Exit(143) from None
    except KeyboardInterrupt:
        _ignore_further_interrupts()
        err_console.print("Interrupted.")
        raise click.exceptions.Exit(130) from None
    except MemoryError as error:  # e.g. a synthetic pool of 10^11 exposures
        detail = f": {' '.join(str(error).split())[:160]}" if str(error) else ""
        raise RomanAsnError(f"not enough memory for this run{detail}") from None
    except (RomanAsnError, OSError) as error:
        if debug:
            traceback.print_exception(error)
        if isinstance(error, RomanAsnError):
            raise
        if error.strerror and error.filename is not None:  # "<file>: File name too long"
            where = os.fsdecode(error.filename)
            raise RomanAsnError(error.strerror, path=where) from error
        raise RomanAsnError(str(error)) from error


def _ignore_further_interrupts() -> None:
    """Once Ctrl-C is taken, a second one (pressed again, or reaching the process while
    Dask workers and threads wind down) must not escape as a KeyboardInterrupt from
    the teardown: the process would die of the signal (status -2) after saying
    "Interrupted.", instead of exiting 130."""
    import signal

    if _in_main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


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


@contextlib.contextmanager
def status_line(text: str) -> Iterator[Callable[[str], None] | None]:
    """A status line saying ``text`` on a terminal, and what to call to say how far the
    work is (shown as ``text: how far``); None when not a terminal."""
    if not err_console.is_terminal:
        yield None
        return
    from rich.text import Text

    with err_console.status(Text(text)) as status:  # a spinner's text is markup
        yield lambda how_far: status.update(Text(f"{text}: {how_far}"))


class RichReporter:
    """Run reports on stderr: a spinner per phase and log lines, only on a terminal."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and err_console.is_terminal

    def status(self, text: str):
        if not self.enabled:
            return contextlib.nullcontext()
        from rich.text import Text

        return err_console.status(Text(text), spinner="dots")

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
