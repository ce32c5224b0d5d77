"""The worker side of `ipcbench run`: one process times a batch of cells, one after the other.

The manager starts `python -m ipcbench run --worker --worker-task=0 ... --pipe=FD --job=FILE`
(see launch.py). The job file names the pass and its cells, each with its loop count (or that
it is to be found here) and the files for its result and for a failure's reason. A file, not the
command line: a long cell list once went past Linux's 128 KiB argument limit.

Why batches: a fresh Python process with pyperf and ipcbench imported costs ~0.4 s here, more
than timing a cell of the quick profile. Every cell still gets a fresh worker in every pass (a
batch holds distinct cells of one pass), so a cell's workers stay independent samples; what the
cells of a batch share is only the interpreter start-up and, for forkserver cells, the fork
server (one per batch, preloading what any of its cells' children import: see
benches.base.preload_in_fork_server). Each cell opens and closes its own children and channels.
Start-ups, whose figures depend on the worker itself, run alone.

For each cell the worker opens the cell's bench (children started and checked), calibrates if
asked, lets pyperf take the values (pyperf_runs.py), closes everything, writes the cell's pyperf
benchmark to its result file, and tells the manager over the pipe: `start N`, then `end N`. A
watchdog fails the cell if it takes longer than `--cell-timeout`; Ctrl-C fails the running cell
as interrupted and ends the batch.
"""

import contextlib
import json
import os
import secrets
import signal
import statistics
import sys
import time
from dataclasses import dataclass

from ipcbench.cell import Cell
from ipcbench.stopping import stop_worker_once

# Calibration searches per cell (the median loop count is used): one search can end early on a
# lucky fast run and leave every value of the cell shorter than min-time.
CALIBRATIONS = 3
# After the timeout, cleanup gets this long before the worker ends itself outright.
CLEANUP_GRACE = 10.0


class CellTimeout(Exception):
    pass


@dataclass(frozen=True)
class JobCell:
    """One cell of a worker's batch."""

    cell: str
    loops: int | None  # None: calibrate here (the cell's first worker)
    position: int  # place of the cell in its pass's shuffled order
    result_file: str
    failure_file: str


@dataclass(frozen=True)
class Job:
    """What the manager asks of one worker: some cells of one pass, timed in this order."""

    pass_number: int
    cells: tuple[JobCell, ...]
    stop_file: str  # appears when the manager wants the batch to end after the current cell

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as stream:
            json.dump(dict(self.__dict__, cells=[cell.__dict__ for cell in self.cells]), stream)

    @classmethod
    def load(cls, path: str) -> "Job":
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
        return cls(**dict(data, cells=tuple(JobCell(**cell) for cell in data["cells"])))


def run_worker(runner, args) -> int:
    from ipcbench.lifeline import bind_worker_to_manager

    job = Job.load(args.job)
    bind_worker_to_manager(job.cells[0].failure_file)  # first: must not outlive the run
    from ipcbench import pyperf_runs
    from ipcbench.benches.base import stop_fork_server

    stop_worker_once()
    pyperf_runs.prepare_worker(runner)
    worker_id = secrets.token_hex(4)  # recorded with each cell: which cells shared this process
    _share_fork_server(job.cells)
    report = os.fdopen(args.pipe, "w", buffering=1) if args.pipe is not None else sys.stdout
    try:
        with report:
            for index, job_cell in enumerate(job.cells):
                if os.path.exists(job.stop_file):
                    break
                print(f"start {index}", file=report)
                finished = _run_cell(runner, args, job.pass_number, job_cell, worker_id)
                print(f"end {index}", file=report)
                if not finished:
                    break  # interrupted: the rest of the batch is not started
    finally:
        stop_fork_server()
    return 0


def _share_fork_server(job_cells) -> None:
    """One fork server for the batch's forkserver cells, preloading what any of their children
    imports (a server per cell would cost each cell a fresh interpreter)."""
    from ipcbench.benches import open_bench
    from ipcbench.benches.base import preload_in_fork_server

    modules = set()
    for job_cell in job_cells:
        try:
            cell = Cell.from_name(job_cell.cell)
            if cell.method == "forkserver":
                modules.update(open_bench(cell).child_modules())
        except Exception:
            continue  # the cell fails on its own, with its reason, when its turn comes
    if modules:
        preload_in_fork_server(modules)


def _run_cell(runner, args, pass_number: int, job_cell: JobCell, worker_id: str) -> bool:
    """Time one cell into its result file, or write why not; False when interrupted."""
    from ipcbench import pyperf_runs
    from ipcbench.benches import open_bench

    cell = Cell.from_name(job_cell.cell)
    _start_watchdog(args.cell_timeout, job_cell.failure_file)
    try:
        with contextlib.ExitStack() as stack:
            bench = stack.enter_context(open_bench(cell))
            if job_cell.loops is None:
                runner.args.loops = statistics.median_low(
                    bench.calibrate(runner.args.min_time) for _ in range(CALIBRATIONS)
                )
            else:
                runner.args.loops = job_cell.loops
            metadata = dict(
                cell.metadata(),
                placement_cpus=bench.describe_placement(),
                ipcbench_pass=pass_number,
                ipcbench_position=job_cell.position,
                ipcbench_worker=worker_id,
                ipcbench_started=time.strftime("%Y-%m-%dT%H:%M:%S"),
                **bench.extra_metadata(runner.args.loops),
            )
            result = pyperf_runs.time_cell(runner, cell.name, bench, metadata)
        # Written once the children are stopped and the channels closed: a cell whose cleanup
        # fails has no figure.
        pyperf_runs.dump(result, job_cell.result_file)
    except BaseException as error:
        with open(job_cell.failure_file, "w", encoding="utf-8") as stream:
            stream.write(failure_reason(error))
        return not isinstance(error, KeyboardInterrupt | SystemExit)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return True


def _start_watchdog(seconds: float, failure_file: str) -> None:
    """Fail the cell after `seconds`; if cleanup then hangs too, end the worker.

    The first alarm raises CellTimeout, which unwinds through the session's cleanup (children
    stopped, channels closed). A second alarm means cleanup itself is stuck: the worker exits at
    once, and its children follow (they die with their parent, see child.prepare_child).
    """
    expired = []

    def alarm(signum, frame):
        if expired:
            with open(failure_file, "w", encoding="utf-8") as stream:
                stream.write(f"CellTimeout: no result within {seconds:g} s, and cleanup hung")
            os._exit(1)
        expired.append(True)
        raise CellTimeout(f"no result within {seconds:g} s (--cell-timeout)")

    signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, CLEANUP_GRACE)


def failure_reason(error: BaseException) -> str:
    if isinstance(error, CellTimeout) and error.__context__ is not None:
        # The time ran out while cleaning up after the real failure: report that one.
        return failure_reason(error.__context__) + " (and cleanup then timed out)"
    if isinstance(error, KeyboardInterrupt | SystemExit):
        return "interrupted"
    text = str(error).splitlines()[0] if str(error) else ""
    if isinstance(error, EOFError | ConnectionError):
        return f"{type(error).__name__}: {text or 'the channel closed early'} (did the child die?)"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
