"""startup of a worker pool: what `Pool(P)` or `ProcessPoolExecutor(P)` costs before any work.

startup/mp_pool/...    multiprocessing.Pool(P): create, the first task's result, close + join
startup/executor/...   ProcessPoolExecutor(P): create, the first task's result,
                       shutdown(wait=True)

One value is one pool's whole life around a single trivial task, per pool (P is the cell's
`procs`). The two differ in more than their API: a Pool starts all P workers at once, while
ProcessPoolExecutor (Python 3.11+, under spawn and forkserver) starts a worker only when a task
finds none idle, so its first result waits for one start, not P. That is part of the answer.
"""

from concurrent.futures import ProcessPoolExecutor
from time import perf_counter

from ipcbench.child import prepare_child
from ipcbench.executor import shut_down
from ipcbench.patterns import DataError
from ipcbench.pool import echo
from ipcbench.session import Bench
from ipcbench.stopping import held_while_starting_children

FIRST_TASK = b"first"


class PoolStartup(Bench):
    def __init__(self, cell) -> None:
        super().__init__(cell, children=cell.procs)
        self._life = self._mp_pool if cell.transport == "mp_pool" else self._executor

    def child_modules(self) -> tuple[str, ...]:
        # The modules of the workers' own loop and of the task, as the pool pattern preloads.
        modules = ("multiprocessing.pool", "concurrent.futures.process")
        return ("ipcbench.child", "ipcbench.pool", *modules)

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
            pool.close()
            finished = True
        finally:
            if not finished:
                pool.terminate()  # a worker may be stuck: do not wait for its tasks
            pool.join()

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
            shut_down(executor, intact=finished)

    def close(self, intact: bool) -> None:
        pass  # every pool was shut down in the loop that created it


def _check(result) -> None:
    if result != FIRST_TASK:
        raise DataError("the pool's first task came back different")
