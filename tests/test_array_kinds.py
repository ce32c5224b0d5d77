"""The array payload kinds (ndarray, pickle5, torch), the frames pickle5 travels in, torch_mp.

The shared contract (tests/test_contract.py) carries every kind a transport declares under every
start method; this file covers what is particular to them: pickle5's buffers travel out of band
(frames of their own, never copied into the pickle), a gather write puts the same bytes on the
wire as one message per frame, the plan says which transport carries which kind and why not,
torch_mp hands over the sender's own memory (receive "view") and leaves nothing in /dev/shm, also
after its child or its parent was killed, and nothing imports torch unless torch_mp runs.
"""

import multiprocessing.resource_sharer
import os
import signal
import subprocess
import sys
import time
from collections import deque

import numpy
import pytest
from test_contract import live_children
from test_mechanisms import sigkill_mid_run

from ipcbench.array_kinds import PICKLE_ROOM
from ipcbench.matrix import Cell, Selection, SelectionError, build_cells
from ipcbench.payloads import make_channel
from ipcbench.session import Session, start_context
from ipcbench.transports import registry
from ipcbench.transports.base import CHILD_EXIT_GRACE
from ipcbench.transports.frames import frame_calls
from ipcbench.transports.framing import FdStream

REGISTRY = registry()


@pytest.fixture(scope="module", autouse=True)
def stop_the_resource_sharer():
    yield
    # torch's handles are file descriptors handed over by multiprocessing's resource sharer, a
    # listener thread started in whichever process shared one: stop this process's.
    multiprocessing.resource_sharer.stop()


class Loopback:
    """An endpoint whose recv() hands back what send() got, as it got it (no copy)."""

    def __init__(self) -> None:
        self.sent = deque()
        self.send, self.recv = self.sent.append, self.sent.popleft


class BytePath:
    """Only the byte path of an endpoint: frames go one message each (frames.frame_calls)."""

    def __init__(self, endpoint) -> None:
        self.send, self.recv = endpoint.send, endpoint.recv


def test_a_gather_write_puts_the_same_bytes_on_the_wire_as_a_message_per_frame():
    frames = [b"pickle", memoryview(bytearray(range(256)) * 40), b"", b"last" * 3]
    wires = []
    for gather in (True, False):
        read_end, write_end = os.pipe()
        stream = FdStream(read_end, write_end, 1 << 16)
        try:
            send_frames, recv_frames = frame_calls(stream if gather else BytePath(stream))
            assert (send_frames == stream.send_frames) == gather  # os.writev, or one per frame
            send_frames(frames)
            wires.append(os.read(read_end, 1 << 16))
            send_frames(frames)
            assert [bytes(frame) for frame in recv_frames()] == [bytes(f) for f in frames]
        finally:
            stream.close()
    assert wires[0] == wires[1] and len(wires[0]) > sum(map(len, frames))


def test_pickle5_sends_the_arrays_memory_in_a_frame_of_its_own():
    endpoint = Loopback()
    channel = make_channel(endpoint, "pickle5", 1 << 20)
    message = channel.payload(7)
    channel.send(message)
    head, buffer = endpoint.sent  # the pickle, then the array's memory: two messages
    assert len(head) < PICKLE_ROOM
    assert numpy.shares_memory(numpy.asarray(buffer), message[1])  # not copied to send it
    reply = channel.recv()
    assert channel.matches(reply, 7) and not channel.matches(reply, 8)
    assert reply[1].tobytes() == message[1].tobytes() and reply[1].dtype == numpy.float64
    # Built over the frame as it arrived (here the sender's own memory, handed back as it was).
    assert numpy.shares_memory(reply[1], message[1])

    channel = make_channel(endpoint, "ndarray", 1 << 20)  # pickled in band: one message
    channel.send(channel.payload(8))
    [pickled] = endpoint.sent
    assert 1 << 20 < len(pickled) < (1 << 20) + PICKLE_ROOM
    reply = channel.recv()
    assert channel.matches(reply, 8) and not numpy.shares_memory(reply[1], channel.payload(8)[1])


