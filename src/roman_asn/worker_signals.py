"""Worker processes that leave stopping to the command that started them.

Ctrl-C in a terminal reaches the whole process group: the command and every worker it
started (make-pool's file scanners, the Dask workers of ``generate --workers``). A
worker interrupted mid-import or mid-task printed its own traceback under the
command's one-line message. Started inside :func:`started_deaf`, workers ignore those
signals; the command acts on them and ends its workers itself."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def started_deaf(*numbers: signal.Signals) -> Iterator[None]:
    """Processes started in this block ignore ``numbers`` (default SIGINT).

    An ignored disposition survives exec, where a blocked mask does not (the process
    starters reset it). Meanwhile the signals are blocked in this thread, and in
    threads it starts, so one sent to us now waits and is delivered after the block
    (Linux queues a blocked signal even while it is ignored). A thread started before
    the block does not block them: the kernel may hand such a signal to it, and it is
    then ignored (Ctrl-C pressed in the instant the workers start: press it again)."""
    numbers = numbers or (signal.SIGINT,)
    if threading.current_thread() is not threading.main_thread() or any(
        signal.getsignal(number) is None for number in numbers
    ):
        # handlers can only be set from the main thread, and one installed outside
        # Python (None here) could not be put back
        yield
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, numbers)
    handlers = {number: signal.signal(number, signal.SIG_IGN) for number in numbers}
    try:
        yield
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
