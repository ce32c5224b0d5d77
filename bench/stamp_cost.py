"""What does checking every message cost a small pipe stream?

    python bench/stamp_cost.py                        # os_pipe and subprocess_pipe, 64 B
    python bench/stamp_cost.py -t os_pipe --sizes 64,4KiB --rounds 12

The harness's stream sender writes each message's number into the payload just before sending
it (ipcbench.benches.stream), so that the child can check every message inside the clock; the
minimal loop of bench/fidelity.py sends its payloads as they are. Over fresh pairs of channels
(one per round), this times three loops side by side, values alternated: the harness's cell,
fidelity's raw loop, and that raw loop writing the same stamp into each payload as the harness
does (unrolled over the ring of two payloads, as the harness's sender is). It prints harness/raw
and harness/(raw + stamp): the second is the harness's cost once the check's share is taken out.
No assertion: figures to read.
"""

import argparse
import os
import statistics
import sys

from fidelity import RING, RawLoop, figure

from ipcbench import allocator
from ipcbench.benches import open_bench
from ipcbench.cell import Cell
from ipcbench.sizes import format_size, parse_sizes
from ipcbench.transports import registry

PIPES = ("os_pipe", "subprocess_pipe")  # the transports whose raw loop is RawLoop._fd_loop
STAMP_BYTES = 8
assert RING == 2, "StampingRawLoop sends from a ring of two payloads"


class StampingRawLoop(RawLoop):
    """fidelity's raw pipe stream, writing message n's number into its first 8 bytes first."""

    def _fd_loop(self, wfd: int, rfd: int) -> None:
        reader = open(rfd, "rb", buffering=0, closefd=False)
        payloads = [bytearray(payload) for payload in self.payloads]
        stamps = [memoryview(payload)[:STAMP_BYTES].cast("Q") for payload in payloads]
        write, readinto, ack = os.write, reader.readinto, bytearray(1)

        (payload, other), (stamp, other_stamp) = payloads, stamps

        def stream(loops):  # two messages per turn, as the harness's sender
            for n in range(0, loops - 1, 2):
                stamp[0] = n
                write(wfd, payload)
                other_stamp[0] = n + 1
                write(wfd, other)
            if loops & 1:
                stamp[0] = loops - 1
                write(wfd, payload)
            readinto(ack)

        self.run = stream


def measure(transport, size, values, min_time, child_cpus) -> tuple[float, float, float]:
    """Median seconds per message of (harness, raw, raw + stamp) over one set of channels."""
    method = "exec" if transport == "subprocess_pipe" else "fork"
    times = ([], [], [])
    with open_bench(Cell("stream", transport, method, size, "split"), registry()) as session:
        loops = session.calibrate(min_time)
        raws = [
            kind(transport, "stream", size, loops, child_cpus)
            for kind in (RawLoop, StampingRawLoop)
        ]
        try:
            for raw in raws:
                raw.time(loops)  # warm-up
            for _ in range(values):
                for timing, timer in zip(times, (session, *raws), strict=True):
                    timing.append(timer.time(loops) / loops)
        finally:
            for raw in raws:
                raw.close()
    return tuple(statistics.median(timing) for timing in times)


def refuse(message: str) -> int:
    print(f"stamp_cost: error: {message}", file=sys.stderr)
    return 2


def main() -> int:
    allocator.rerun_under_policy()  # the harness's workers run under it (allocator.py)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-t", "--transports", default=",".join(PIPES))
    parser.add_argument("--sizes", default="64")
    parser.add_argument("--values", type=int, default=7, help="values per set of channels")
    parser.add_argument("--rounds", type=int, default=8, help="fresh sets of channels per cell")
    parser.add_argument("--min-time", type=float, default=0.02)
    args = parser.parse_args()
    transports = args.transports.split(",")
    try:
        sizes = parse_sizes(args.sizes)
    except ValueError as error:
        return refuse(f"--sizes: {error}")
    if not set(transports) <= set(PIPES) or min(sizes) < STAMP_BYTES:
        return refuse(f"transports among {', '.join(PIPES)}, sizes of {STAMP_BYTES} B or more")
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        sys.exit("stamp_cost needs 2 CPUs (split placement)")
    cells = [(transport, size) for transport in transports for size in sizes]
    rounds = {cell: [] for cell in cells}
    for round_number in range(1, args.rounds + 1):  # in rounds over the cells, as fidelity.py
        print(f"round {round_number} of {args.rounds} over {len(cells)} cells", flush=True)
        for transport, size in cells:  # the session pins this process and its child
            measured = measure(transport, size, args.values, args.min_time, {usable[1]})
            rounds[transport, size].append(measured)
    print(
        f"{'transport':15} {'size':>7} {'harness':>14} {'raw':>14} {'raw+stamp':>14}"
        "  h/raw  h/(raw+stamp)"
    )
    for (transport, size), measured in rounds.items():
        harness, raw, stamped = (
            statistics.median(column) for column in zip(*measured, strict=True)
        )
        plain = statistics.median(h / r for h, r, _ in measured)
        net = statistics.median(h / s for h, _, s in measured)
        print(
            f"{transport:15} {format_size(size):>7} {figure('stream', size, harness):>14}"
            f" {figure('stream', size, raw):>14} {figure('stream', size, stamped):>14}"
            f"  {plain:5.2f}  {net:13.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
