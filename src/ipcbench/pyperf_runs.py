"""pyperf's bench_time_func, plus metadata computed over each run's timed values.

pyperf builds a run's metadata when the task is registered (before any value is timed) and copies
the task's metadata dict into the run after the last value (WorkerTask.compute). So a figure
measured over the timed values themselves (CPU time per message) can only reach its run through
that dict, which bench_time_func keeps to itself: this module registers the task as
bench_time_func does, with a task function that is handed the task and updates its metadata
after every value. The one place that touches pyperf internals for it (pyperf 2.x).
"""

from pyperf._worker import WorkerProcessTask


def bench_time_func(runner, name: str, bench, metadata: dict):
    """runner.bench_time_func(name, bench.time, ...), then bench.run_metadata(values) in the run.

    After the run's last value, the last `values` calls of bench.time are exactly its timed
    values (warm-ups and in-worker calibration come before them).
    """
    if not runner._check_worker_task():
        return None
    values = runner.args.values

    def task_func(task, loops: int) -> float:
        elapsed = bench.time(loops)
        task.metadata.update(bench.run_metadata(values))
        return elapsed

    task = WorkerProcessTask(runner, name, task_func, metadata)
    task.inner_loops = bench.inner_loops
    return runner._main(task)
