"""The A/A test: can `compare` tell noise from a real difference on this machine?

Runs one selection three times: twice back to back on an idle machine (A and A'), then once
while two busy processes compete for the CPUs (L). Then prints:
  - the A/A false-alarm rate: cells `compare` calls faster or slower between A and A' (the same
    code: every such call is a false alarm), and `--fail-above 10%`'s exit status on them;
  - the median and 90th percentile run-to-run change per cell between A and A', and the same
    net of the common shift (the geometric mean of all cells' ratios): a machine that is a
    little slower for the whole of A' shifts every cell alike, the harness's floor too;
  - the share of cells called slower under load (L against A): a test that never says
    "different" would pass the A/A test trivially;
  - how long each run took.

    python bench/aa_test.py                      # the default matrix, default profile (~12 min)
    python bench/aa_test.py --quick              # the quick profile
    python bench/aa_test.py -- -t os_pipe -s 64  # any `run` selection after --
    python bench/aa_test.py --realtime           # on a shared machine (root): see below
    python bench/aa_test.py --from DIR           # the figures of files kept with --keep DIR

A benchmark, not a test: it prints figures and asserts nothing. Keep the machine otherwise idle.
Where that cannot be (a shared machine), `--realtime` runs A and A' under SCHED_FIFO, so that
other work waits while they run (what an idle machine gives), and the load run at normal
priority, beside its busy processes, as before. Each file's recorded load is printed.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPIN = "import time\nend = time.monotonic() + 3600\nwhile time.monotonic() < end: pass"


def run(selection: list[str], output: Path, realtime: bool = False) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "ipcbench", "run", *selection, "-o", str(output)],
        check=False,  # a failed cell still leaves a comparable file
        stderr=subprocess.DEVNULL,
        preexec_fn=_realtime if realtime else None,
    )
    return time.monotonic() - started


def _realtime() -> None:
    # Inherited by the run's workers and children; the kernel still keeps 5% for others.
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))


def busy_cpus(path: Path) -> str:
    from ipcbench import results

    load = results.load(path).conditions.get("load")
    return "?" if load is None else f"{load:.2f}"


def compare(baseline: Path, other: Path, *extra: str) -> tuple[dict, int]:
    completed = subprocess.run(
        [sys.executable, "-m", "ipcbench", "compare", str(baseline), str(other), *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode not in (0, 1):
        raise SystemExit(f"compare failed: {completed.stderr.strip()}")
    return completed, completed.returncode


def verdicts(baseline: Path, other: Path) -> list[dict]:
    completed, _ = compare(baseline, other, "--format", "json")
    data = json.loads(completed.stdout)
    return [cell["files"][other.stem] for cell in data["cells"]]


def measure(selection: list[str], directory: Path, args) -> dict[str, float]:
    """Run A, A' and the loaded run into `directory`; their times in seconds."""
    directory.mkdir(parents=True, exist_ok=True)
    seconds = {}
    for name in ("a1", "a2", "load"):
        (directory / f"{name}.json").unlink(missing_ok=True)
    for name in ("a1", "a2"):
        seconds[name] = run(selection, directory / f"{name}.json", args.realtime)
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(args.busy)]
    try:
        seconds["load"] = run(selection, directory / "load.json")
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    return seconds


def percentile_90(values: list[float]) -> float:
    return values[int(0.9 * (len(values) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="use the quick profile")
    parser.add_argument("--keep", metavar="DIR", help="keep the three result files in DIR")
    parser.add_argument("--busy", type=int, default=2, help="busy processes for the load run")
    parser.add_argument(
        "--realtime", action="store_true", help="run A and A' under SCHED_FIFO (shared machines)"
    )
    parser.add_argument("--from", dest="source", metavar="DIR", help="no runs: read DIR's files")
    parser.add_argument("selection", nargs="*", help="`run` options after --")
    args = parser.parse_args()
    selection = [*args.selection, *(["--quick"] if args.quick else [])]

    directory = Path(args.source or args.keep or tempfile.mkdtemp(prefix="ipcbench-aa-"))
    first, second, loaded = (directory / f"{n}.json" for n in ("a1", "a2", "load"))
    if args.source:
        seconds = {}  # not run here: no times
    else:
        seconds = measure(selection, directory, args)

    same = verdicts(first, second)
    called = [cell for cell in same if cell["verdict"] in ("faster", "slower")]
    changes = sorted(abs(cell["ratio"] - 1) for cell in same)
    shift = math.exp(statistics.fmean(math.log(cell["ratio"]) for cell in same))
    net_changes = sorted(abs(cell["ratio"] / shift - 1) for cell in same)
    _, gate = compare(first, second, "--fail-above", "10%")
    under_load = verdicts(first, loaded)
    slower = [cell for cell in under_load if cell["verdict"] == "slower"]
    too_few = sum(cell["verdict"] == "too few runs" for cell in same)

    print(f"selection: {' '.join(selection) or '(default matrix, default profile)'}")
    if seconds:
        print(f"run times: A {seconds['a1']:.0f} s, A' {seconds['a2']:.0f} s, "
              f"under load {seconds['load']:.0f} s"
              + (" (A and A' under SCHED_FIFO)" if args.realtime else ""))  # fmt: skip
    print(f"CPUs kept busy by other processes: A {busy_cpus(first)}, A' {busy_cpus(second)}, "
          f"under load {busy_cpus(loaded)}")  # fmt: skip
    print(f"A/A false alarms: {len(called)} of {len(same)} cells ({len(called) / len(same):.1%})"
          + (f"; {too_few} cells had too few runs to test" if too_few else ""))  # fmt: skip
    for cell in called:
        print(f"  called {cell['verdict']}: ratio {cell['ratio']:.3f} (q={cell['q_value']:.3g})")
    print(f"A/A run-to-run change per cell: median {statistics.median(changes):.1%}, "
          f"90th percentile {percentile_90(changes):.1%}")  # fmt: skip
    net_median, net_90 = statistics.median(net_changes), percentile_90(net_changes)
    print(f"  common shift A'/A {shift:.3f}; net of it: median {net_median:.1%}, "
          f"90th percentile {net_90:.1%}")  # fmt: skip
    print(f"compare --fail-above 10% on A/A: exit status {gate}")
    print(f"under load ({args.busy} busy processes): {len(slower)} of {len(under_load)} cells "
          f"called slower ({len(slower) / len(under_load):.1%})")  # fmt: skip
    print(f"files: {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
