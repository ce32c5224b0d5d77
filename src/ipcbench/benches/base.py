"""A cell made live: CPUs placed, children started and checked, ready for the timed loop.

`Bench` is what a pyperf worker drives for one cell; each pattern module (benches/) holds the
benches of its pattern. Here: what they share (placement, start contexts, calibration, the
failure of a check).
"""

import multiprocessing
import os

from ipcbench.cell import Cell
from ipcbench.stopping import held_while_starting_children
from ipcbench.transports.base import MP_METHODS

# Commands and the stream ack are tiny, but the receive buffers must hold them too.
MIN_CAPACITY = 64


class DataError(Exception):
    """The transport lost, truncated, duplicated, corrupted or replayed a message."""


def spread_cpus(placement: str, children: int) -> tuple[set[int] | None, list[set[int] | None]]:
    """(parent CPUs, CPUs of each child) for a placement; None means not pinned.

    split gives each working process the next CPU in turn, the parent first: parent and child
    on different CPUs, and several children spread over all CPUs.
    """
    if placement == "free":
        return None, [None] * children
    cpus = sorted(os.sched_getaffinity(0))
    if placement == "same":
        return {cpus[0]}, [{cpus[0]}] * children
    if len(cpus) < 2:
        raise ValueError("placement 'split' needs at least 2 CPUs")
    return {cpus[0]}, [{cpus[(number + 1) % len(cpus)]} for number in range(children)]


def describe_placement(parent: set[int] | None, children: list[set[int] | None]) -> str:
    if parent is None:
        return "unpinned"
    if len(children) == 1:
        return f"parent on CPU {min(parent)}, child on CPU {min(children[0])}"
    cpus = ",".join(str(min(cpus)) for cpus in children)
    return f"parent on CPU {min(parent)}, children on CPUs {cpus}"


def describe_helpers(transport_class, cpus: set[int] | None) -> str:
    """Where a transport's helper processes run: the one rule is on the (first) child's CPUs."""
    if not transport_class.helpers:
        return "none"
    where = f"CPU {','.join(map(str, sorted(cpus)))}" if cpus else "unpinned"
    return f"{', '.join(transport_class.helpers)} on {where} (with the child)"


def start_context(method: str, child_modules: tuple[str, ...] = ("ipcbench.child",)):
    if method not in MP_METHODS:
        return None  # exec and in-process transports start no multiprocessing child
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # Children forked from the server then need no import of their own: what forkserver
        # is for. (A spawned child imports them: that is part of what spawn costs.)
        preload_in_fork_server(child_modules)
    return context


def preload_in_fork_server(modules) -> None:
    """Make this process's fork server preload at least `modules`.

    A worker times several cells (worker.py) and multiprocessing keeps one fork server per
    process. A server that already preloads them all serves on (the worker starts one for the
    union of its batch's modules: a restart costs a fresh interpreter, ~0.1 s per cell); any
    other is stopped, and the next child starts a new one preloading `modules`. The server is a
    fresh interpreter of its own, not a copy of the worker, and only forks. ForkServer's
    `_preload_modules`, `_forkserver_pid` and `_stop` are what CPython's own tests use (3.8+).
    """
    from multiprocessing import forkserver

    server = forkserver._forkserver
    if set(modules) <= set(server._preload_modules):
        return
    stop_fork_server()
    server.set_forkserver_preload(sorted(set(modules)))


def stop_fork_server() -> None:
    """Stop this process's fork server, if it runs, and wait for it: its CPU time and its
    children's then count as this process's (conditions.own_cpu_seconds)."""
    from multiprocessing import forkserver

    if forkserver._forkserver._forkserver_pid is not None:
        forkserver._forkserver._stop()


def calibrate(time_loops, min_time: float, min_loops: int = 1) -> int:
    """The loop count whose run takes at least `min_time` (pyperf's rule), found in-process.

    Doing this in the worker, with the children already running, replaces pyperf's extra
    calibration worker per cell; the calibration runs double as the warm-up. The first run is
    only a warm-up: a cold first run (lazy imports, first pickles) would end the search early.
    """
    time_loops(min_loops)
    loops = min_loops
    while True:
        elapsed = time_loops(loops)
        if elapsed >= min_time:
            return loops
        # Aim straight at min_time (with a margin), but never grow by less than 2x.
        estimate = int(loops * min_time * 1.2 / max(elapsed, 1e-9)) + 1
        loops = min(max(loops * 2, estimate), loops * 100)


def channel_modules(transport_class) -> tuple[str, ...]:
    """What a child serving a transport's channel imports."""
    return ("ipcbench.child", "ipcbench.payloads", transport_class.__module__)


class Bench:
    """What a worker drives for one cell: `with bench: bench.time(loops)`.

    The base places this process and its children on their CPUs and restores this process's
    affinity at the end; subclasses start what they need in open() and release it in close().
    """

    inner_loops = 1  # how many timed units one loop holds (pyperf divides by loops x this)
    min_loops = 1  # the fewest loops of a run whose value means what the pattern says

    def __init__(self, cell: Cell, children: int = 1) -> None:
        self.cell = cell
        self.context = None
        # Before this process pins itself: the CPUs it may use now are the ones to spread over.
        self.parent_cpus, self.child_cpus = spread_cpus(cell.placement, children)

    def __enter__(self) -> "Bench":
        self._saved_affinity = os.sched_getaffinity(0)
        if self.parent_cpus:
            os.sched_setaffinity(0, self.parent_cpus)
        try:
            self.context = start_context(self.cell.method, self.child_modules())
            # Children start with SIGINT and SIGTERM held (see stopping.py). The checks after,
            # which wait on those children, run without: a child that a signal ended meanwhile
            # must not leave this process waiting with the signal that would end the wait held.
            with held_while_starting_children(self.cell.method):
                self.open()
            self.check()
        except BaseException as error:
            self.__exit__(type(error), error, error.__traceback__)
            raise
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            self.close(intact=exc_type is None)
        finally:
            os.sched_setaffinity(0, self._saved_affinity)

    def describe_placement(self) -> str:
        return describe_placement(self.parent_cpus, self.child_cpus)

    def child_modules(self) -> tuple[str, ...]:
        """What the children import to do their work (a forkserver preloads it)."""
        return ("ipcbench.child",)

    def open(self) -> None:
        """Start the children and channels the cell needs (signals held meanwhile)."""
        raise NotImplementedError

    def check(self) -> None:
        """The checks before timing, once open: contents through every channel, in full."""

    def close(self, intact: bool) -> None:
        """Release everything; `intact` is false after an error (children may not listen)."""
        raise NotImplementedError

    def time(self, loops: int) -> float:
        """Seconds for `loops` iterations (pyperf's bench_time_func)."""
        raise NotImplementedError

    def extra_metadata(self, loops: int) -> dict:
        """The cell's facts (receive mode, helpers...) and figures measured over one more run of
        `loops` (lost updates), recorded with every run."""
        return {}

    def calibrate(self, min_time: float) -> int:
        return calibrate(self.time, min_time, self.min_loops)

    def run_metadata(self, values: int) -> dict:
        """Per-run metadata measured over the run's timed values, the last `values` calls of
        time() (see ipcbench.pyperf_runs)."""
        return {}

    def usable_cpus(self) -> int:
        """How many CPUs this cell's processes (helpers included) may use between them."""
        if self.parent_cpus is None:
            return len(self._saved_affinity)
        return len(set(self.parent_cpus).union(*(cpus or set() for cpus in self.child_cpus)))
