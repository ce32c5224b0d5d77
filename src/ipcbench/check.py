"""`ipcbench check`: what on this machine can spoil timings, before a run.

Modelled on `python -m pyperf system show`: facts first, then one warning per thing worth
fixing. It reads only what an unprivileged process can read and changes nothing.
"""

import glob
import os
import time
from pathlib import Path

from ipcbench import conditions

CPU_SYSFS = Path("/sys/devices/system/cpu")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def governors() -> dict[str, list[int]]:
    """Frequency governor -> CPUs using it (empty where the kernel exposes none, as on most VMs)."""
    found: dict[str, list[int]] = {}
    for path in sorted(glob.glob(str(CPU_SYSFS / "cpu[0-9]*" / "cpufreq" / "scaling_governor"))):
        governor = _read(Path(path))
        if governor:
            cpu = int(Path(path).parent.parent.name.removeprefix("cpu"))
            found.setdefault(governor, []).append(cpu)
    return found


def turbo() -> bool | None:
    """Whether turbo boost is on (None: not readable here)."""
    no_turbo = _read(CPU_SYSFS / "intel_pstate" / "no_turbo")
    if no_turbo is not None:
        return no_turbo == "0"
    boost = _read(CPU_SYSFS / "cpufreq" / "boost")
    if boost is not None:
        return boost == "1"
    return None


def sample(seconds: float) -> dict[str, float]:
    """Other processes' load and steal over `seconds` of this process sleeping."""
    recorder = conditions.Recorder()
    time.sleep(seconds)
    return recorder.summary()


def check(seconds: float = 1.0) -> tuple[list[str], list[str]]:
    """(facts, warnings) as lines of text."""
    facts, warnings = [], []
    usable = sorted(os.sched_getaffinity(0))
    machine = os.cpu_count() or len(usable)
    facts.append(f"CPUs: {len(usable)} usable of {machine} ({_ranges(usable)})")
    if len(usable) < 2:
        warnings.append(
            "only one usable CPU: placement 'split' cannot run; parent and child share it"
        )
    elif len(usable) < machine:
        warnings.append(f"this process may use {len(usable)} of {machine} CPUs (affinity)")
    isolated = _read(CPU_SYSFS / "isolated")
    facts.append(f"isolated CPUs: {isolated or 'none'}")

    found = governors()
    if found:
        listed = ", ".join(f"{name} ({_ranges(cpus)})" for name, cpus in found.items())
        facts.append(f"frequency governor: {listed}")
        if set(found) - {"performance"}:
            warnings.append(
                "a CPU frequency governor other than 'performance' lets clock speed drift "
                "between cells (pyperf system tune sets it)"
            )
    else:
        facts.append("frequency governor: not exposed (usual on a VM)")
    boost = turbo()
    facts.append(f"turbo boost: {'unknown' if boost is None else 'on' if boost else 'off'}")
    if boost:
        warnings.append("turbo boost is on: clock speed depends on temperature and load")

    one, five, fifteen = os.getloadavg()
    facts.append(f"load average: {one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min)")
    measured = sample(seconds)
    facts.append(
        f"over {seconds:g} s: other processes kept {measured.get('load', 0):.2f} CPUs busy; "
        f"steal {measured.get('steal_pct', 0):.1f}% of CPU time"
    )
    busy_now = conditions.warnings(measured, during=f"over {seconds:g} s")
    warnings += busy_now
    if one > conditions.HIGH_LOAD_PER_CPU * len(usable) and not busy_now:
        warnings.append(f"the 1-minute load average ({one:.2f}) says the machine was busy lately")
    return facts, warnings


def _ranges(cpus: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2,5'."""
    parts, start = [], None
    for index, cpu in enumerate(cpus):
        if start is None:
            start = cpu
        if index + 1 == len(cpus) or cpus[index + 1] != cpu + 1:
            parts.append(str(start) if start == cpu else f"{start}-{cpu}")
            start = None
    return ",".join(parts)


def run_check(seconds: float) -> int:
    facts, warnings = check(seconds)
    for line in facts:
        print(line)
    for line in warnings:
        print(f"warning: {line}")
    if not warnings:
        print("ok: nothing here should spoil timings")
    return 0
