"""The manager side of `ipcbench run`: passes over the selection, one worker per cell per pass.

The machine drifts between minutes far more than within a worker (load from elsewhere, CPU
frequency, a VM's steal time). Run every worker of one cell back to back and that drift lands on
some cells and not others, and two runs of the same code disagree. So a run is made of passes:
each pass runs every cell once, with one fresh worker, in a new random order. Slow drift then
lands on every cell alike, and a cell's spread across its workers includes it — which is what
the statistics (stats.py) measure.

Each cell's loop count is found once, by its first worker (a median of several calibration
searches), and every later worker of the cell uses that count, so all its values mean the same.

The result file is rewritten (atomically) after every worker: Ctrl-C or a crash loses nothing
finished, and `--resume` runs the missing workers of every cell.
"""

import contextlib
import io
import os
import random
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ipcbench import conditions, results
from ipcbench.cell import Cell
from ipcbench.errors import UsageError
from ipcbench.progress import Progress
from ipcbench.stopping import ManagerStop, held
from ipcbench.worker import Job


@dataclass
class Plan:
    """What a run does: which cells, how many workers each should end with, where it writes."""

    cells: list[Cell]
    output: Path
    result: results.ResultFile
    passes: int
    # Cell name -> workers it already has (from the file, with --resume or --append).
    base: dict[str, int] = field(default_factory=dict)
    seed: int = field(default_factory=lambda: random.SystemRandom().randrange(2**32))


def run_passes(runner, plan: Plan, job_argument: dict) -> int:
    """Run every pass of `plan`, saving after each worker; returns the exit status."""
    pyperf_args = runner.args
    fixed_loops = pyperf_args.loops or None
    loops = _known_loops(plan.result)
    have = workers_done(plan.result)
    target = {cell.name: plan.base.get(cell.name, 0) + plan.passes for cell in plan.cells}
    total = sum(max(0, target[c.name] - have.get(c.name, 0)) for c in plan.cells)
    shuffle = random.Random(plan.seed).shuffle
    failed_now: set[str] = set()

    progress = Progress(total)
    stop = ManagerStop()
    recorder = conditions.Recorder()
    earlier_conditions = dict(plan.result.conditions)
    with tempfile.TemporaryDirectory(prefix="ipcbench-") as scratch:
        for pass_number in range(1, plan.passes + 1):
            due = [
                cell
                for cell in plan.cells
                if cell.name not in failed_now
                and have.get(cell.name, 0) < plan.base.get(cell.name, 0) + pass_number
            ]
            shuffle(due)
            for position, cell in enumerate(due):
                if stop.requested:
                    break
                job = Job(
                    cell=cell.name,
                    loops=fixed_loops or loops.get(cell.name),
                    pass_number=pass_number,
                    position=position,
                    failure_file=os.path.join(scratch, f"{pass_number}-{position}.failure"),
                )
                job_file = os.path.join(scratch, f"{pass_number}-{position}.job")
                job.save(job_file)
                job_argument["path"] = job_file
                label = f"{cell.name} (pass {pass_number}/{plan.passes})"
                progress.begin(label)
                bench, reason = _one_worker(runner, cell, job, stop)
                if stop.requested and bench is None:
                    break
                if bench is None:
                    failed_now.add(cell.name)
                    plan.result.failed[cell.name] = reason
                    progress.end(label, f"FAILED: {reason}")
                else:
                    plan.result.add(bench)
                    have[cell.name] = have.get(cell.name, 0) + 1
                    loops.setdefault(cell.name, bench.get_runs()[-1].get_loops())
                    progress.end(label, _describe(bench))
                plan.result.conditions = conditions.merge(earlier_conditions, recorder.summary())
                save(plan)
            if stop.requested:
                break
    progress.close()
    return _summarize(plan, stop.requested)


def _one_worker(runner, cell: Cell, job: Job, stop: ManagerStop):
    """(benchmark with one run, None) or (None, why it failed)."""
    # Every worker runs task 0 (its job file says which cell): pyperf numbers tasks by the
    # order of registration, and counts registered names, in the manager too. These are the
    # only pyperf internals touched here.
    runner._worker_task = 0
    runner._bench_names.discard(cell.name)
    runner.args.processes = 1
    runner.args.loops = job.loops or 1  # placeholder when the worker calibrates (see worker.py)
    captured = io.StringIO()
    try:
        with held(), contextlib.redirect_stdout(captured):
            bench = runner.bench_time_func(cell.name, _time_in_worker_only)
    except BaseException:
        # pyperf raises RuntimeError for a failed worker and exits on its own --timeout.
        if stop.requested:
            return None, "interrupted"
        reason = _read_failure(job.failure_file) or captured.getvalue().strip()
        return None, reason or "worker failed"
    return bench, ""


def _time_in_worker_only(loops):
    raise AssertionError("pyperf timed a cell in the manager process")


def _known_loops(result: results.ResultFile) -> dict[str, int]:
    """Each cell's loop count as its first worker found it (files from --resume, --append)."""
    return {
        bench.get_name(): bench.get_runs()[0].get_loops()
        for bench in result.benchmarks
        if bench.get_runs()
    }


def workers_done(result: results.ResultFile) -> dict[str, int]:
    return {
        bench.get_name(): sum(1 for run in bench.get_runs() if run.values)
        for bench in result.benchmarks
    }


def save(plan: Plan) -> None:
    try:
        results.save(plan.output, plan.result)
    except OSError as error:
        # The write is atomic: the file still holds every cell saved before this one.
        raise UsageError(
            f"cannot write {plan.output}: {error.strerror or error}; it keeps the cells saved "
            f"before; free space, then: python -m ipcbench run --resume {plan.output}"
        ) from None


def _read_failure(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read().strip()
    except OSError:
        return ""


def _describe(bench) -> str:
    from ipcbench.tables import format_figure

    metadata = bench.get_metadata()
    return format_figure(
        metadata["pattern"], metadata["size_bytes"], bench.median(), bench.median_abs_dev()
    )


def _summarize(plan: Plan, interrupted: bool) -> int:
    result = plan.result
    failed = len(result.failed)
    have = workers_done(result)
    incomplete = sum(
        1
        for cell in plan.cells
        if cell.name not in result.failed
        and have.get(cell.name, 0) < plan.base.get(cell.name, 0) + plan.passes
    )
    complete = len(plan.cells) - incomplete - failed
    print(
        f"ipcbench: {complete} of {len(plan.cells)} cells complete ({plan.passes} workers each), "
        f"{failed} failed, {incomplete} incomplete -> {plan.output}",
        file=sys.stderr,
    )
    for line in conditions.warnings(result.conditions):
        print(f"ipcbench: warning: {line}", file=sys.stderr)
    for name, reason in result.failed.items():
        print(f"ipcbench: FAILED {name}: {reason}", file=sys.stderr)
    if interrupted:
        print(
            f"ipcbench: interrupted; every finished worker is saved. Run the rest with: "
            f"python -m ipcbench run --resume {plan.output}",
            file=sys.stderr,
        )
        return 130
    print(f"show it with: python -m ipcbench show {plan.output}", file=sys.stderr)
    return 1 if failed else 0
