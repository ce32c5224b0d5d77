"""A cell made live: CPUs placed, children started and checked, ready for the timed loop.

`Bench` is what a pyperf worker drives; `Session` is the bench of pingpong and stream (one child,
one channel); `open_bench` picks the bench of a cell's pattern (startup.py, fanin.py, pool.py,
counter.py hold the others).
"""

import multiprocessing
import os
import pickle

from ipcbench.cputime import CpuMeter
from ipcbench.matrix import Cell
from ipcbench.patterns import TIMED_LOOPS, verify
from ipcbench.payloads import make_channel, make_records, receive_mode
from ipcbench.peers import LOCAL
from ipcbench.transports.base import MP_METHODS

# Commands and the stream ack are tiny, but the receive buffers must hold them too.
MIN_CAPACITY = 64
STREAM_MIN_MESSAGES = 8


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


def placement_cpus(placement: str) -> tuple[set[int] | None, set[int] | None]:
    """(parent CPUs, child CPUs) for a placement with one child; None means not pinned."""
    parent, (child,) = spread_cpus(placement, 1)
    return parent, child


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
        _fork_server_preloading(list(child_modules))
        context.set_forkserver_preload(list(child_modules))
    return context


def _fork_server_preloading(modules: list[str]) -> None:
    """Stop this process's fork server if it preloads other modules than `modules`.

    A worker times several cells (worker.py) and multiprocessing keeps one fork server per
    process: a cell may reuse the server of an earlier one only if it preloads the same modules
    (the server is a fresh interpreter of its own, not a copy of the worker, and only forks).
    ForkServer's `_preload_modules`, `_forkserver_pid` and `_stop` are what CPython's own tests
    use (3.8+).
    """
    from multiprocessing import forkserver

    server = forkserver._forkserver
    if server._forkserver_pid is not None and server._preload_modules != modules:
        server._stop()


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


def open_bench(cell: Cell, registry) -> "Bench":
    """The bench that runs `cell`'s pattern (not yet entered)."""
    if cell.pattern in TIMED_LOOPS:
        return Session(cell, registry[cell.transport])
    if cell.pattern == "startup":
        from ipcbench.startup import ChannelStartup, ProcessStartup

        if cell.transport == "process":
            return ProcessStartup(cell)
        if cell.transport in ("mp_pool", "executor"):
            from ipcbench.pool_startup import PoolStartup

            return PoolStartup(cell)
        return ChannelStartup(cell, registry[cell.transport])
    if cell.pattern == "fanin":
        from ipcbench.fanin import FanIn

        return FanIn(cell, registry[cell.transport])
    if cell.pattern == "pool":
        if cell.transport.startswith("executor_"):
            from ipcbench.executor import ExecutorBench

            return ExecutorBench(cell)
        from ipcbench.pool import PoolBench

        return PoolBench(cell)
    if cell.pattern == "counter":
        from ipcbench.counter import CounterBench

        return CounterBench(cell)
    raise ValueError(f"unknown pattern {cell.pattern!r}")


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
            self.open()
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
        raise NotImplementedError

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


class Session(Bench):
    """pingpong and stream: one child serving one channel of the cell's transport."""

    meter = None  # the CPU meter (cputime.CpuMeter), made once the channel is open

    def __init__(self, cell: Cell, transport_class) -> None:
        super().__init__(cell)
        self.transport_class = transport_class
        self.endpoint = self.channel = None
        self._timed_loop = TIMED_LOOPS[cell.pattern]
        if cell.pattern == "stream":
            # One value of a stream carries several messages: a single 16 MiB message per
            # value would time one message's latency, not a throughput.
            self.min_loops = STREAM_MIN_MESSAGES

    def child_modules(self) -> tuple[str, ...]:
        return channel_modules(self.transport_class)

    def open(self) -> None:
        if self.cell.peer != LOCAL:  # the child on another node of the cluster
            from ipcbench.remote_child import open_on_peer

            self.endpoint = open_on_peer(
                self.transport_class, self.cell, self.capacity(), self.child_cpus[0]
            )
        else:
            self.endpoint = self.transport_class().open(
                self.context, self.capacity(), self.child_cpus[0]
            )
        self.channel = make_channel(self.endpoint, self.cell.kind, self.cell.size)
        verify(self.endpoint, self.cell.kind, self.cell.size)
        self.meter = CpuMeter(self.usable_cpus())

    def capacity(self) -> int:
        """The largest message the channel must carry, in bytes."""
        if self.cell.kind == "pickle":
            # Pickles of equally sized objects vary a little, and protocols differ: be generous.
            pickled = len(pickle.dumps(make_records(self.cell.size)))
            return 2 * pickled + MIN_CAPACITY
        if self.cell.kind not in ("bytes", "numpy"):
            from ipcbench.array_kinds import wire_size

            return max(wire_size(self.cell.kind, self.cell.size), MIN_CAPACITY)
        return max(self.cell.size, MIN_CAPACITY)

    def time(self, loops: int) -> float:
        """Seconds for `loops` iterations of the cell's pattern (pyperf's bench_time_func).

        The loop reads the CPU time of every process doing the work right outside its clock.
        """
        return self._timed_loop(self.endpoint, self.channel, loops, self.meter)

    def extra_metadata(self, loops: int) -> dict:
        return {
            "receive": receive_mode(self.cell.kind, self.transport_class.receive),
            "helper_cpus": self.describe_helpers(),
            **getattr(self.endpoint, "metadata", {}),
        }

    def run_metadata(self, values: int) -> dict:
        """CPU seconds per iteration (user + system, parent, child and helpers) over the run's
        timed values; wall time alone lets a transport that busy-waits look free."""
        return self.meter.figures(values)

    def describe_helpers(self) -> str:
        return describe_helpers(self.transport_class, self.child_cpus[0])

    def close(self, intact: bool) -> None:
        endpoint, self.endpoint = self.endpoint, None
        if endpoint is None:
            return
        try:
            if intact:
                # Still intact after the timed runs?
                verify(endpoint, self.cell.kind, self.cell.size)
                endpoint.send(b"exit")
        finally:
            # After an error the child may not be listening: close() ends it anyway.
            endpoint.close()
