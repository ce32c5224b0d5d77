"""Is a cell's run-to-run noise the machine's (time) or the channel's (a fresh pair of processes)?

    python bench/noise_source.py                 # 12 cells of the default matrix, 40 rounds
    python bench/noise_source.py --rounds 20 -c pingpong/os_pipe/fork/64B/split

Each cell is timed two ways in the same rounds, in a fresh random order each round:
  kept   one channel opened at the start and kept open, timed once per round;
  fresh  a new channel (new child process) each round, opened, warmed up and timed, closed.
Each timing is what a worker takes (a warm-up, then the median of two values of --min-time). If
the kept channel's timings spread as widely over the rounds as the fresh ones, the noise is the
machine's state over time, not the pair of processes a worker happens to get, and only timings
spread in time (passes) average it out. It prints, per cell: the spread of each (median absolute
deviation of the logarithms, in %), the correlation of each with itself one round later, and
the correlation between kept and fresh in the same round. No assertion: figures to read.

Only fork and spawn cells: the harness restarts forkserver's server for each transport's
preloads, so forkserver channels of different transports cannot stay open side by side.
"""

import argparse
import contextlib
import math
import os
import random
import statistics
import sys
import time

from ipcbench import allocator
from ipcbench.benches import open_bench
from ipcbench.cell import Cell
from ipcbench.transports import registry

DEFAULT_CELLS = (
    "pingpong/os_pipe/fork/64B/split",
    "stream/os_pipe/spawn/4KiB/split",
    "pingpong/mp_pipe/spawn/4KiB/split",
    "stream/mp_pipe/fork/64B/split",
    "pingpong/mp_queue/spawn/64B/split",
    "stream/mp_queue/fork/64KiB/split",
    "pingpong/shared_array/fork/64KiB/split",
    "stream/shared_array/spawn/64B/split",
    "pingpong/manager_queue/fork/4KiB/split",
    "stream/os_pipe/fork/1MiB/split",
    "pingpong/null/none/64B/split",
    "stream/mp_pipe/spawn/64KiB/split",
)
METHODS = ("fork", "spawn", "none")


def refuse(message: str) -> int:
    print(f"noise_source: error: {message}", file=sys.stderr)
    return 2


def cells_from(text: str, transports) -> list[Cell]:
    """The cells named in `text` (comma-separated); ValueError saying what is wrong."""
    cells = [Cell.from_name(name) for name in text.split(",")]
    for cell in cells:
        if cell.pattern not in ("pingpong", "stream") or cell.transport not in transports:
            raise ValueError(f"{cell.name}: a pingpong or stream cell of a known transport")
        if cell.method not in METHODS:
            raise ValueError(f"{cell.name}: fork or spawn only (see the module's docstring)")
    return cells


def worker_timing(bench, loops: int) -> float:
    """A worker's figure for one moment: a warm-up, then the median of two values (log s)."""
    bench.time(loops)
    return math.log(statistics.median(bench.time(loops) / loops for _ in range(2)))


def fresh_timing(cell: Cell, transports, loops: int, all_cpus) -> float:
    pinned = os.sched_getaffinity(0)
    os.sched_setaffinity(0, all_cpus)  # a bench places its processes from the whole machine
    try:
        with open_bench(cell, transports) as bench:
            return worker_timing(bench, loops)
    finally:
        os.sched_setaffinity(0, pinned)


def measure(cells, transports, rounds: int, min_time: float):
    """(kept, fresh): per cell, one timing per round of each."""
    all_cpus = os.sched_getaffinity(0)
    kept, fresh = [[] for _ in cells], [[] for _ in cells]
    with contextlib.ExitStack() as stack:
        benches, loops = [], []
        for cell in cells:
            os.sched_setaffinity(0, all_cpus)  # each bench pins this process while it is open
            bench = stack.enter_context(open_bench(cell, transports))
            benches.append(bench)
            loops.append(bench.calibrate(min_time))
        started = time.perf_counter()
        for number in range(1, rounds + 1):
            order = [(way, i) for way in ("kept", "fresh") for i in range(len(cells))]
            random.shuffle(order)
            for way, i in order:
                if way == "kept":
                    kept[i].append(worker_timing(benches[i], loops[i]))
                else:
                    fresh[i].append(fresh_timing(cells[i], transports, loops[i], all_cpus))
            elapsed = time.perf_counter() - started
            print(f"round {number} of {rounds} ({elapsed:.0f} s)", file=sys.stderr, flush=True)
    return kept, fresh


def spread(logs: list[float]) -> float:
    """Median absolute deviation of log timings, as a percentage."""
    middle = statistics.median(logs)
    return 100 * statistics.median(abs(x - middle) for x in logs)


def correlation(xs: list[float], ys: list[float]) -> float:
    if len(xs) < 3 or statistics.pstdev(xs) == 0 or statistics.pstdev(ys) == 0:
        return float("nan")
    return statistics.correlation(xs, ys)


def main() -> int:
    allocator.rerun_under_policy()  # the harness's workers run under it (allocator.py)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-c", "--cells", default=",".join(DEFAULT_CELLS))
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--min-time", type=float, default=0.015)
    args = parser.parse_args()
    transports = registry()
    try:
        cells = cells_from(args.cells, transports)
    except ValueError as error:
        return refuse(f"--cells: {error}")
    if args.rounds < 4 or not 0 < args.min_time <= 1:
        return refuse("--rounds of 4 or more, --min-time of more than 0 and at most 1 s")
    if len(os.sched_getaffinity(0)) < 2:
        return refuse("needs 2 usable CPUs (split placement)")
    kept, fresh = measure(cells, transports, args.rounds, args.min_time)
    print(
        f"{'cell':42} {'spread kept':>12} {'fresh':>7} {'lag-1 kept':>11} {'fresh':>6}"
        f" {'kept~fresh':>11}"
    )
    for cell, k, f in zip(cells, kept, fresh, strict=True):
        lag_kept, lag_fresh = correlation(k[:-1], k[1:]), correlation(f[:-1], f[1:])
        print(
            f"{cell.name:42} {spread(k):11.1f}% {spread(f):6.1f}% {lag_kept:11.2f}"
            f" {lag_fresh:6.2f} {correlation(k, f):11.2f}"
        )
    print(
        f"median spread: kept {statistics.median(map(spread, kept)):.1f}%,"
        f" fresh {statistics.median(map(spread, fresh)):.1f}%"
        f" ({len(cells)} cells, {args.rounds} rounds)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
