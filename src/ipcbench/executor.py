"""pool, the concurrent.futures way: a ProcessPoolExecutor beside multiprocessing.Pool.

pool/executor_submit/...   submit(echo, payload).result(), one task at a time (Pool's apply)
pool/executor_map/...      map(echo, payloads, chunksize=C), consumed as results arrive (imap)

The executor is created with the cell's start method (`mp_context`), its workers pinned and
made to die with their parent by the same initializer as the Pool's, and all P of them started
and warmed up before the clock. Every check is PoolBench's: distinct payloads in a chunk,
lengths inside the clock, contents outside it. This module is imported by the workers under
forkserver (preloaded): standard library and light modules only.
"""

import time
from concurrent.futures import ProcessPoolExecutor, wait

from ipcbench.child import prepare_child
from ipcbench.patterns import DataError
from ipcbench.payloads import random_bytes
from ipcbench.pool import PoolBench, echo

# How long each warm-up task holds its worker: long enough that no worker is idle again while
# the next warm-up task is submitted (see _start_every_worker).
WARM_UP_HOLD = 0.1


class ExecutorBench(PoolBench):
    def __init__(self, cell) -> None:
        super().__init__(cell)
        if cell.transport == "executor_submit":
            self.min_loops = 1  # one task's round trip, like apply

    def child_modules(self) -> tuple[str, ...]:
        # The module of the workers' own loop, as pool.py's workers get multiprocessing's.
        return ("ipcbench.child", "ipcbench.pool", "concurrent.futures.process")

    def open(self) -> None:
        cpus = set().union(*self.child_cpus) if self.parent_cpus else None
        self.pool = ProcessPoolExecutor(
            self.cell.procs, mp_context=self.context, initializer=prepare_child, initargs=(cpus,)
        )
        self._start_every_worker()
        self.verify()

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

    def verify(self, tasks: int = 8) -> None:
        """Distinct payloads through the executor, every one back equal and in order."""
        payloads = [random_bytes(self.cell.size, seed) for seed in range(1, tasks + 1)]
        if list(self.pool.map(echo, payloads, chunksize=self.cell.chunksize)) != payloads:
            raise DataError(f"of {tasks} checked tasks, some came back different")

    def close(self, intact: bool) -> None:
        executor = self.pool
        if executor is None:
            return
        verified = False
        try:
            if intact:
                self.verify()  # still intact after the timed runs?
                verified = True
        finally:
            shut_down(executor, verified)
            self.pool = None


def shut_down(executor: ProcessPoolExecutor, intact: bool) -> None:
    """Shut the executor down and wait for every worker to exit."""
    if not intact:
        # A worker may be stuck in a task: shutdown(wait=True) would wait for it forever.
        # Python 3.14 has terminate_workers(); before it, the executor's own process table.
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            process.terminate()
    executor.shutdown(wait=True, cancel_futures=True)
