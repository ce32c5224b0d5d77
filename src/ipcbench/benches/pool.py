"""pool: multiprocessing.Pool task round trips, the way most code meets IPC, and the same with
concurrent.futures' ProcessPoolExecutor.

pool/apply/...             apply_async(echo, (payload,)).get(), one task at a time: a task's
                           round trip
pool/map/...               map(echo, [payload] * N, chunksize): the value is the time per task
pool/imap/...              imap(echo, repeat(payload, N), chunksize), consumed as results arrive
pool/executor_submit/...   submit(echo, payload).result(), one task at a time (Pool's apply)
pool/executor_map/...      map(echo, payloads, chunksize=C), consumed as results arrive (imap)

The payload goes to a worker and comes back (echo), so MB/s would count it twice; the figures
are time per task and tasks/s. The pool (P workers, the cell's `procs`) is started and warmed
up before the clock; lengths are checked on every result, contents outside the clock.

The executor is created with the cell's start method (`mp_context`), its workers pinned and
made to die with their parent by the same initializer as the Pool's, and all P of them started
and warmed up before the clock. Every check is PoolBench's: distinct payloads in a chunk,
lengths inside the clock, contents outside it.
This module is imported by the pool's workers: standard library and light modules only.
"""

import time
from concurrent.futures import ProcessPoolExecutor, wait
from itertools import cycle, islice
from time import perf_counter

from ipcbench.benches.base import Bench, DataError
from ipcbench.benches.spec import Pattern, Section, Variant
from ipcbench.child import prepare_child
from ipcbench.payloads import random_bytes
from ipcbench.units import TIME, Unit

# How long each warm-up task holds its worker: long enough that no worker is idle again while
# the next warm-up task is submitted (see ExecutorBench._start_every_worker).
WARM_UP_HOLD = 0.1


def shut_down_pool(pool, intact: bool) -> None:
    """Close (or, after an error, terminate) a multiprocessing.Pool and wait for its workers."""
    if intact:
        pool.close()
    else:
        pool.terminate()  # a worker may be stuck: do not wait for its tasks
    pool.join()


def shut_down_executor(executor: ProcessPoolExecutor, intact: bool) -> None:
    """Shut the executor down and wait for every worker to exit."""
    if not intact:
        # A worker may be stuck in a task: shutdown(wait=True) would wait for it forever.
        # Python 3.14 has terminate_workers(); before it, the executor's own process table.
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            process.terminate()
    executor.shutdown(wait=True, cancel_futures=True)


def echo(payload):
    """The task: hand the payload back, so that it crosses the process boundary both ways."""
    return payload


class PoolBench(Bench):
    def __init__(self, cell) -> None:
        super().__init__(cell, children=cell.procs)
        self.pool = None
        self.payloads = []  # made in open(): see make_payloads
        self._timed_loop = getattr(self, "_" + cell.transport)
        if cell.transport != "apply":
            # A few chunks for every worker, or a run would time one chunk, not a pool at work.
            self.min_loops = 4 * cell.procs * cell.chunksize

    def child_modules(self) -> tuple[str, ...]:
        return ("ipcbench.child", __name__)

    def make_payloads(self) -> None:
        """One distinct payload per place in a chunk: pickle writes an object that repeats
        within one dump only once, so a chunk of one payload would cross the pipe once, not C
        times. Made as the bench opens, not when it is built: a worker builds every bench of its
        batch to learn what their children import (worker.py), and 16 payloads of 16 MiB would
        be made for nothing."""
        self.payloads = [random_bytes(self.cell.size, seed) for seed in range(self.cell.chunksize)]

    def open(self) -> None:
        self.make_payloads()
        # Each worker may run on any CPU of the children's placement: a Pool does not say
        # which worker is which.
        cpus = set().union(*self.child_cpus) if self.parent_cpus else None
        self.pool = self.context.Pool(self.cell.procs, initializer=prepare_child, initargs=(cpus,))

    def check(self) -> None:
        self.verify()

    def time(self, loops: int) -> float:
        start = perf_counter()
        results = self._timed_loop(loops)
        elapsed = perf_counter() - start
        if results != loops:
            raise DataError(f"{loops} tasks submitted, {results} results came back")
        return elapsed

    def _apply(self, loops: int) -> int:
        apply_async, payload, size = self.pool.apply_async, (self.payloads[0],), self.cell.size
        for _ in range(loops):
            if len(apply_async(echo, payload).get()) != size:
                raise DataError(f"a task's {size}-byte payload came back with another length")
        return loops

    def tasks(self, loops: int):
        """`loops` payloads, no two alike within a chunk."""
        return islice(cycle(self.payloads), loops)

    def _map(self, loops: int) -> int:
        results = self.pool.map(echo, list(self.tasks(loops)), self.cell.chunksize)
        return self._count_whole(results)

    def _imap(self, loops: int) -> int:
        return self._count_whole(self.pool.imap(echo, self.tasks(loops), self.cell.chunksize))

    def _count_whole(self, results) -> int:
        size, count = self.cell.size, 0
        for result in results:
            if len(result) != size:
                raise DataError(f"a task's {size}-byte payload came back with another length")
            count += 1
        return count

    def verify(self, tasks: int = 8) -> None:
        """Distinct payloads through the pool, every one back equal and in order."""
        payloads = [random_bytes(self.cell.size, seed) for seed in range(1, tasks + 1)]
        if list(self.pool.map(echo, payloads, chunksize=self.cell.chunksize)) != payloads:
            raise DataError(f"of {tasks} checked tasks, some came back different")

    def close(self, intact: bool) -> None:
        pool = self.pool
        if pool is None:
            return
        verified = False
        try:
            if intact:
                self.verify()  # still intact after the timed runs?
                verified = True
        finally:
            self.shut_down(pool, verified)
            self.pool = None

    shut_down = staticmethod(shut_down_pool)


