"""pool: multiprocessing.Pool task round trips, the way most code meets IPC.

pool/apply/...   apply_async(echo, (payload,)).get(), one task at a time: a task's round trip
pool/map/...     map(echo, [payload] * N, chunksize): the value is the time per task
pool/imap/...    imap(echo, repeat(payload, N), chunksize), consumed as results arrive

The payload goes to a worker and comes back (echo), so MB/s would count it twice; the figures
are time per task and tasks/s. The pool (P workers, the cell's `procs`) is started and warmed
up before the clock; lengths are checked on every result, contents outside the clock.
This module is imported by the pool's workers: standard library and light modules only.
"""

from itertools import cycle, islice
from time import perf_counter

from ipcbench.child import prepare_child
from ipcbench.patterns import DataError
from ipcbench.payloads import random_bytes
from ipcbench.session import Bench


def echo(payload):
    """The task: hand the payload back, so that it crosses the process boundary both ways."""
    return payload


class PoolBench(Bench):
    def __init__(self, cell) -> None:
        super().__init__(cell, children=cell.procs)
        self.pool = None
        # One distinct payload per place in a chunk: pickle writes an object that repeats within
        # one dump only once, so a chunk of one payload would cross the pipe once, not C times.
        self.payloads = [random_bytes(cell.size, seed) for seed in range(cell.chunksize)]
        self._timed_loop = getattr(self, "_" + cell.transport)
        if cell.transport != "apply":
            # A few chunks for every worker, or a run would time one chunk, not a pool at work.
            self.min_loops = 4 * cell.procs * cell.chunksize

    def child_modules(self) -> tuple[str, ...]:
        return ("ipcbench.child", __name__)

    def open(self) -> None:
        # Each worker may run on any CPU of the children's placement: a Pool does not say
        # which worker is which.
        cpus = set().union(*self.child_cpus) if self.parent_cpus else None
        self.pool = self.context.Pool(self.cell.procs, initializer=prepare_child, initargs=(cpus,))
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
        if self.pool.map(echo, payloads, self.cell.chunksize) != payloads:
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
            if verified:
                pool.close()
            else:
                pool.terminate()  # a worker may be stuck: do not wait for its tasks
            pool.join()
            self.pool = None
