"""The transport contract: every registered transport, under every start method it claims.

Each test talks to a real child process through the transport's own endpoint.
"""

import os

import pytest
from conftest import live_children, new_shm_entries, timed_within_wall

from ipcbench import cluster
from ipcbench.benches import open_bench
from ipcbench.benches.base import DataError, start_context
from ipcbench.benches.pingpong import pingpong, verify
from ipcbench.benches.stream import stream
from ipcbench.cell import Cell
from ipcbench.kind_rules import message_size
from ipcbench.payloads import KINDS, make_channel
from ipcbench.transports import registry
from ipcbench.transports.base import RECEIVE_MODES

REGISTRY = registry()
CASES = [(t.name, method) for t in REGISTRY for method in t.methods if not t.unavailable_reason()]
# 1 byte, a framing-unfriendly odd size, one larger than a pipe's buffer, and about 1 MiB.
SIZES = (1, 1000, 65537, (1 << 20) + 7)
CAPACITY = max(SIZES)
# Each kind other than bytes, where the transport carries it: objects, arrays as buffers, arrays
# pickled in band, arrays with their memory in frames of their own (small, larger than a pipe's
# buffer), shared-memory tensors.
KIND_CASES = (
    ("pickle", 4096),
    ("numpy", 64),
    ("numpy", 1 << 20),
    ("numpy", 999),
    ("ndarray", 4096),
    ("pickle5", 999),
    ("pickle5", 65537),
    ("torch", 4096),
)

pytestmark = pytest.mark.usefixtures("stop_multiprocessing_helpers")


@pytest.fixture(autouse=True)
def private_ray_only_for_ray_transports(request):
    """The Ray transports' private Ray (started once, by their first case) is made of this
    process's descendants: the CPU meter of any other transport's cell would count it."""
    name = getattr(request.node, "callspec", None) and request.node.callspec.params.get("name")
    if not (name or "").startswith("ray_"):
        cluster.shutdown_private()


@pytest.mark.parametrize(("name", "method"), CASES, ids=[f"{n}-{m}" for n, m in CASES])
def test_transport_carries_every_message_intact(name, method):
    shm_before = set(os.listdir("/dev/shm"))
    # A transport with a message size limit (posix_mq) is tested up to it.
    transport = REGISTRY[name]
    capacity = min(CAPACITY, transport.max_size or CAPACITY)
    endpoint = transport().open(start_context(method), capacity, None)
    try:
        for size in [size for size in SIZES if size <= capacity]:
            verify(endpoint, "bytes", size)  # distinct payloads echoed back, and digested
        verify(endpoint, "bytes", capacity)  # a message exactly as large as the capacity
        for kind, size in KIND_CASES:
            if kind not in transport.kinds or message_size(kind, size) > capacity:
                continue
            if kind != "numpy":  # numpy's bytes are checked as bytes, above
                verify(endpoint, kind, size)  # contents in full, echoed through the kind's calls
            channel = make_channel(endpoint, kind, size)
            timed_within_wall(pingpong, endpoint, channel, 5)
            timed_within_wall(stream, endpoint, channel, 5)
        small = make_channel(endpoint, "bytes", 4096)
        timed_within_wall(pingpong, endpoint, small, 20)
        timed_within_wall(stream, endpoint, small, 50)
        timed_within_wall(stream, endpoint, make_channel(endpoint, "bytes", capacity), 3)
        # Still in step after the timed loops: no message left over, none missing.
        verify(endpoint, "bytes", 64)
        endpoint.send(b"exit")
    finally:
        endpoint.close()
    endpoint.close()  # closing twice is harmless
    del endpoint, channel, small  # the last references to the transport's objects
    assert live_children() == []
    assert new_shm_entries(shm_before) == set()


def test_every_transport_declares_what_recv_hands_over():
    for transport in REGISTRY:
        assert transport.receive in RECEIVE_MODES, transport.name
        # The kinds it carries: known ones, bytes among them (the commands and checks use it).
        assert "bytes" in transport.kinds and set(transport.kinds) <= set(KINDS), transport.name
        # No second process, no copy: only transports that stay in one process hand over the
        # very object; in-place readers are separate, labelled variants outside the default.
        assert (transport.receive == "reference") == (transport.methods == ("none",))
        if transport.receive == "view":
            assert transport.name.endswith("_inplace") and not transport.in_default_matrix


