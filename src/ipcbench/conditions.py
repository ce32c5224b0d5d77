"""What the machine was doing while it measured: load, CPU steal, usable CPUs.

A VM shares its host: steal time (what the hypervisor gave to someone else) and load from other
processes slow every timing without any change in the code measured. A run samples both over
its whole duration and records them in the result file, so `show`, `compare` and `report` can
say when figures were taken on a noisy machine; `ipcbench check` prints them before a run.
Standard library only: the manager imports this.
"""

import os
from dataclasses import dataclass

PROC_STAT = "/proc/stat"
# Above these a run's timings are suspect; the analysis commands warn. (Load: CPUs kept busy
# by other processes, per usable CPU.)
HIGH_LOAD_PER_CPU = 0.25
HIGH_STEAL_PCT = 5.0


@dataclass(frozen=True)
class CpuTimes:
    """Cumulative jiffies of all CPUs from /proc/stat (zero where unreadable)."""

    total: int = 0
    steal: int = 0
    idle: int = 0


def cpu_times() -> CpuTimes:
    try:
        with open(PROC_STAT, encoding="ascii") as stream:
            fields = stream.readline().split()
    except OSError:
        return CpuTimes()
    if not fields or fields[0] != "cpu":
        return CpuTimes()
    numbers = [int(field) for field in fields[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice; guest is inside user.
    total = sum(numbers[:8])
    idle = numbers[3] + (numbers[4] if len(numbers) > 4 else 0)
    steal = numbers[7] if len(numbers) > 7 else 0
    return CpuTimes(total, steal, idle)


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0))


def own_cpu_seconds() -> float:
    """CPU time of this process and of every descendant it has waited for (workers and theirs)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class Recorder:
    """What other processes and the hypervisor took from the machine over a whole run.

    The load average counts the run's own processes too (a pingpong keeps two CPUs busy), so it
    cannot tell a quiet machine from a busy one during a run. Instead: CPU time the whole machine
    spent busy (/proc/stat) minus this run's own CPU time gives the load of *other* processes.
    """

    def __init__(self) -> None:
        self.start = cpu_times()
        self.own_start = own_cpu_seconds()
        self.ticks = os.sysconf("SC_CLK_TCK")

    def summary(self) -> dict[str, float]:
        """`load`: CPUs kept busy by other processes on average; `steal_pct`; usable `cpus`."""
        summary: dict[str, float] = {"cpus": usable_cpus()}
        now = cpu_times()
        elapsed = now.total - self.start.total
        if elapsed <= 0:
            return summary
        busy = (
            elapsed - (now.idle - self.start.idle) - (now.steal - self.start.steal)
        ) / self.ticks
        own = own_cpu_seconds() - self.own_start
        machine_cpus = os.cpu_count() or 1
        wall = elapsed / self.ticks / machine_cpus
        summary["load"] = round(max(0.0, busy - own) / wall, 2)
        summary["steal_pct"] = round(100.0 * (now.steal - self.start.steal) / elapsed, 2)
        return summary


def merge(earlier: dict, later: dict) -> dict:
    """Conditions of a file run in several sessions (--resume, --append): the worse of each."""
    merged = dict(earlier)
    for key, value in later.items():
        merged[key] = max(value, merged.get(key, value)) if key != "cpus" else value
    return merged


def warnings(conditions: dict, label: str = "", during: str = "during the run") -> list[str]:
    """One line per condition that makes timings suspect ('' label: no file named)."""
    where = f"{label}: " if label else ""
    lines = []
    cpus = conditions.get("cpus") or usable_cpus()
    load = conditions.get("load")
    if load is not None and load > HIGH_LOAD_PER_CPU * cpus:
        lines.append(
            f"{where}other processes kept {load:.2f} of {cpus:g} CPUs busy {during}: "
            f"timings may be slow and noisy"
        )
    steal = conditions.get("steal_pct")
    if steal is not None and steal > HIGH_STEAL_PCT:
        lines.append(
            f"{where}the hypervisor stole {steal:.1f}% of CPU time {during}: "
            f"timings may be slow and noisy"
        )
    return lines


def noise_warning(run_conditions: dict) -> str | None:
    """One sentence when the machine was busy over a run (see warnings), else None."""
    found = warnings(run_conditions, during="during this run")
    return "; ".join(found) if found else None
