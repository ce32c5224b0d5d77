"""Ending a run cleanly on Ctrl-C or SIGTERM.

Ctrl-C reaches every process of the run (one process group); SIGTERM may reach only the
manager. The rules:
  - while a cell runs, the manager holds both signals (`held()`), so it never abandons a worker
    half-way; the signal is delivered when the cell ends, and the run stops at that cell
    boundary. The result file is saved after every cell, so nothing finished is lost.
  - a blocked signal mask is inherited through fork and exec, so a worker starts with the
    signals held: a Ctrl-C during its start-up waits until it can be handled. `stop_worker_once`
    then raises KeyboardInterrupt once, which unwinds through the session's cleanup (children
    stopped, channels closed, shared memory released), and ignores later signals so that the
    cleanup itself is not interrupted.
  - the worker holds the signals again while it starts children, so they too start with them
    held, until `child.prepare_child` has set their own dispositions.
"""

import contextlib
import signal

SIGNALS = {signal.SIGINT, signal.SIGTERM}


class ManagerStop:
    """Installed in the manager; `requested` turns true once either signal arrives."""

    def __init__(self) -> None:
        self.requested = False
        for number in SIGNALS:
            signal.signal(number, self._handle)

    def _handle(self, signum, frame) -> None:
        self.requested = True


@contextlib.contextmanager
def held():
    """Delay SIGINT and SIGTERM until the block ends (then their handlers run); a hold inside
    another keeps them held until the outer one ends."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


@contextlib.contextmanager
def held_while_starting_children(method: str):
    """held(), for starting a cell's children under the start method `method`."""
    if method in ("spawn", "forkserver"):
        from ipcbench.children import start_resource_tracker

        start_resource_tracker()  # before the hold: starting it later would undo the hold
    with held():
        yield


def stop_worker_once() -> None:
    """In a worker: the first signal raises KeyboardInterrupt, later ones are ignored."""

    def handle(signum, frame):
        for number in SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        raise KeyboardInterrupt

    for number in SIGNALS:
        signal.signal(number, handle)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)  # deliver what arrived during start-up