def test_pipes_read_a_fixed_size_payload_per_call_and_never_ahead():
    """A reader that empties the pipe into its buffer sleeps sooner and makes the writer wake
    it: 64 B to 4 KiB streams measured 1.2x a raw loop, and jumped between two speeds. So the
    timed loop's payloads are read one per call (and the child says READY before they come,
    so none is read ahead with the command)."""
    import fcntl
    import termios

    from ipcbench.transports.framing import FdStream

    read_end, write_end = os.pipe()
    stream = FdStream(read_end, write_end, 4096)  # writes to and reads from the same pipe

    def waiting() -> int:
        return int.from_bytes(fcntl.ioctl(read_end, termios.FIONREAD, bytes(4)), "little")

    try:
        send, recv = stream.fixed_calls(64)
        messages = [bytes([n]) * 64 for n in range(3)]
        for message in messages:
            send(message)
        assert bytes(recv()) == messages[0]
        assert waiting() == 128  # the other two are still in the pipe
        assert bytes(recv()) == messages[1] and waiting() == 64
        stream.send(b"framed")  # framed messages still work after fixed ones
        assert bytes(recv()) == messages[2]
        assert bytes(stream.recv()) == b"framed"
    finally:
        stream.close()


def test_rings_carry_fixed_size_payloads_without_lengths_in_order_with_recv():
    """A copy-mode ring's fixed-size calls write no length (the reader knows it, as in a
    hand-written ring) and read into one buffer of the payload's size, where the child's stream
    loop checks stamps in place; they share the ring's cursor with the plain send and recv, and
    the sender refuses a message of another length."""
    from multiprocessing import get_context

    from ipcbench.transports.shared_array import Ring, SharedArrayEndpoint

    ctx = get_context("fork")
    ring = Ring(ctx, 256)
    endpoint = SharedArrayEndpoint(ring, ring, 256, "copy")  # writes to and reads from one ring
    try:
        send, recv = endpoint.fixed_calls(64)
        assert endpoint.fixed_calls(64) == (send, recv)  # one pair (and buffer) per size
        messages = [bytes([n]) * 64 for n in range(3)]
        send(messages[0])
        endpoint.send(b"framed")  # plain and fixed calls in turn, through one cursor
        send(messages[1])
        assert bytes(recv()) == messages[0]
        assert bytes(endpoint.recv()) == b"framed"
        assert recv.readinto(recv.buffer) == 64 and bytes(recv.buffer) == messages[1]
        lengths = memoryview(ring.array).cast("B")[:32].cast("Q")  # at the start of the ring
        assert lengths.tolist() == [0, len(b"framed"), 0, 0]  # the fixed sends wrote none
        lengths.release()
        with pytest.raises(ValueError, match="a 63-byte message through the calls for 64-byte"):
            send(messages[2][:-1])
    finally:
        endpoint.close_channel()
    inplace = SharedArrayEndpoint(Ring(ctx, 256), Ring(ctx, 256), 256, "view")
    assert not hasattr(inplace, "fixed_calls")  # a view has no buffer of its own to read into
    inplace.close_channel()


PLACEMENTS = ("split", "same", "free") if len(os.sched_getaffinity(0)) > 1 else ("same", "free")
# The placements change who shares a CPU, not how CPU is counted: the other placements are tried
# on one transport of each way of moving data (a pipe, a queue's feeder thread, a server process,
# shared memory) rather than on all of them.
PLACEMENT_CASES = [
    (name, REGISTRY[name].methods[0], placement)
    for name in ("os_pipe", "mp_queue", "manager_queue", "shared_array")
    for placement in PLACEMENTS[1:]
]


@pytest.mark.parametrize(("name", "method"), CASES, ids=[f"{n}-{m}" for n, m in CASES])
def test_session_places_calibrates_times_and_counts_cpu(name, method):
    """The worker's session on a real cell: it pins the parent (and unpins it after), finds the
    loop count by pyperf's rule, and its CPU figures are possible ones."""
    affinity = os.sched_getaffinity(0)
    cell = Cell("pingpong", name, method, 64, PLACEMENTS[0])
    with open_bench(cell, REGISTRY) as session:
        assert os.sched_getaffinity(0) == session.parent_cpus  # the parent is pinned
        runs = []
        timed = session.time

        def recorded(loops):
            runs.append((loops, timed(loops)))
            return runs[-1][1]

        session.time = recorded
        loops = session.calibrate(0.002)
        # pyperf's rule: a warm-up, then the first loop count whose run reaches the minimum time.
        assert len(runs) >= 2 and runs[-1] == (loops, runs[-1][1]) and runs[-1][1] >= 0.002
        assert all(elapsed < 0.002 for _, elapsed in runs[1:-1])
        session.time = timed
        assert_cpu_figures_are_possible(session, loops)
    assert os.sched_getaffinity(0) == affinity  # and unpinned afterwards
    # Streams, small and large, where a sender runs ahead of its receiver.
    check_cpu_time(name, method, PLACEMENTS[0], patterns=(("stream", 64), ("stream", 1 << 20)))
    assert live_children() == []


