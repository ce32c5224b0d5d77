"""How much does this machine's own speed drift while nothing of ours changes?

    python bench/machine_drift.py               # 2 minutes on the first usable CPU
    python bench/machine_drift.py --seconds 60 --cpu 1
    chrt -f 50 python bench/machine_drift.py    # shielded from this machine's other processes

It times one fixed pure-Python loop (about a millisecond: no memory traffic, no system call, no
other process) every 50 ms, pinned to one CPU, and prints the median of each 5-second block
against the median of all. Whatever varies here is the machine itself: CPU frequency, a VM's
host, its neighbours. A benchmark's workers taken seconds apart see that drift, and no number
of values inside one worker averages it out: only more workers, spread in time (passes), do. It
bounds how closely two runs of anything can agree on this machine (see bench/aa_test.py).
No assertion: figures to read.
"""

import argparse
import os
import statistics
import sys
import time

BLOCK_SECONDS = 5.0


def loop_seconds() -> float:
    """The best of three timings of a fixed loop: a timer interrupt in one does not count."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for number in range(20_000):
            total += number
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--cpu", type=int, default=min(os.sched_getaffinity(0)))
    args = parser.parse_args()
    if args.seconds < 4 * BLOCK_SECONDS:
        sys.exit(f"--seconds: at least {4 * BLOCK_SECONDS:g} (four {BLOCK_SECONDS:g}-s blocks)")
    os.sched_setaffinity(0, {args.cpu})
    blocks: dict[int, list[float]] = {}
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < args.seconds:
        blocks.setdefault(int(elapsed // BLOCK_SECONDS), []).append(loop_seconds())
        time.sleep(0.05)
    medians = [statistics.median(values) for _, values in sorted(blocks.items())]
    overall = statistics.median(medians)
    changes = [median / overall - 1 for median in medians]
    print(f"a fixed loop on CPU {args.cpu}, {BLOCK_SECONDS:g}-s block medians against theirs:")
    print(" ".join(f"{change:+.0%}" for change in changes))
    half = len(medians) // 2
    first, second = statistics.median(medians[:half]), statistics.median(medians[half:])
    print(
        f"spread of the blocks (standard deviation): {statistics.pstdev(changes):.1%}; "
        f"slowest {max(changes):+.0%}, fastest {min(changes):+.0%}; "
        f"second half against the first: {second / first - 1:+.1%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
