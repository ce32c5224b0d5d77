"""One cell's live channel: CPUs placed, child started and checked, ready for the timed loop."""

import multiprocessing
import os
import pickle
import time

from ipcbench.matrix import Cell
from ipcbench.patterns import TIMED_LOOPS, verify
from ipcbench.payloads import make_channel, make_records
from ipcbench.transports.base import MP_METHODS

# Commands and the stream ack are tiny, but the receive buffers must hold them too.
MIN_CAPACITY = 64


def placement_cpus(placement: str) -> tuple[set[int] | None, set[int] | None]:
    """(parent CPUs, child CPUs) for a placement; None means not pinned."""
    if placement == "free":
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if placement == "same":
        return {cpus[0]}, {cpus[0]}
    if len(cpus) < 2:
        raise ValueError("placement 'split' needs at least 2 CPUs")
    return {cpus[0]}, {cpus[1]}


def describe_placement(parent: set[int] | None, child: set[int] | None) -> str:
    if parent is None:
        return "unpinned"
    return f"parent on CPU {min(parent)}, child on CPU {min(child)}"


def start_context(method: str):
    if method not in MP_METHODS:
        return None  # exec and in-process transports start no multiprocessing child
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # Children forked from the server then need no import of their own.
        context.set_forkserver_preload(["ipcbench.child"])
    return context


class Session:
    """Context manager: `with Session(cell, transport_class) as session: session.time(loops)`."""

    def __init__(self, cell: Cell, transport_class) -> None:
        self.cell, self.transport_class = cell, transport_class
        self.endpoint = self.channel = None
        self._timed_loop = TIMED_LOOPS[cell.pattern]
        self.cpus = placement_cpus(cell.placement)  # before this process pins itself

    def __enter__(self) -> "Session":
        parent_cpus, child_cpus = self.cpus
        self._saved_affinity = os.sched_getaffinity(0)
        if parent_cpus:
            os.sched_setaffinity(0, parent_cpus)
        try:
            context = start_context(self.cell.method)
            self.endpoint = self.transport_class().open(context, self.capacity(), child_cpus)
            self.channel = make_channel(self.endpoint, self.cell.kind, self.cell.size)
            verify(self.endpoint, self.cell.kind, self.cell.size)
        except BaseException as error:
            self.__exit__(type(error), error, error.__traceback__)
            raise
        return self

    def capacity(self) -> int:
        """The largest message the channel must carry, in bytes."""
        if self.cell.kind == "pickle":
            # Pickles of equally sized objects vary a little, and protocols differ: be generous.
            pickled = len(pickle.dumps(make_records(self.cell.size)))
            return 2 * pickled + MIN_CAPACITY
        return max(self.cell.size, MIN_CAPACITY)

    def time(self, loops: int) -> float:
        """Seconds for `loops` iterations of the cell's pattern (pyperf's bench_time_func)."""
        return self._timed_loop(self.endpoint, self.channel, loops)

    def cpu_per_message(self, loops: int) -> float:
        """CPU seconds (user + system, parent and child) per iteration of one timed run.

        Wall time alone lets a transport that busy-waits look free; this is what it burns.
        """
        in_process = self.cell.method == "none"  # the "child" is this very process
        child_before = 0.0 if in_process else self._child_cpu_time()
        parent_before = time.process_time()
        self.time(loops)
        parent = time.process_time() - parent_before
        child = 0.0 if in_process else self._child_cpu_time() - child_before
        return (parent + child) / loops

    def _child_cpu_time(self) -> float:
        self.endpoint.send(b"cputime")
        return float(bytes(self.endpoint.recv()))

    def calibrate(self, min_time: float) -> int:
        """The loop count whose run takes at least `min_time` (pyperf's rule), found in-process.

        Doing this here, with the child already running, replaces pyperf's extra calibration
        worker per cell; the calibration runs double as the warm-up.
        """
        loops = 1
        while True:
            elapsed = self.time(loops)
            if elapsed >= min_time:
                return loops
            # Aim straight at min_time (with a margin), but never grow by less than 2x.
            estimate = int(loops * min_time * 1.2 / max(elapsed, 1e-9)) + 1
            loops = min(max(loops * 2, estimate), loops * 100)

    def __exit__(self, exc_type, exc, traceback) -> None:
        endpoint, self.endpoint = self.endpoint, None
        try:
            if endpoint is not None:
                try:
                    if exc_type is None:
                        # Still intact after the timed runs?
                        verify(endpoint, self.cell.kind, self.cell.size)
                        endpoint.send(b"exit")
                finally:
                    # After an error the child may not be listening: close() ends it anyway.
                    endpoint.close()
        finally:
            os.sched_setaffinity(0, self._saved_affinity)
