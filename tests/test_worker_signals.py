"""Worker processes started deaf to the stop signals (``worker_signals.started_deaf``)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

from roman_asn.worker_signals import started_deaf

SHOW = (
    "import signal; "
    "print(*(signal.getsignal(n) == signal.SIG_IGN for n in (signal.SIGINT, signal.SIGTERM)))"
)


def _child_handlers() -> str:
    return subprocess.run([sys.executable, "-c", SHOW], capture_output=True, text=True).stdout


def test_children_started_inside_ignore_the_signals_and_ours_are_put_back():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with started_deaf(signal.SIGINT, signal.SIGTERM):
        inside = _child_handlers()
    assert inside.split() == ["True", "True"]  # ignored
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert _child_handlers().split() == ["False", "False"]  # only inside the block


def test_a_signal_sent_inside_waits_for_the_block_to_end():
    """Sent to this thread: one sent to the process may be taken by another thread of
    it, where it is not blocked (threads left by other tests, in a full run)."""
    got: list[int] = []
    previous = signal.signal(signal.SIGUSR1, lambda number, _: got.append(number))
    try:
        with started_deaf(signal.SIGUSR1):
            signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
            assert got == []  # blocked, not lost to the ignored disposition
        assert got == [signal.SIGUSR1]
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_outside_the_main_thread_nothing_changes():
    seen: list[str] = []

    def start() -> None:
        with started_deaf():
            seen.append(_child_handlers())

    thread = threading.Thread(target=start)
    thread.start()
    thread.join()
    assert seen[0].split() == ["False", "False"]


def test_a_dask_worker_its_nanny_starts_again_ignores_ctrl_c_too():
    """Started again after the first ones (a crash, a lost heartbeat), a worker inherits
    the command's handler; the worker preload sets it aside again (CI saw the
    traceback of such a worker under the command's one line)."""
    import os
    import time

    from roman_asn.generator.distributed import dask_client

    def ignored() -> bool:
        return signal.getsignal(signal.SIGINT) == signal.SIG_IGN

    with dask_client(workers=1) as client:
        (first,) = client.run(os.getpid).values()
        assert list(client.run(ignored).values()) == [True]
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:  # the scheduler may still list the killed one for a moment
                pids = list(client.run(os.getpid).values())
            except Exception:  # noqa: BLE001
                pids = []
            if pids and pids != [first]:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the nanny did not start the worker again")
        assert list(client.run(ignored).values()) == [True]
