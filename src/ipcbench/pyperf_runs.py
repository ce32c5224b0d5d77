"""pyperf's worker, for a batch of cells: one run per cell, with metadata computed over its values.

Every touch of pyperf internals by the worker is here (pyperf 2.x); the manager's are in launch.py.

pyperf's own worker (Runner._main in --worker mode) times one task and writes it to its pipe.
ipcbench's worker times several cells (worker.py says why), so it creates each run itself, as
Runner._worker does, and writes each cell's benchmark to the cell's own file.

pyperf builds a run's metadata when the task is registered (before any value is timed) and copies
the task's metadata dict into the run after the last value (WorkerTask.compute). So a figure
measured over the timed values themselves (CPU time per message) can only reach its run through
that dict, which bench_time_func keeps to itself: this module builds the task as
bench_time_func would, with a task function that updates the task's metadata after every value.
"""

import os

import pyperf
from pyperf._worker import WorkerProcessTask


def prepare_worker(runner) -> None:
    """What Runner._worker does before a task: CPU affinity (--affinity) and priority."""
    runner._cpu_affinity()
    runner._process_priority()


def time_cell(runner, name: str, bench, metadata: dict) -> pyperf.Benchmark:
    """One pyperf run of `bench.time` at runner.args.loops, with bench.run_metadata(values) in it.

    After the run's last value, the last `values` calls of bench.time are exactly its timed
    values (warm-ups come before them).
    """
    values = runner.args.values

    def task_func(task, loops: int) -> float:
        elapsed = bench.time(loops)
        task.metadata.update(bench.run_metadata(values))
        return elapsed

    task = WorkerProcessTask(runner, name, task_func, metadata)
    task.inner_loops = bench.inner_loops
    return pyperf.Benchmark((task.create_run(),))


def dump(benchmark: pyperf.Benchmark, path: str) -> None:
    """Write the benchmark to `path` whole or not at all (the manager reads it after `end N`)."""
    partial = path + ".partial"
    benchmark.dump(partial)
    os.replace(partial, path)
