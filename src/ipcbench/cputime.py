"""CPU time of every process doing a cell's work, read outside the clock around each timed value.

The processes are this one (all its threads: a Queue's feeder thread, thread_queue's serving
thread) and all its descendants: the child, helpers such as a manager's server, children of a
fork server. Reading another process's CPU time needs no help from it (it may be busy, or not
speak our protocol): Linux gives every process a CPU-time clock that clock_gettime reads with
nanosecond resolution, for any process (clock_getcpuclockid; its id is computed here, since
Python does not expose the call). /proc/PID/stat (10 ms ticks) is the fallback.

A figure above (usable CPUs x wall time) cannot be: `check` says so, and the cell records it.
"""

import os
import time
from time import perf_counter

# The kernel's process CPU-time clock id: ~pid << 3 | CPUCLOCK_SCHED (see clock_getcpuclockid).
_CPUCLOCK_SCHED = 2
# Reads before and after each value add a little CPU time outside the clock.
TOLERANCE = 1.02


def descendants(pid: int | None = None) -> list[int]:
    """Every live descendant of `pid` (this process by default), children first."""
    found, queue = [], [pid or os.getpid()]
    while queue:
        parent = queue.pop(0)
        try:
            threads = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for thread in threads:
            try:
                with open(f"/proc/{parent}/task/{thread}/children") as stream:
                    children = [int(word) for word in stream.read().split()]
            except OSError:
                continue
            found.extend(children)
            queue.extend(children)
    return found


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process `pid` so far (all its threads); None once it is gone."""
    try:
        return time.clock_gettime(((~pid) << 3) | _CPUCLOCK_SCHED)
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as stream:
            fields = stream.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class CpuMeter:
    """CPU seconds of this process and the descendants it has when the meter is made.

    Make it once the channel is open: the processes then live until the cell is closed.
    """

    def __init__(self, usable_cpus: int) -> None:
        self.usable_cpus = usable_cpus
        self.pids = descendants()
        self._last = dict.fromkeys(self.pids, 0.0)
        # Per timed value: (loops, seconds on the clock, CPU seconds, seconds of the CPU window)
        self.timed: list[tuple[int, float, float, float]] = []

    def read(self) -> float:
        """CPU seconds so far: the sum over this process and the descendants."""
        total = time.process_time()
        for pid in self.pids:
            seconds = process_cpu_seconds(pid)
            if seconds is not None:  # a process that ended keeps what it had used
                self._last[pid] = seconds
            total += self._last[pid]
        return total

    def start(self) -> tuple[float, float]:
        """Right before the clock starts: (wall, CPU) at the start of the CPU window."""
        return perf_counter(), self.read()

    def stop(self, started: tuple[float, float], loops: int, elapsed: float) -> None:
        """Right after the clock stops: one timed value's CPU time.

        The CPU window is the clock's plus the reads around it; its own wall time is kept too,
        so that the check compares like with like even for values of a few microseconds.
        """
        cpu = self.read() - started[1]
        self.timed.append((loops, elapsed, cpu, perf_counter() - started[0]))

    def figures(self, values: int) -> dict:
        """cpu_per_message over the last `values` timed values (a run's), and a warning if
        the figure is impossible."""
        timed = self.timed[-values:]
        if not timed:
            return {}
        loops = sum(each[0] for each in timed)
        cpu = sum(each[2] for each in timed)
        window = sum(each[3] for each in timed)
        figures = {"cpu_per_message": cpu / loops}
        warning = check(cpu, window, self.usable_cpus)
        if warning:
            figures["cpu_warning"] = warning
        return figures


def check(cpu: float, wall: float, usable_cpus: int) -> str | None:
    """Why `cpu` seconds over `wall` seconds on `usable_cpus` CPUs cannot be right, or None."""
    if cpu <= usable_cpus * wall * TOLERANCE:
        return None
    return (
        f"harness error: {cpu * 1e3:.3f} ms of CPU time in {wall * 1e3:.3f} ms of wall time "
        f"on {usable_cpus} usable CPU(s)"
    )
