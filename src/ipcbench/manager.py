"""The manager side of `ipcbench run`: passes over the selection, each cell once per pass.

The machine drifts between minutes far more than within a worker (load from elsewhere, CPU
frequency, a VM's steal time). Run every worker of one cell back to back and that drift lands on
some cells and not others, and two runs of the same code disagree. So a run is made of passes:
each pass runs every cell once, in a new random order, each time in a fresh worker process (the
cells of a pass share workers in batches, in that order: see worker.py). Slow drift then lands on
every cell alike, and a cell's spread across its workers includes it — which is what the
statistics (stats.py) measure.

Each cell's loop count is found once, by its first worker (a median of several calibration
searches), and every later worker of the cell uses that count, so all its values mean the same.

The result file is rewritten (atomically) after every cell: Ctrl-C or a crash loses nothing
finished, and `--resume` runs the missing workers of every cell. A cell whose worker died runs
no more; the cells of its batch that had not started go to a new worker.
"""

import os
import random
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pyperf

from ipcbench import benches, conditions, results
from ipcbench.cell import Cell
from ipcbench.errors import UsageError
from ipcbench.launch import SILENCE_MARGIN, Worker
from ipcbench.peers import runs_alone
from ipcbench.progress import Progress
from ipcbench.stopping import ManagerStop, held
from ipcbench.units import figure
from ipcbench.worker import CLEANUP_GRACE, Job, JobCell

# Cells per worker process. A fresh worker costs ~0.4 s here before it times anything; a batch
# shares that among its cells (see worker.py for why that keeps workers independent samples).
# The quick default matrix took 51.5 s with 8 cells per worker and 41-42.5 s with 34.
BATCH_CELLS = 32


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
    """Run every pass of `plan`, saving after each cell; returns the exit status."""
    fixed_loops = runner.args.loops or None
    run = _RunState(
        plan=plan,
        loops=_known_loops(plan.result),
        have=workers_done(plan.result),
        progress=None,
        recorder=conditions.Recorder(),
        earlier_conditions=dict(plan.result.conditions),
    )
    target = {cell.name: plan.base.get(cell.name, 0) + plan.passes for cell in plan.cells}
    run.progress = Progress(
        sum(max(0, target[c.name] - run.have.get(c.name, 0)) for c in plan.cells)
    )
    shuffle = random.Random(plan.seed).shuffle
    stop = ManagerStop()
    # The worker's command line names a job file, a placeholder loop count (each cell's count is
    # in the job) and one process.
    runner.args.loops = 1
    runner.args.processes = 1
    with tempfile.TemporaryDirectory(prefix="ipcbench-") as scratch:
        for pass_number in range(1, plan.passes + 1):
            due = [
                cell
                for cell in plan.cells
                if cell.name not in run.failed_now
                and run.have.get(cell.name, 0) < plan.base.get(cell.name, 0) + pass_number
            ]
            shuffle(due)
            position = {cell.name: index for index, cell in enumerate(due)}
            while due and not stop.requested:
                batch = _next_batch(due)
                files = os.path.join(scratch, f"{pass_number}-{position[batch[0].name]}")
                job = Job(
                    pass_number=pass_number,
                    cells=tuple(
                        JobCell(
                            cell=cell.name,
                            loops=fixed_loops or run.loops.get(cell.name),
                            position=position[cell.name],
                            result_file=f"{files}-{index}.json",
                            failure_file=f"{files}-{index}.failure",
                        )
                        for index, cell in enumerate(batch)
                    ),
                    stop_file=f"{files}.stop",
                )
                job.save(f"{files}.job")
                job_argument["path"] = f"{files}.job"
                due[:0] = _run_batch(runner, run, job, batch, f"/{plan.passes}")
            if stop.requested:
                break
    run.progress.close()
    return _summarize(plan, stop.requested)


def _next_batch(due: list[Cell]) -> list[Cell]:
    """Take the next cells of the pass's order for one worker (fewer where a cell needs its own)."""
    if _alone(due[0]):
        return [due.pop(0)]
    batch = []
    while due and len(batch) < BATCH_CELLS and not _alone(due[0]):
        batch.append(due.pop(0))
    return batch


def _alone(cell: Cell) -> bool:
    return benches.pattern(cell.pattern).fresh_worker or runs_alone(cell)


@dataclass
class _RunState:
    """What run_passes keeps track of across workers."""

    plan: Plan
    loops: dict[str, int]  # each cell's loop count, once its first worker found it
    have: dict[str, int]  # workers each cell has
    progress: Progress | None
    recorder: conditions.Recorder
    earlier_conditions: dict
    failed_now: set[str] = field(default_factory=set)


def _run_batch(runner, run: _RunState, job: Job, batch: list[Cell], of_passes: str) -> list[Cell]:
    """Run one worker over `batch`, recording each cell as it ends; the cells it never started."""
    started, ended = set(), set()
    patience = runner.args.cell_timeout + CLEANUP_GRACE + SILENCE_MARGIN

    def label(index: int) -> str:
        return f"{batch[index].name} (pass {job.pass_number}{of_passes})"

    def record(index: int, why: str) -> None:
        _record(run, batch[index], job.cells[index], label(index), why)

    with held(), Worker(runner, job.stop_file) as worker:
        for word, index in worker.reports(patience):
            if word == "start":
                started.add(index)
                run.progress.begin(label(index))
            else:
                ended.add(index)
                record(index, "")
        status = worker.finish()
        if worker.silent:
            why = f"the worker said nothing for {patience:g} s and was killed"
        else:
            why = f"the worker ended with exit status {status}"
        for index in started - ended:
            record(index, why)
    if not started and not os.path.exists(job.stop_file):
        # A worker that dies before its first cell would otherwise be started again forever.
        record(0, why)
        started.add(0)
    return [cell for index, cell in enumerate(batch) if index not in started]


def _record(run: _RunState, cell: Cell, job_cell: JobCell, label: str, why: str) -> None:
    """Add the cell's worker to the result, or its failure; save the file either way."""
    plan = run.plan
    if os.path.exists(job_cell.result_file):
        bench = pyperf.Benchmark.load(job_cell.result_file)
        plan.result.add(bench)
        run.have[cell.name] = run.have.get(cell.name, 0) + 1
        run.loops.setdefault(cell.name, bench.get_runs()[-1].get_loops())
        run.progress.end(label, _describe(bench))
    else:
        reason = _read_failure(job_cell.failure_file) or why or "worker failed"
        if reason == "interrupted":
            return  # not a failure of the cell: --resume runs it
        run.failed_now.add(cell.name)
        plan.result.failed[cell.name] = reason
        run.progress.end(label, f"FAILED: {reason}")
    plan.result.conditions = conditions.merge(run.earlier_conditions, run.recorder.summary())
    save(plan)


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
    """The cell's figure in its pattern's unit, with its spread: `41.3 µs ± 0.80`."""
    metadata = bench.get_metadata()
    unit = benches.pattern(metadata["pattern"]).unit
    return str(figure(unit, bench.median(), metadata["size_bytes"], bench.median_abs_dev()))


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
