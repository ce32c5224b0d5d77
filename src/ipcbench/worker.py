"""The worker side of `ipcbench run`: one process times one cell once, then exits.

pyperf starts `python -m ipcbench run --worker --worker-task=0 ... --job=FILE`. The job file
(written by the manager, see manager.py) names the cell, its loop count or that the count is to
be found here, and where to write a failure's reason. A file, not the command line: a long cell
list once went past Linux's 128 KiB argument limit and every cell failed without a reason.

The worker opens the cell's bench (children started and checked), calibrates if asked, hands
`bench.time` to pyperf, which takes the values and writes them back to the manager, and closes
everything. A watchdog fails the cell if the worker takes longer than `--cell-timeout`.
"""

import contextlib
import json
import signal
import statistics
import time
from dataclasses import dataclass

from ipcbench.cell import Cell
from ipcbench.stopping import held_while_starting_children, stop_worker_once

# Calibration searches per cell (the median loop count is used): one search can end early on a
# lucky fast run and leave every value of the cell shorter than min-time.
CALIBRATIONS = 3
# After the timeout, cleanup gets this long before the worker ends itself outright.
CLEANUP_GRACE = 10.0


class CellTimeout(Exception):
    pass


@dataclass(frozen=True)
class Job:
    """What the manager asks of one worker."""

    cell: str
    loops: int | None  # None: calibrate here (the cell's first worker)
    pass_number: int
    position: int  # place of the cell in its pass's shuffled order
    failure_file: str

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as stream:
            json.dump(self.__dict__, stream)

    @classmethod
    def load(cls, path: str) -> "Job":
        with open(path, encoding="utf-8") as stream:
            return cls(**json.load(stream))


def run_worker(runner, args) -> int:
    from ipcbench.lifeline import bind_worker_to_manager

    job = Job.load(args.job)
    bind_worker_to_manager(job.failure_file)  # first: the worker must not outlive the run
    from ipcbench import pyperf_runs
    from ipcbench.benches import open_bench

    cell = Cell.from_name(job.cell)
    _start_watchdog(args.cell_timeout, job.failure_file)
    try:
        stop_worker_once()
        with contextlib.ExitStack() as stack:
            with held_while_starting_children(cell.method):
                bench = stack.enter_context(open_bench(cell))
            if job.loops is None:
                runner.args.loops = statistics.median_low(
                    bench.calibrate(runner.args.min_time) for _ in range(CALIBRATIONS)
                )
            else:
                runner.args.loops = job.loops
            metadata = dict(
                cell.metadata(),
                placement_cpus=bench.describe_placement(),
                ipcbench_pass=job.pass_number,
                ipcbench_position=job.position,
                ipcbench_started=time.strftime("%Y-%m-%dT%H:%M:%S"),
                **bench.extra_metadata(runner.args.loops),
            )
            # runner.bench_time_func, plus figures measured over the run's timed values (CPU
            # time per message) in the run's metadata: see pyperf_runs.py.
            pyperf_runs.bench_time_func(runner, cell.name, bench, metadata)
    except BaseException as error:
        with open(job.failure_file, "w", encoding="utf-8") as stream:
            stream.write(failure_reason(error))
        if isinstance(error, SystemExit):
            raise
        return 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return 0


def _start_watchdog(seconds: float, failure_file: str) -> None:
    """Fail the cell after `seconds`; if cleanup then hangs too, end the worker.

    The first alarm raises CellTimeout, which unwinds through the session's cleanup (children
    stopped, channels closed). A second alarm means cleanup itself is stuck: the worker exits at
    once, and its children follow (they die with their parent, see child.prepare_child).
    """
    import os

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