def test_the_plan_says_which_transport_carries_which_kind():
    limit = REGISTRY["posix_mq"].max_size
    selection = Selection(
        transports=("os_pipe", "mp_queue", "null", "posix_mq", "torch_mp"),
        methods=("fork", "none"),
        sizes=(64, limit),
        patterns=("pingpong", "startup"),
        kinds=("bytes", "ndarray", "pickle5", "torch"),
    )
    if REGISTRY["torch_mp"].unavailable_reason():
        selection.transports = selection.transports[:-1]
    cells = build_cells(selection, REGISTRY, cpu_count=2)
    carried = {(c.transport, c.kind) for c in cells if c.pattern == "pingpong"}
    assert {t for t, kind in carried if kind == "pickle5"} == {"os_pipe", "posix_mq"}
    assert {t for t, kind in carried if kind == "torch"} <= {"torch_mp"}
    assert ("mp_queue", "ndarray") in carried and ("null", "ndarray") in carried
    # An ndarray's pickle outgrows a message queue's limit where the array alone fits it.
    assert ("posix_mq", limit, "bytes") in {(c.transport, c.size, c.kind) for c in cells}
    assert not any(
        c.transport == "posix_mq" and c.size == limit and c.kind == "ndarray" for c in cells
    )
    assert {c.kind for c in cells if c.pattern == "startup"} == {"bytes"}
    notes = "\n".join(selection.notes)
    assert "kind pickle5 needs a byte path" in notes and "mp_queue, null" in notes
    assert "kind torch moves shared-memory tensors" in notes
    assert "posix_mq holds at most 8KiB per message: ndarray skipped at 8KiB" in notes
    assert "startup send bytes only" in notes
    with pytest.raises(SelectionError, match="torch_mp"):
        build_cells(Selection(transports=("os_pipe",), kinds=("torch",)), REGISTRY, cpu_count=2)


def test_nothing_imports_torch_unless_torch_mp_runs():
    code = (
        "import contextlib, io, sys\n"
        "from ipcbench.cli import main\n"
        "from ipcbench.matrix import Selection, build_cells\n"
        "from ipcbench.transports import find, registry\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['list'])\n"
        "build_cells(Selection(), registry(), 2)\n"
        "find('os_pipe'); find('torch_mp')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


# -- torch_mp -----------------------------------------------------------------------------------


def torch_mp():
    transport = REGISTRY["torch_mp"]
    if transport.unavailable_reason():
        pytest.skip(transport.unavailable_reason())
    return transport


def torch_files(*pids: int) -> list[str]:
    """Shared-memory files of these processes' tensors (the file_system strategy's names)."""
    prefixes = tuple(f"torch_{pid}_" for pid in pids)
    return [name for name in os.listdir("/dev/shm") if name.startswith(prefixes)]


def test_torch_mp_hands_over_the_senders_memory_and_no_file_outlives_a_dead_child():
    transport = torch_mp()
    cell = Cell("pingpong", "torch_mp", "fork", 4096, "same", kind="torch")
    with Session(cell, transport) as session:
        loops = session.calibrate(0.002)
        assert session.time(loops) > 0
        assert session.extra_metadata(loops)["receive"] == "view"
        endpoint, channel = session.endpoint, session.channel
        endpoint.send(b"pingpong 1 objects")
        sent = channel.payload(channel.take(1))
        channel.send(sent)
        stamp, tensor = channel.recv()
        # The echo is the sender's own shared memory, not a copy of it.
        assert stamp == sent[0] and tensor.is_shared()
        assert tensor.data_ptr() == sent[1].data_ptr()
        child = endpoint.process.pid
        assert torch_files(os.getpid(), child) == []
    assert live_children() == []

    # The child dies with tensors in flight: close() still releases everything, promptly.
    endpoint = transport().open(start_context("fork"), 4096, None)
    channel = make_channel(endpoint, "torch", 4096)
    endpoint.send(b"stream 1000 %d 1 objects" % channel.child_length)
    for n in range(1, 50):
        channel.send(channel.payload(n))
    os.kill(endpoint.process.pid, signal.SIGKILL)
    started = time.monotonic()
    endpoint.close()
    assert time.monotonic() - started < 3 * CHILD_EXIT_GRACE
    del endpoint, channel
    assert live_children() == [] and torch_files(os.getpid()) == []


CRASH_SCRIPT = """
import json, os, sys
from ipcbench.payloads import make_channel
from ipcbench.session import start_context
from ipcbench.transports import registry

if __name__ == "__main__":
    endpoint = registry()["torch_mp"]().open(start_context("fork"), 4096, None)
    channel = make_channel(endpoint, "torch", 1 << 20)
    endpoint.send(b"pingpong 1000000000 objects")
    channel.send(channel.payload(1))
    channel.recv()  # tensors flow both ways
    print(json.dumps({"child": endpoint.process.pid}), flush=True)
    n = 1
    while True:  # mid-run until killed
        n += 1
        channel.send(channel.payload(n))
        channel.recv()
"""


def test_sigkill_of_a_torch_run_leaves_nothing_in_dev_shm(tmp_path):
    torch_mp()
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)

    def no_file_while_running(parent: int, opened: dict) -> None:
        # file_descriptor: each tensor's memory is unlinked as soon as it is mapped, so not even
        # a running channel has a file there (file_system would show torch_PID_* files now).
        assert torch_files(parent, opened["child"]) == []

    opened = sigkill_mid_run([sys.executable, str(script)], while_running=no_file_while_running)
    assert torch_files(opened["parent"], opened["child"]) == []
