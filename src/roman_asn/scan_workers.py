"""Imported first by make-pool's fork server (``make_pool._WORKER_MODULES``), so it is in
every file-scanning worker the server forks. A worker forked just after make-pool was
stopped (Ctrl-C, SIGTERM) finds the queues it was handed already gone: it ends without
printing that traceback under the command's own one-line message."""

from __future__ import annotations

import sys

# what a worker meets when the process that asked for it has gone
_PARENT_GONE = (FileNotFoundError, EOFError, BrokenPipeError, ConnectionResetError)
_report = sys.excepthook


def _quiet_if_parent_gone(kind, value, traceback) -> None:
    if not issubclass(kind, _PARENT_GONE):
        _report(kind, value, traceback)


sys.excepthook = _quiet_if_parent_gone