class ExecutorBench(PoolBench):
    def __init__(self, cell) -> None:
        super().__init__(cell)
        if cell.transport == "executor_submit":
            self.min_loops = 1  # one task's round trip, like apply

    def child_modules(self) -> tuple[str, ...]:
        # The module of the workers' own loop, as pool.py's workers get multiprocessing's.
        return ("ipcbench.child", __name__, "concurrent.futures.process")

    def open(self) -> None:
        self.make_payloads()
        cpus = set().union(*self.child_cpus) if self.parent_cpus else None
        self.pool = ProcessPoolExecutor(
            self.cell.procs, mp_context=self.context, initializer=prepare_child, initargs=(cpus,)
        )
        self._start_every_worker()

    def _start_every_worker(self) -> None:
        """Start all P workers now, not inside the clock.

        Under spawn and forkserver the executor starts a worker only when a task finds none
        idle; P tasks that keep their workers busy for a moment make it start all P.
        """
        tasks = [self.pool.submit(time.sleep, WARM_UP_HOLD) for _ in range(self.cell.procs)]
        for task in wait(tasks).done:
            task.result()  # re-raises a worker's failure (a broken initializer, say)

    def _executor_submit(self, loops: int) -> int:
        submit, payload, size = self.pool.submit, self.payloads[0], self.cell.size
        for _ in range(loops):
            if len(submit(echo, payload).result()) != size:
                raise DataError(f"a task's {size}-byte payload came back with another length")
        return loops

    def _executor_map(self, loops: int) -> int:
        results = self.pool.map(echo, self.tasks(loops), chunksize=self.cell.chunksize)
        return self._count_whole(results)

    shut_down = staticmethod(shut_down_executor)


def _payload_copies(cell) -> int:
    # map's results (4 chunks per worker) and chunks in flight
    return (4 * cell.procs + 2) * cell.chunksize


PATTERN = Pattern(
    "pool",
    "multiprocessing.Pool with P workers: per-task time",
    unit=Unit("µs/task", TIME, 1e6),
    legend="µs per task on a multiprocessing.Pool (lower is better)",
    per="one task",
    on_transports=False,
    variants=(
        Variant("apply", "apply_async(echo, payload).get(): one task's round trip", PoolBench),
        Variant("map", "map(echo, payloads, chunksize)", PoolBench, chunked=True),
        Variant("imap", "imap(echo, payloads, chunksize)", PoolBench, chunked=True),
        Variant(
            "executor_submit",
            "ProcessPoolExecutor: submit(echo, payload).result(): one task's round trip",
            ExecutorBench,
        ),
        Variant(
            "executor_map",
            "ProcessPoolExecutor: map(echo, payloads, chunksize=C)",
            ExecutorBench,
            chunked=True,
        ),
    ),
    multi_process=True,
    procs_noun="worker",
    answer_note="time per task through a multiprocessing.Pool call",
    section=Section(
        "multiprocessing.Pool: time per task",
        "Pool",
        "Each task echoes its payload back from a pool worker. apply: one apply_async(...).get() "
        "at a time (a task's round trip); map and imap: many tasks per call, handed to the "
        "workers in chunks of `chunksize`. Time per task, in µs (lower is better); the pool is "
        "started and warmed up before the clock.",
    ),
    payload_copies=_payload_copies,
)
