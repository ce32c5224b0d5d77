"""How fast, and how honest, is the harness itself?

    python bench/harness_speed.py                    # quick and default profiles, full matrix
    python bench/harness_speed.py --profiles quick   # just one
    python bench/harness_speed.py --skip-matrix      # only the overhead comparison

For each profile it runs the full default matrix (`python -m ipcbench run`) and prints the wall
time, seconds per cell and the spread of the figures (median and worst relative MAD across
cells). Then it measures the harness's overhead side by side, in one run: `os_pipe` 64 B
pingpong under the harness against a minimal inline loop doing the same round trip (a forked
child, two pipes, raw os.write/os.read, the same CPU placement), alternated several times.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ipcbench import load_results

PROFILE_FLAGS = {"quick": ["--quick"], "default": [], "rigorous": ["--rigorous"]}


def run_ipcbench(args: list[str]) -> float:
    """Run `python -m ipcbench run ARGS`; return its wall time in seconds."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "ipcbench", "run", *args], capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"ipcbench run {' '.join(args)} failed:\n{completed.stderr}")
    return elapsed


def measure_matrix(profile: str, scratch: Path) -> None:
    output = scratch / f"matrix-{profile}.json"
    wall = run_ipcbench([*PROFILE_FLAGS[profile], "-o", str(output)])
    frame = load_results([output])
    relative_mad = frame["mad"] / frame["median"]
    null = frame[(frame.transport == "null") & (frame.pattern == "pingpong")]
    print(f"profile {profile}: {len(frame)} cells in {wall:.1f} s = {wall / len(frame):.2f} s/cell")
    print(
        f"  relative MAD across cells: median {relative_mad.median():.2%}, "
        f"90th percentile {relative_mad.quantile(0.9):.2%}, worst {relative_mad.max():.2%} "
        f"({_cell(frame.loc[relative_mad.idxmax()])})"
    )
    floor = ", ".join(f"{row.size} {row.latency_us:.2f} µs" for row in null.itertuples())
    print(f"  null transport (the harness's floor), pingpong: {floor}")


def _cell(row) -> str:
    return "/".join(
        str(row[axis]) for axis in ("pattern", "transport", "method", "size", "placement")
    )


def inline_round_trip(size: int, values: int = 5, min_time: float = 0.05) -> float:
    """Median seconds per round trip of the barest loop: no framing, no protocol, no harness."""
    cpus = sorted(os.sched_getaffinity(0))
    saved = os.sched_getaffinity(0)
    to_child_r, to_child_w = os.pipe()
    to_parent_r, to_parent_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: echo until EOF
        try:
            os.close(to_child_w)
            os.close(to_parent_r)
            os.sched_setaffinity(0, {cpus[-1]})
            while message := os.read(to_child_r, size):
                os.write(to_parent_w, message)
        finally:
            os._exit(0)
    os.close(to_child_r)
    os.close(to_parent_w)
    os.sched_setaffinity(0, {cpus[0]})
    try:
        payload = os.urandom(size)
        write, read = os.write, os.read

        def loop(count: int) -> float:
            start = time.perf_counter()
            for _ in range(count):
                write(to_child_w, payload)
                read(to_parent_r, size)
            return time.perf_counter() - start

        count = 1
        while loop(count) < min_time:  # the same rule as the harness's calibration
            count *= 2
        return statistics.median(loop(count) / count for _ in range(values))
    finally:
        os.close(to_child_w)
        os.waitpid(pid, 0)
        os.close(to_parent_r)
        os.sched_setaffinity(0, saved)


def measure_overhead(scratch: Path, rounds: int) -> None:
    harness, inline = [], []
    for number in range(rounds):
        output = scratch / f"overhead-{number}.json"
        run_ipcbench(
            [
                "-t",
                "os_pipe",
                "-m",
                "fork",
                "-s",
                "64",
                "-p",
                "pingpong",
                "--placement",
                "split",
                "-o",
                str(output),
            ]
        )
        harness.append(load_results([output])["median"].iloc[0])
        inline.append(inline_round_trip(64))
    ratios = [h / i for h, i in zip(harness, inline, strict=True)]
    print(f"os_pipe 64 B pingpong, split placement, {rounds} alternated rounds:")
    print(
        f"  harness {statistics.median(harness) * 1e6:.2f} µs, "
        f"inline loop {statistics.median(inline) * 1e6:.2f} µs, "
        f"ratio harness/inline: median {statistics.median(ratios):.3f} "
        f"(rounds: {', '.join(f'{r:.3f}' for r in ratios)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--profiles",
        default="quick,default",
        help="comma-separated profiles to time on the full matrix",
    )
    parser.add_argument("--skip-matrix", action="store_true")
    parser.add_argument("--rounds", type=int, default=5, help="harness/inline alternations")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ipcbench-speed-") as scratch:
        if not args.skip_matrix:
            for profile in args.profiles.split(","):
                measure_matrix(profile, Path(scratch))
        measure_overhead(Path(scratch), args.rounds)


if __name__ == "__main__":
    main()
