"""startup: what a fresh child costs before it does any work.

Both figures time the same span, from creating the process to its being gone (joined):
startup/process/METHOD   create, start and join a process that does nothing (exec: a fresh
                         `python -c` through subprocess); the value is one process's lifetime.
startup/TRANSPORT/...    open the transport's channel (which starts its child and any helper),
                         send the first payload, take the child's reply, close the channel (the
                         child told to exit and joined, helpers shut down, resources released):
                         the value is one channel's whole life with one round trip.
                         The first message's share of it is recorded beside it
                         (`first_message_share`, the median over one extra run of at least five
                         starts), to tell a slow start from a slow first round trip (lazy
                         imports, feeder threads, connection set-up). A share, not seconds: the
                         extra run's own speed then does not matter, and times derived from it
                         never exceed the value.

startup/mp_pool/...      multiprocessing.Pool(P): create, the first task's result, close + join
startup/executor/...     ProcessPoolExecutor(P): create, the first task's result,
                         shutdown(wait=True); one value is one pool's whole life around a
                         single trivial task, per pool (P is the cell's `procs`). The two differ
                         in more than their API: a Pool starts all P workers at once, while
                         ProcessPoolExecutor (Python 3.11+, under spawn and forkserver) starts a
                         worker only when a task finds none idle, so its first result waits for
                         one start, not P. That is part of the answer.

The worker's first start is an untimed warm-up, recorded on its own as `first_start` (seconds):
under forkserver it includes starting the fork server, which preloads what the children import
(ipcbench.child, and for a channel the payloads and transport modules), so that the timed starts
import nothing; under spawn it includes cold imports. The timed values never include it.
"""

import statistics
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from time import perf_counter

from ipcbench import child
from ipcbench.benches.base import MIN_CAPACITY, Bench, DataError, channel_modules
from ipcbench.benches.pool import echo, shut_down_executor, shut_down_pool
from ipcbench.benches.spec import Pattern, Section, Variant
from ipcbench.child import prepare_child
from ipcbench.payloads import random_bytes
from ipcbench.stopping import held_while_starting_children
from ipcbench.transports.base import MP_METHODS
from ipcbench.units import MILLISECONDS

FIRST_TASK = b"first"


class ProcessStartup(Bench):
    """startup/process: the bare cost of a process under a start method."""

    def open(self) -> None:
        cpus = self.child_cpus[0]
        pin = f"import os; os.sched_setaffinity(0, {sorted(cpus)})" if cpus else "pass"
        self._command = [sys.executable, "-c", pin]
        self.first_start = self.time(1)  # forkserver: the server starts here (see the top)

    def extra_metadata(self, loops: int) -> dict:
        return {"first_start": self.first_start}

    def time(self, loops: int) -> float:
        # Signals stay held while children start (see stopping.py); the run is short.
        with held_while_starting_children(self.cell.method):
            start = perf_counter()
            for _ in range(loops):
                self._start_and_join()
            return perf_counter() - start

    def _start_and_join(self) -> None:
        if self.context is None:  # exec
            status = subprocess.call(self._command, stdin=subprocess.DEVNULL)
        else:
            process = self.context.Process(target=child.idle, args=(self.child_cpus[0],))
            process.start()
            process.join()
            status = process.exitcode
            process.close()
        if status != 0:
            raise RuntimeError(f"the do-nothing child exited with status {status}")

    def close(self, intact: bool) -> None:
        pass  # every child was joined in the loop that started it


class ChannelStartup(Bench):
    """startup/TRANSPORT: a channel's life, from opening it to closed, with one round trip."""

    def __init__(self, cell, transport_class) -> None:
        super().__init__(cell)
        self.transport_class = transport_class
        self.payload = random_bytes(cell.size)
        self.first_message_shares: list[float] = []

    def child_modules(self) -> tuple[str, ...]:
        return channel_modules(self.transport_class)

    def open(self) -> None:
        # The first start pays for one-off imports and, under forkserver, the server's start.
        self.first_start = self._start_to_first_reply()

    def time(self, loops: int) -> float:
        with held_while_starting_children(self.cell.method):
            return sum(self._start_to_first_reply() for _ in range(loops))

    def extra_metadata(self, loops: int) -> dict:
        self.first_message_shares.clear()
        self.time(max(loops, 5))
        return {
            "first_message_share": statistics.median(self.first_message_shares),
            "first_start": self.first_start,
        }

    def _start_to_first_reply(self) -> float:
        capacity = max(self.cell.size, MIN_CAPACITY)
        start = perf_counter()
        endpoint = self.transport_class().open(self.context, capacity, self.child_cpus[0])
        try:
            opened = perf_counter()
            endpoint.send(b"pingpong 1")
            endpoint.send(self.payload)
            reply = endpoint.recv()
            replied = perf_counter()
            # A copy: the reply may be a view into the channel's memory, which close() frees.
            if bytes(reply) != self.payload:
                raise DataError("the first message came back different")
            del reply
            endpoint.send(b"exit")
        finally:
            endpoint.close()  # timed: the bare process's figure includes its join too
        closed = perf_counter()
        self.first_message_shares.append((replied - opened) / (closed - start))
        return closed - start

    def close(self, intact: bool) -> None:
        pass  # every channel was closed in the loop that opened it