@pytest.mark.parametrize(
    ("name", "method", "placement"),
    PLACEMENT_CASES,
    ids=["-".join(case) for case in PLACEMENT_CASES],
)
def test_cpu_time_is_counted_alike_in_every_placement(name, method, placement):
    check_cpu_time(name, method, placement, patterns=(("pingpong", 64), ("stream", 1 << 20)))
    assert live_children() == []


def check_cpu_time(name, method, placement, patterns) -> None:
    """CPU time per message over timed values, of parent, child and helpers, in cells of
    `patterns` ((pattern, size) pairs): never more than usable CPUs x wall time."""
    largest = REGISTRY[name].max_size or 1 << 20  # posix_mq's messages stop at its limit
    for pattern, size in patterns:
        cell = Cell(pattern, name, method, min(size, largest), placement)
        with open_bench(cell, REGISTRY) as session:
            assert_cpu_figures_are_possible(session, session.calibrate(0.002))


def assert_cpu_figures_are_possible(session, loops: int) -> None:
    from ipcbench.cputime import check

    name, placement = session.cell.transport, session.cell.placement
    walls = [timed_within_wall(session.time, loops) for _ in range(3)]
    figures = session.run_metadata(3)
    metadata = session.extra_metadata(loops)
    assert "cpu_warning" not in figures, figures
    cpu = figures["cpu_per_message"] * loops * 3
    # Over the CPU window: the clock's, plus the reads right around it (µs).
    window = sum(each[3] for each in session.meter.timed[-3:])
    assert sum(walls) <= window and check(cpu, window, session.usable_cpus()) is None
    assert cpu > 0
    assert metadata["receive"] == REGISTRY[name].receive
    assert ("with the child" in metadata["helper_cpus"]) == bool(REGISTRY[name].helpers)
    if name == "manager_queue" and placement != "free":
        # The server's CPU time counts too: it does a share of the work of every message.
        assert len(session.meter.pids) >= 2


STARTUP_CASES = [(n, m) for n, m in CASES if "startup" in REGISTRY[n].patterns]


@pytest.mark.parametrize(
    ("name", "method"), STARTUP_CASES, ids=[f"{n}-{m}" for n, m in STARTUP_CASES]
)
def test_startup_reaches_the_first_reply_of_a_fresh_child(name, method):
    """startup takes part for every transport: open, first message, close, and again."""
    from ipcbench.benches.startup import ChannelStartup

    shm_before = set(os.listdir("/dev/shm"))
    cell = Cell("startup", name, method, 64, "free")
    with ChannelStartup(cell, REGISTRY[name]) as startup:
        timed_within_wall(startup.time, 1)
    assert len(startup.first_message_shares) == 2  # the warm-up and the timed one
    assert live_children() == []
    assert new_shm_entries(shm_before) == set()


FANIN_CASES = [(n, m) for n, m in CASES if "fanin" in REGISTRY[n].patterns]


@pytest.mark.parametrize(("name", "method"), FANIN_CASES, ids=[f"{n}-{m}" for n, m in FANIN_CASES])
def test_fanin_transport_keeps_messages_of_several_writers_whole(name, method):
    """A transport claiming fanin: 3 producers at once, every message whole, none lost."""
    from ipcbench.benches.fanin import FanIn

    transport = REGISTRY[name]
    shm_before = set(os.listdir("/dev/shm"))
    for size in (1, transport.size_limit("fanin") or 65537):
        cell = Cell("fanin", name, method, size, "free", procs=3)
        with FanIn(cell, transport) as fanin:
            assert fanin.inner_loops == 3
            timed_within_wall(fanin.time, 200)  # 600 messages; lengths checked on each
            fanin.verify(messages=20)  # distinct contents: the exact multiset must arrive
    assert live_children() == []
    assert new_shm_entries(shm_before) == set()


def test_verification_detects_a_corrupting_channel():
    class Corrupting:
        """A loopback that flips one byte of every message it hands back."""

        def __init__(self):
            self.inner = REGISTRY["null"]().open(None, 64, None)

        def send(self, data):
            self.inner.send(data)

        def recv(self):
            message = bytearray(self.inner.recv())
            message[-1] ^= 1
            return message

    with pytest.raises(DataError, match="contents differ"):
        verify(Corrupting(), "bytes", 64)


def test_the_example_adapter_keeps_the_third_party_api():
    """bench/example_adapter, written against the README's "Adding a transport" (Transport,
    start_child, stop_process from ipcbench.transports.base), still opens, carries every message
    intact and leaves nothing behind."""
    import importlib.util
    from pathlib import Path

    source = Path(__file__).parent.parent / "bench/example_adapter/ipcbench_example/__init__.py"
    spec = importlib.util.spec_from_file_location("ipcbench_example", source)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    endpoint = example.SocketPair().open(start_context("fork"), 4096, None)
    try:
        verify(endpoint, "bytes", 4096)
        endpoint.send(b"exit")
    finally:
        endpoint.close()
    assert live_children() == []
