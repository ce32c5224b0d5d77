"""How close are the harness's figures to what a minimal hand-written loop measures?

    python bench/fidelity.py                       # every seed transport, both patterns
    python bench/fidelity.py -t os_pipe -p stream  # a subset
    python bench/fidelity.py --sizes 64,1MiB --values 9 --rounds 9

For each seed transport, pattern and size it times the harness's cell (ipcbench.benches.open_bench:
the worker's own procedure, minus pyperf's process) and, beside it in the same process, a raw
loop: the same mechanism with nothing else, a fixed message size known to both sides (no
framing), a preallocated receive buffer, as many distinct payloads as the harness sent in turn.
Same start method (fork; exec for subprocess_pipe), same CPU placement (parent on the first
usable CPU, child and helpers on the second), same timing (perf_counter around the same number
of loops, found by the harness's calibration), the same allocator policy (ipcbench.allocator),
values alternated harness / raw so that drift hits both alike, over several fresh pairs of
channels, one per round over all cells (--rounds): the median ratio is printed, and the lowest
and highest pair's.
It prints harness/raw per cell (target: at most 1.10), and one core's memcpy bandwidth measured
in the same run (cache-hot, and on a stream's working set) with the shared-memory streams' share
of each. No assertion: figures to read.
"""

import argparse
import os
import statistics
import subprocess
import sys
from multiprocessing import get_context
from multiprocessing.shared_memory import SharedMemory
from time import perf_counter

from ipcbench import allocator
from ipcbench.benches import open_bench
from ipcbench.cell import Cell
from ipcbench.channel import RING, RING_MASK
from ipcbench.sizes import format_size, parse_sizes
from ipcbench.transports import registry
from ipcbench.transports.slot_ring import slot_count

SEEDS = (
    "os_pipe",
    "mp_pipe",
    "mp_queue",
    "manager_queue",
    "shared_array",
    "shared_memory",
    "subprocess_pipe",
)
SHARED = ("shared_array", "shared_memory")  # 1 MiB streams read against memcpy (aim: >= 80%)
ACK = b"\x06"
SLOTS = 4  # the raw shared-memory ring, as the harness's (slot_ring.MAX_SLOTS)


# -- raw children: echo forever (pingpong), or ack every `loops` messages (stream) -------------


def _pin(cpus) -> None:
    if cpus:
        os.sched_setaffinity(0, cpus)


def _read_exactly(readinto, view, size: int) -> None:
    got = readinto(view)
    while got < size:
        more = readinto(view[got:])
        if not more:
            raise EOFError
        got += more


def pipe_child(rfd, wfd, size, pattern, loops, cpus) -> None:
    _pin(cpus)
    reader = open(rfd, "rb", buffering=0)
    buffer = bytearray(size)
    view, readinto, write = memoryview(buffer), reader.readinto, os.write
    try:
        while True:
            if pattern == "pingpong":
                _read_exactly(readinto, view, size)
                write(wfd, buffer)
            else:
                for _ in range(loops):
                    _read_exactly(readinto, view, size)
                write(wfd, ACK)
    except (EOFError, OSError):
        pass


def connection_child(connection, size, pattern, loops, cpus) -> None:
    _pin(cpus)
    buffer = bytearray(size)
    recv_into, send = connection.recv_bytes_into, connection.send_bytes
    try:
        while True:
            if pattern == "pingpong":
                recv_into(buffer)
                send(buffer)
            else:
                for _ in range(loops):
                    recv_into(buffer)
                send(ACK)
    except (EOFError, OSError):
        pass


def queue_child(inbox, outbox, pattern, loops, cpus) -> None:
    _pin(cpus)
    get, put = inbox.get, outbox.put
    while True:
        if pattern == "pingpong":
            message = get()
            if message is None:
                return
            put(message)
        else:
            for _ in range(loops):
                if get() is None:
                    return
            put(ACK)


def ring_child(name_in, name_out, sems, size, pattern, loops, cpus) -> None:
    _pin(cpus)
    inbound, outbound = SharedMemory(name=name_in), SharedMemory(name=name_out)
    recv = ring_reader(inbound.buf, size, *sems[0])
    send = ring_writer(outbound.buf, size, *sems[1])
    try:
        while True:
            if pattern == "pingpong":
                send(recv())
            else:
                for _ in range(loops):
                    recv()
                send(ACK)
    finally:
        del recv, send
        inbound.close()
        outbound.close()


