"""Set-up of the local Dask workers of ``generate --workers`` (a Dask worker preload).

Ctrl-C is the command's to act on (``worker_signals``). Workers started inside
``started_deaf`` ignore it from their first instruction, but a worker its nanny starts
again later (after a crash, or a heartbeat lost on a loaded machine) inherits the
command's own handler and printed a KeyboardInterrupt traceback under the command's
one-line message. Dask imports this module in every worker it starts, restarted ones
included."""

from __future__ import annotations

import signal
import threading


def dask_setup(worker: object) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