class PoolStartup(Bench):
    def __init__(self, cell) -> None:
        super().__init__(cell, children=cell.procs)
        self._life = self._mp_pool if cell.transport == "mp_pool" else self._executor

    def child_modules(self) -> tuple[str, ...]:
        # The modules of the workers' own loop and of the task, as the pool pattern preloads.
        modules = ("multiprocessing.pool", "concurrent.futures.process")
        return ("ipcbench.child", echo.__module__, *modules)

    def open(self) -> None:
        # Workers may run on any CPU of the children's placement, as in the pool pattern.
        self._cpus = set().union(*self.child_cpus) if self.parent_cpus else None
        self._life()  # the first pool pays for one-off imports: warm them up

    def time(self, loops: int) -> float:
        # Signals stay held while children start (see stopping.py); the run is short.
        with held_while_starting_children(self.cell.method):
            start = perf_counter()
            for _ in range(loops):
                self._life()
            return perf_counter() - start

    def _mp_pool(self) -> None:
        pool = self.context.Pool(self.cell.procs, initializer=prepare_child, initargs=(self._cpus,))
        finished = False
        try:
            _check(pool.apply_async(echo, (FIRST_TASK,)).get())
            finished = True
        finally:
            shut_down_pool(pool, finished)

    def _executor(self) -> None:
        executor = ProcessPoolExecutor(
            self.cell.procs,
            mp_context=self.context,
            initializer=prepare_child,
            initargs=(self._cpus,),
        )
        finished = False
        try:
            _check(executor.submit(echo, FIRST_TASK).result())
            finished = True
        finally:
            shut_down_executor(executor, intact=finished)

    def close(self, intact: bool) -> None:
        pass  # every pool was shut down in the loop that created it


def _check(result) -> None:
    if result != FIRST_TASK:
        raise DataError("the pool's first task came back different")


PATTERN = Pattern(
    "startup",
    "a channel opened, one round trip, closed; process: start and join a do-nothing one",
    unit=MILLISECONDS,
    legend="ms to create, start and join a do-nothing process (process), or to open a "
    "transport's channel, take its child's first reply and close it (lower is better)",
    per="one start (a channel opened, one round trip, closed; or a do-nothing process's life)",
    bench=ChannelStartup,
    variants=(
        Variant(
            "process",
            "a process that does nothing: create, start, join",
            ProcessStartup,
            methods=(*MP_METHODS, "exec"),
            sized=False,
            moves_data=False,
        ),
        Variant(
            "mp_pool",
            "multiprocessing.Pool(P): create, first result, close and join",
            PoolStartup,
            sized=False,
            multi_process=True,
            moves_data=False,
        ),
        Variant(
            "executor",
            "ProcessPoolExecutor(P): create, first result, shutdown(wait=True)",
            PoolStartup,
            sized=False,
            multi_process=True,
            moves_data=False,
        ),
    ),
    smallest_size_only=True,
    fresh_worker=True,
    answer_note="a process's whole life, from creating it until it is joined: a do-nothing "
    "process, or a channel opened, used for one round trip and closed (child joined, helpers "
    "shut down). A worker's first start is not timed: under forkserver it also starts the fork "
    "server, which preloads the child's modules (recorded as first_start)",
    section=Section(
        "Process start-up",
        "Process start-up",
        "What a fresh child costs before it does any work. Both figures time a process's whole "
        "life, from creating it until it is joined. A do-nothing process: create, start and join "
        "it (exec: a fresh `python -c` through subprocess). Beside it each transport's channel: "
        "open it (which starts the child and any helper), one round trip, close it (child "
        'joined, helpers shut down); "first message alone" is the first round trip after open() '
        "returned (lazy imports, feeder threads and connection set-up land there). A worker's "
        "first start is an untimed warm-up, recorded as first_start: under forkserver it "
        "includes starting the fork server, which preloads the child's modules (ipcbench.child, "
        "payloads, the transport's module), so the timed starts import nothing.",
        headline=True,
    ),
)
