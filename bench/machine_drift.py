"""How much does this machine's own speed drift while nothing of ours changes?

    python bench/machine_drift.py               # 2 minutes on the first usable CPU
    python bench/machine_drift.py --seconds 60 --cpu 1
    chrt -f 50 python bench/machine_drift.py    # shielded from this machine's other processes

Pinned to one CPU, with no system call and no other process, it times two fixed pure-Python
loops of about a millisecond every 50 ms:
  arithmetic  a sum over a range: the interpreter's tightest loop;
  hand-over   the harness's floor in miniature (the `null` transport's work): stamp one of four
              64-byte payloads, pass it through a deque, check its length.
It prints the arithmetic loop's median per 5-second block against the median of all, and for
both loops how much of the time they ran 1.5x or more away from their median, either way, and
for how long at a stretch. Whatever varies here is the machine itself: CPU frequency, a VM's
host, its neighbours. A benchmark's workers taken seconds apart see that drift, and no number of
values inside one worker averages it out: only more workers, spread in time (passes), do. It
bounds how closely two runs of anything can agree on this machine (see bench/aa_test.py).
No assertion: figures to read.
"""

import argparse
import os
import statistics
import sys
import time
from collections import deque

BLOCK_SECONDS = 5.0
SAMPLE_GAP = 0.05  # seconds between timings
AWAY = 1.5  # a timing this far from its loop's median (either way) belongs to an episode


def arithmetic_seconds() -> float:
    """The best of three timings of a fixed sum: a timer interrupt in one does not count."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for number in range(20_000):
            total += number
        best = min(best, time.perf_counter() - start)
    return best


PAYLOADS = [bytearray(64) for _ in range(4)]
STAMPS = [memoryview(payload)[:8].cast("Q") for payload in PAYLOADS]
HANDOVER = deque()


def handover_seconds() -> float:
    """One timing (not the best of three: a fast spell is as telling as a slow one)."""
    send, recv, payloads, stamps = HANDOVER.append, HANDOVER.popleft, PAYLOADS, STAMPS
    start = time.perf_counter()
    for number in range(4_000):
        slot = number & 3
        stamps[slot][0] = number
        send(payloads[slot])
        if len(recv()) != 64:
            raise AssertionError("the hand-over lost its payload")
    return time.perf_counter() - start


def episodes(name: str, samples: list[tuple[float, float]]) -> str:
    """How much of the run a loop spent AWAY times off its median, and its longest stretch: a
    worker's values of one cell are taken within tens of milliseconds, so a stretch of a few
    hundred milliseconds lands on some workers whole and on others not at all."""
    typical = statistics.median(seconds for _, seconds in samples)
    away = [not typical / AWAY < seconds < typical * AWAY for _, seconds in samples]
    stretches, begun = [], None
    for (when, _), off in zip(samples, away, strict=True):
        if off and begun is None:
            begun = when
        elif not off and begun is not None:
            stretches.append(when - begun)
            begun = None
    if begun is not None:
        stretches.append(samples[-1][0] - begun + SAMPLE_GAP)
    slower = sum(seconds >= typical * AWAY for _, seconds in samples)
    longest = f", the longest {max(stretches):.2f} s" if stretches else ""
    return (
        f"{name:10} {AWAY:g}x or more off its median: {sum(away) / len(away):.1%} of the timings "
        f"({slower} slower, {sum(away) - slower} faster), in {len(stretches)} stretches{longest}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--cpu", type=int, default=min(os.sched_getaffinity(0)))
    args = parser.parse_args()
    if args.seconds < 4 * BLOCK_SECONDS:
        sys.exit(f"--seconds: at least {4 * BLOCK_SECONDS:g} (four {BLOCK_SECONDS:g}-s blocks)")
    os.sched_setaffinity(0, {args.cpu})
    blocks: dict[int, list[float]] = {}
    arithmetic, handover = [], []  # (when, seconds) of every timing, in order
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < args.seconds:
        seconds = arithmetic_seconds()
        blocks.setdefault(int(elapsed // BLOCK_SECONDS), []).append(seconds)
        arithmetic.append((elapsed, seconds))
        handover.append((elapsed, handover_seconds()))
        time.sleep(SAMPLE_GAP)
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
    print(episodes("arithmetic", arithmetic))
    print(episodes("hand-over", handover))
    return 0


if __name__ == "__main__":
    sys.exit(main())
