"""ProcessPoolExecutor beside multiprocessing.Pool: the pool pattern's executor variants and the
startup of both pools. Real worker processes under every start method; nothing left behind."""

import os
import time

import pytest
from conftest import live_children, new_shm_entries

from ipcbench.benches import open_bench
from ipcbench.benches.base import DataError
from ipcbench.benches.pool import ExecutorBench
from ipcbench.benches.startup import PoolStartup
from ipcbench.cell import Cell
from ipcbench.matrix import Selection, build_cells
from ipcbench.transports import registry
from ipcbench.transports.base import MP_METHODS

CPUS = len(os.sched_getaffinity(0))
PLACEMENT = "split" if CPUS > 1 else "same"

pytestmark = pytest.mark.usefixtures("stop_multiprocessing_helpers")


def cell(pattern, subject, method, size=64, procs=1, chunksize=1):
    return Cell(pattern, subject, method, size, PLACEMENT, procs=procs, chunksize=chunksize)


@pytest.fixture(autouse=True)
def leaves_no_child_and_no_segment():
    shm_before = set(os.listdir("/dev/shm"))
    yield
    deadline = time.monotonic() + 5  # shut-down workers may take a moment to be reaped
    while live_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_children() == []
    assert new_shm_entries(shm_before) == set()


@pytest.mark.parametrize("method", MP_METHODS)
@pytest.mark.parametrize("variant", ("executor_submit", "executor_map"))
def test_executor_runs_tasks_on_all_its_pinned_workers(variant, method):
    chunksize = 1 if variant == "executor_submit" else 4
    bench = open_bench(cell("pool", variant, method, 4096, procs=2, chunksize=chunksize), None)
    assert isinstance(bench, ExecutorBench)
    with bench:
        assert bench.min_loops == (1 if variant == "executor_submit" else 4 * 2 * 4)
        # All P workers run before the clock starts (spawn and forkserver start them lazily),
        # each pinned to the children's CPUs.
        workers = list(bench.pool._processes.values())
        assert len(workers) == 2
        cpus = set().union(*bench.child_cpus)
        assert all(os.sched_getaffinity(worker.pid) == cpus for worker in workers)
        assert bench.time(bench.min_loops) > 0
    assert bench.pool is None


def test_executor_fails_a_result_of_the_wrong_length():
    class Truncating(ExecutorBench):
        def tasks(self, loops):
            return (payload[:-1] for payload in super().tasks(loops))

    with Truncating(cell("pool", "executor_map", "fork", 64, procs=1, chunksize=2)) as bench:
        with pytest.raises(DataError, match="another length"):
            bench.time(8)


def test_executor_shuts_down_a_stuck_worker_after_an_error():
    bench = ExecutorBench(cell("pool", "executor_submit", "fork", 64, procs=2))
    with pytest.raises(RuntimeError, match="mid-cell"):
        with bench:
            bench.pool.submit(time.sleep, 60)  # a worker stuck in its task
            started = time.monotonic()
            raise RuntimeError("mid-cell")
    # close() terminated it instead of waiting; the fixture checks no process is left.
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("method", MP_METHODS)
@pytest.mark.parametrize("variant", ("mp_pool", "executor"))
def test_pool_startup_creates_gets_a_first_result_and_shuts_down(variant, method):
    bench = open_bench(cell("startup", variant, method, size=0, procs=2), None)
    assert isinstance(bench, PoolStartup)
    with bench:
        assert bench.time(2) > 0


def test_the_matrix_has_executor_variants_over_procs_and_chunksizes():
    selection = Selection(
        transports=("executor_submit", "executor_map", "mp_pool", "executor"),
        patterns=("pool", "startup"),
        methods=("fork", "spawn"),
        sizes=(64, 4096),
        procs=(1, 2),
        chunksizes=(1, 16),
    )
    names = {c.name for c in build_cells(selection, registry(with_plugins=False), cpu_count=2)}
    assert "pool/executor_map/spawn/4KiB/split/procs=2/chunksize=16" in names
    assert "pool/executor_submit/fork/64B/split/procs=2" in names
    assert not any(n.startswith("pool/executor_submit/") and "chunksize" in n for n in names)
    # Pool start-up: per start method and P, no payload size.
    assert {n for n in names if n.startswith("startup/")} == {
        f"startup/{v}/{m}/0B/split{p}"
        for v in ("mp_pool", "executor")
        for m in ("fork", "spawn")
        for p in ("", "/procs=2")
    }