def ring_writer(buffer, size, free, filled):
    """The raw ring: fixed-size slots, no length field, one copy in."""
    acquire, release, index = free.acquire, filled.release, 0

    def send(data) -> None:
        nonlocal index
        offset = index * size
        acquire()
        buffer[offset : offset + len(data)] = data
        release()
        index = (index + 1) % SLOTS

    return send


def ring_reader(buffer, size, free, filled):
    acquire, release, index = filled.acquire, free.release, 0
    own = memoryview(bytearray(size))

    def recv():
        nonlocal index
        offset = index * size
        acquire()
        own[:] = buffer[offset : offset + size]
        release()
        index = (index + 1) % SLOTS
        return own

    return recv


# The exec'd child runs pipe_child itself, on its stdin and stdout: os_pipe's and subprocess_pipe's
# raw loops then differ only as the harness's do, in how the child was started.
SUBPROCESS_CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from fidelity import pipe_child
size, pattern, loops = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
pipe_child(0, 1, size, pattern, loops, {int(cpu) for cpu in sys.argv[5:]})
"""


# -- raw parents: one value of `loops` iterations -----------------------------------------------


class RawLoop:
    """The raw channel for one cell: `time(loops)` like Session.time, `close()`."""

    def __init__(self, transport: str, pattern: str, size: int, loops: int, child_cpus) -> None:
        self.pattern, self.size, self.loops = pattern, size, loops
        # Distinct payloads in turn, as the harness sends (ipcbench.channel.RING): one buffer
        # sent over and over would stay in the cache where distinct messages do not.
        self.payloads = [os.urandom(size) for _ in range(RING)]
        self.buffer = bytearray(size)
        self._closers = []
        getattr(self, "_open_" + transport)(get_context("fork"), child_cpus)

    def _start(self, ctx, target, *args):
        process = ctx.Process(target=target, args=args, daemon=True)
        process.start()
        self._closers.append(lambda: (process.terminate(), process.join()))
        return process

    def _open_os_pipe(self, ctx, cpus) -> None:
        to_child_r, to_child_w = os.pipe()
        to_parent_r, to_parent_w = os.pipe()
        for fd in (to_child_w, to_parent_w):
            fit_pipe(fd, self.size)  # as the harness's os_pipe does
        self._start(
            ctx, pipe_child, to_child_r, to_parent_w, self.size, self.pattern, self.loops, cpus
        )
        os.close(to_child_r)
        os.close(to_parent_w)
        self._fd_loop(to_child_w, to_parent_r)

    def _open_subprocess_pipe(self, ctx, cpus) -> None:
        here = os.path.dirname(os.path.abspath(__file__))
        command = [sys.executable, "-c", SUBPROCESS_CHILD, here, str(self.size), self.pattern]
        command += [str(self.loops), *map(str, cpus or ())]
        popen = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        for pipe in (popen.stdin, popen.stdout):
            fit_pipe(pipe.fileno(), self.size)  # as the harness's subprocess_pipe does
        self._closers.append(lambda: (popen.stdin.close(), popen.stdout.close(), popen.wait()))
        self._fd_loop(popen.stdin.fileno(), popen.stdout.fileno())

    def _fd_loop(self, wfd: int, rfd: int) -> None:
        reader = open(rfd, "rb", buffering=0, closefd=False)
        view, readinto, write, payloads = (
            memoryview(self.buffer),
            reader.readinto,
            os.write,
            self.payloads,
        )
        size = self.size
        ack = bytearray(1)

        def pingpong(loops):
            for n in range(loops):
                write(wfd, payloads[n & RING_MASK])
                _read_exactly(readinto, view, size)

        def stream(loops):
            for n in range(loops):
                write(wfd, payloads[n & RING_MASK])
            readinto(ack)

        self.run = pingpong if self.pattern == "pingpong" else stream

    def _open_mp_pipe(self, ctx, cpus) -> None:
        parent, child = ctx.Pipe(duplex=True)
        self._start(ctx, connection_child, child, self.size, self.pattern, self.loops, cpus)
        child.close()
        self._closers.insert(0, parent.close)
        send, recv_into, payloads, buffer = (
            parent.send_bytes,
            parent.recv_bytes_into,
            self.payloads,
            self.buffer,
        )

        def pingpong(loops):
            for n in range(loops):
                send(payloads[n & RING_MASK])
                recv_into(buffer)

        def stream(loops):
            for n in range(loops):
                send(payloads[n & RING_MASK])
            parent.recv_bytes()

        self.run = pingpong if self.pattern == "pingpong" else stream

    def _open_mp_queue(self, ctx, cpus) -> None:
        self._queue_loop(ctx, cpus, ctx.Queue(), ctx.Queue())

    def _open_manager_queue(self, ctx, cpus) -> None:
        from ipcbench.children import start_manager

        manager = start_manager(ctx, cpus)  # its server on the child's CPU, as the harness's
        self._closers.append(manager.shutdown)
        self._queue_loop(ctx, cpus, manager.Queue(), manager.Queue())

    def _queue_loop(self, ctx, cpus, to_child, to_parent) -> None:
        self._start(ctx, queue_child, to_child, to_parent, self.pattern, self.loops, cpus)
        self._closers.insert(0, lambda: to_child.put(None))
        put, get, payloads = to_child.put, to_parent.get, self.payloads

        def pingpong(loops):
            for n in range(loops):
                put(payloads[n & RING_MASK])
                get()

        def stream(loops):
            for n in range(loops):
                put(payloads[n & RING_MASK])
            get()

        self.run = pingpong if self.pattern == "pingpong" else stream

    def _open_shared_memory(self, ctx, cpus) -> None:
        size = self.size
        segments = [SharedMemory(create=True, size=SLOTS * size) for _ in range(2)]
        for segment in segments:
            self._closers.append(lambda s=segment: (s.close(), s.unlink()))
        sems = [(ctx.Semaphore(SLOTS), ctx.Semaphore(0)) for _ in range(2)]
        names = [segment.name for segment in segments]
        self._start(ctx, ring_child, names[0], names[1], sems, size, self.pattern, self.loops, cpus)
        send = ring_writer(segments[0].buf, size, *sems[0])
        recv = ring_reader(segments[1].buf, size, *sems[1])
        self._closers.insert(0, lambda: self.__dict__.pop("run"))
        payloads = self.payloads

        def pingpong(loops):
            for n in range(loops):
                send(payloads[n & RING_MASK])
                recv()

        def stream(loops):
            for n in range(loops):
                send(payloads[n & RING_MASK])
            recv()  # the ack (a slot of `size` bytes: a copy the size of a message, once)

        self.run = pingpong if self.pattern == "pingpong" else stream

    # A RawArray ring is the same memory and semaphores as a SharedMemory one.
    _open_shared_array = _open_shared_memory

    def time(self, loops: int) -> float:
        start = perf_counter()
        self.run(loops)
        return perf_counter() - start

    def close(self) -> None:
        for close in self._closers:
            try:
                close()
            except Exception:
                pass


def fit_pipe(fd: int, size: int) -> None:
    from ipcbench.transports.os_pipe import fit_pipe_buffer

    fit_pipe_buffer(fd, size)


def memcpy_gbps(working_set: str, size: int = 1 << 20, seconds: float = 0.2) -> float:
    """One core's copy bandwidth for `size`-byte messages, on one of two working sets:
    hot     one buffer into another, over and over: both stay in the core's own cache (its best);
    stream  the harness's stream writer's: RING distinct payloads copied in turn into a ring of
            MAX_SLOTS slots. At 1 MiB that is more than a core's cache holds, as in any stream of
            distinct messages through a multi-slot ring; the hot figure is out of its reach.
    """
    sources = [memoryview(bytearray(os.urandom(size))) for _ in range(RING)]
    slots = [memoryview(bytearray(size)) for _ in range(slot_count(size))]
    if working_set == "hot":
        pairs = [(slots[0], sources[0])]
    else:  # every slot with every payload in turn, as the writer fills them
        pairs = [(slots[n % len(slots)], sources[n % RING]) for n in range(len(slots) * RING)]
    copies, start = 0, perf_counter()
    while perf_counter() - start < seconds:
        for target, source in pairs:
            target[:] = source
        copies += len(pairs)
    return copies * size / (perf_counter() - start) / 1e9


def memcpy_line(when: str = "") -> dict[str, float]:
    rates = {working_set: memcpy_gbps(working_set) for working_set in ("hot", "stream")}
    print(
        f"memcpy (1 MiB messages, one core){when}: {rates['hot']:.1f} GB/s cache-hot, "
        f"{rates['stream']:.1f} GB/s on a stream's working set"
    )
    return rates


def measure(transport, pattern, size, values, min_time, cpus) -> tuple[float, float]:
    """(harness median, raw median) seconds per iteration over one pair of channels, values
    alternated."""
    method = "exec" if transport == "subprocess_pipe" else "fork"
    cell = Cell(pattern, transport, method, size, "split")
    harness_times, raw_times = [], []
    with open_bench(cell, registry()) as session:
        loops = session.calibrate(min_time)
        raw = RawLoop(transport, pattern, size, loops, cpus[1])
        try:
            raw.time(loops)  # warm-up
            for _ in range(values):
                harness_times.append(session.time(loops) / loops)
                raw_times.append(raw.time(loops) / loops)
        finally:
            raw.close()
    return statistics.median(harness_times), statistics.median(raw_times)


def figure(pattern: str, size: int, seconds: float) -> str:
    if pattern == "pingpong":
        return f"{seconds * 1e6:9.2f} µs"
    return f"{size / seconds / 1e6:9.2f} MB/s"  # MB/s: a 64 B stream moves well under 1 GB/s


def main() -> int:
    allocator.rerun_under_policy()  # the harness's workers run under it (allocator.py)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-t", "--transports", default=",".join(SEEDS))
    parser.add_argument("-p", "--patterns", default="pingpong,stream")
    parser.add_argument("--sizes", default="64,4KiB,64KiB,1MiB")
    parser.add_argument("--values", type=int, default=7, help="values per pair of channels")
    parser.add_argument(
        "--rounds", type=int, default=5, help="fresh pairs of channels per cell, one per round"
    )
    parser.add_argument("--min-time", type=float, default=0.02)
    args = parser.parse_args()
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        sys.exit("fidelity needs 2 CPUs (split placement)")
    cpus = ({usable[0]}, {usable[1]})
    memcpy = [memcpy_line()]
    cells = [
        (pattern, transport, size)
        for pattern in args.patterns.split(",")
        for transport in args.transports.split(",")
        for size in parse_sizes(args.sizes)
    ]
    # Each cell over several fresh pairs of channels: a pair of processes settles into a rhythm
    # of wake-ups of its own (between two pairs, subprocess_pipe's 4 KiB stream went from 1.03 to
    # 1.91). The pairs come in rounds over all cells, not one cell's back to back: the machine's
    # state changes over tens of seconds, and moved a small shared-memory stream's ratio from
    # ~0.86 for a dozen pairs in a row to ~1.1 for the next few.
    pairs = {cell: [] for cell in cells}
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number} of {args.rounds} over {len(cells)} cells", flush=True)
        for pattern, transport, size in cells:
            # Session pins this process (the raw loop's parent too) and its child.
            pair = measure(transport, pattern, size, args.values, args.min_time, cpus)
            pairs[pattern, transport, size].append(pair)
    print(
        f"{'pattern':9} {'transport':16} {'size':>6} {'harness':>14} {'raw':>14} {'ratio':>6}"
        f"  {'pairs':>9}"
    )
    ratios, shared_streams = [], []
    for (pattern, transport, size), measured in pairs.items():
        harness = statistics.median(pair[0] for pair in measured)
        raw = statistics.median(pair[1] for pair in measured)
        each = sorted(pair[0] / pair[1] for pair in measured)
        ratio = statistics.median(each)
        ratios.append(ratio)
        mark = "" if 0.9 <= ratio <= 1.10 else "  <-- outside 0.90..1.10"
        print(
            f"{pattern:9} {transport:16} {format_size(size):>6} "
            f"{figure(pattern, size, harness):>14} {figure(pattern, size, raw):>14} "
            f"{ratio:6.2f}  {each[0]:.2f}-{each[-1]:.2f}{mark}"
        )
        if pattern == "stream" and transport in SHARED and size == 1 << 20:
            shared_streams.append((transport, size / harness / 1e9))
    memcpy.append(memcpy_line(", again"))
    for working_set in ("hot", "stream"):
        rate = statistics.mean(each[working_set] for each in memcpy)
        for transport, gbps in shared_streams:
            print(
                f"{transport} stream 1MiB: {gbps:.1f} GB/s = {gbps / rate:.0%} of the "
                f"{working_set} memcpy ({rate:.1f} GB/s)"
            )
    print(
        f"harness/raw: median {statistics.median(ratios):.2f}, "
        f"worst {max(ratios):.2f}, best {min(ratios):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
