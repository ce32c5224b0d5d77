"""Another local process reaches a channel first: it never gets code run, the cell never trusts it.

Each intruder is a real separate interpreter (not a child of the benchmark) that connects to the
channel's address before the legitimate child starts and answers with a malicious pickle, which
would create a marker file if anything loaded it. The race is made certain, not hoped for: the
context used to start the child launches the intruder and waits until it is connected.
"""

import multiprocessing
import multiprocessing.resource_tracker
import socket
import subprocess
import sys
import textwrap

import pytest

from ipcbench.transports.connect_in_child import ConnectInChild
from ipcbench.transports.handshake import PeerNotAuthenticated
from ipcbench.transports.remote_manager import RemoteManager
from ipcbench.transports.tcp import connect_pair

# The intruder's pickle: loading it runs `touch MARKER`.
EVIL = """
import os, pickle, sys
marker = sys.argv[2]
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + marker,))
evil = pickle.dumps(Evil())
"""

ZMQ_INTRUDER = (
    EVIL
    + """
import zmq
from zmq.utils.monitor import recv_monitor_message
context = zmq.Context()
sock = context.socket(zmq.PAIR)
monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
sock.connect(sys.argv[1])
recv_monitor_message(monitor)  # the parent's PAIR socket has taken us as its peer
print("connected", flush=True)
sock.setsockopt(zmq.RCVTIMEO, 60000)
try:
    sock.recv()  # the parent's challenge
    sock.send(evil)  # answered with a pickle, the way a naive parent would load it
    sock.send(evil)
    sock.recv()
except zmq.ZMQError:
    pass
"""
)

LATE_ZMQ_INTRUDER = (
    EVIL
    + """
import time, zmq
context = zmq.Context()
sock = context.socket(zmq.PAIR)
monitor = sock.get_monitor_socket(zmq.EVENT_CONNECTED)
sock.connect(sys.argv[1])
monitor.recv_multipart()  # the TCP (or ipc) connection is made
for _ in range(3):
    if sock.poll(100, zmq.POLLOUT):
        sock.send(evil, zmq.NOBLOCK)
time.sleep(0.5)
monitor.close()
sock.close(linger=1000)
context.term()
"""
)

TCP_INTRUDER = (
    EVIL
    + """
import socket, struct
host, port = sys.argv[1].rsplit(":", 1)
sock = socket.create_connection((host, int(port)))
# multiprocessing.connection's framing (a 4-byte big-endian length), then the pickle
sock.sendall(struct.pack("!i", len(evil)) + evil)
print("connected", flush=True)
sock.settimeout(60)
try:
    while sock.recv(65536):
        sock.sendall(struct.pack("!i", len(evil)) + evil)
except OSError:
    pass
"""
)


@pytest.fixture(scope="module", autouse=True)
def stop_the_resource_tracker():
    yield
    # spawn starts it; it outlives channels, so stop it as the contract tests do.
    multiprocessing.resource_tracker._resource_tracker._stop()


def start_intruder(script: str, address: str, marker) -> subprocess.Popen:
    intruder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), address, str(marker)],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = intruder.stdout.readline()
    assert line.strip() == "connected", f"the intruder did not connect: {line!r}"
    return intruder


class IntruderFirst:
    """A multiprocessing context that lets an intruder connect just before the child starts."""

    def __init__(self, method: str, script: str, marker) -> None:
        self._ctx = multiprocessing.get_context(method)
        self.script, self.marker, self.intruders = script, marker, []

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    def Process(self, *args, **kwargs):  # noqa: N802 (the multiprocessing name)
        endpoint = kwargs.get("args", (None,))[0]
        if isinstance(endpoint, ConnectInChild):  # the child's start, not a manager server's
            address = endpoint._args[0]
            if isinstance(address, tuple):
                address = f"{address[0]}:{address[1]}"
            self.intruders.append(start_intruder(self.script, address, self.marker))
        return self._ctx.Process(*args, **kwargs)

    def stop(self) -> None:
        for intruder in self.intruders:
            intruder.kill()
            intruder.wait()
            intruder.stdout.close()


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "intruder-ran-code"
    yield path
    assert not path.exists(), "the intruder's pickle was loaded: it ran a command"


def round_trip(endpoint) -> None:
    endpoint.send(b"pingpong 1")
    endpoint.send(b"legit")
    assert bytes(endpoint.recv()) == b"legit"


@pytest.mark.parametrize("name", ["zmq_tcp", "zmq_ipc"])
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_zmq_channel_refuses_a_peer_that_connected_first(name, method, marker):
    pytest.importorskip("zmq")
    from ipcbench.transports import registry

    ctx = IntruderFirst(method, ZMQ_INTRUDER, marker)
    try:
        with pytest.raises(PeerNotAuthenticated, match="failed the handshake"):
            registry()[name]().open(ctx, 1024, None)
    finally:
        ctx.stop()
    assert len(ctx.intruders) == 1


@pytest.mark.parametrize("name", ["zmq_tcp", "zmq_ipc"])
def test_zmq_peer_that_comes_after_the_child_is_ignored(name, marker):
    pytest.importorskip("zmq")
    from ipcbench.payloads import make_channel
    from ipcbench.transports import registry

    endpoint = registry()[name]().open(multiprocessing.get_context("fork"), 4096, None)
    import zmq

    address = endpoint.sock.getsockopt_string(zmq.LAST_ENDPOINT)
    late = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(LATE_ZMQ_INTRUDER), address, str(marker)]
    )
    try:
        late.wait(timeout=30)  # it connected and sent its pickles
        channel = make_channel(endpoint, "pickle", 256)
        endpoint.send(b"pingpong 3 objects")
        for _ in range(3):  # only the child's echoes arrive, never the stranger's pickles
            message = channel.payload(1)  # message 1 of the channel, stamped 1
            channel.send(message)
            assert channel.recv() == message
        endpoint.send(b"exit")
    finally:
        late.kill()
        late.wait()
        endpoint.close()


@pytest.mark.parametrize("name", ["zmq_tcp", "zmq_ipc"])
def test_zmq_channel_with_the_handshake_carries_pickles(name):
    pytest.importorskip("zmq")
    from ipcbench.payloads import make_channel
    from ipcbench.transports import registry

    endpoint = registry()[name]().open(multiprocessing.get_context("fork"), 4096, None)
    try:
        channel = make_channel(endpoint, "pickle", 256)
        endpoint.send(b"pingpong 1 objects")
        message = channel.payload(1)  # message 1 of the channel, stamped 1
        channel.send(message)
        assert channel.recv() == message
        endpoint.send(b"exit")
    finally:
        endpoint.close()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_remote_manager_rejects_the_intruder_and_serves_the_child(method, marker):
    ctx = IntruderFirst(method, TCP_INTRUDER, marker)
    try:
        endpoint = RemoteManager().open(ctx, 1024, None)
        try:
            round_trip(endpoint)
            endpoint.send(b"exit")
        finally:
            endpoint.close()
    finally:
        ctx.stop()
    assert len(ctx.intruders) == 1


def test_tcp_closes_a_connection_that_is_not_its_own(marker):
    with socket.create_server(("127.0.0.1", 0), backlog=4) as listener:
        host, port = listener.getsockname()
        intruder = start_intruder(TCP_INTRUDER, f"{host}:{port}", marker)
        try:
            server, client = connect_pair(listener)
            with server, client:
                assert server.getpeername() == client.getsockname()
                client.sendall(b"legit")
                assert server.recv(5) == b"legit"
            # Closed unread: the intruder sees the end of the stream and leaves by itself.
            assert intruder.wait(timeout=30) == 0
        finally:
            intruder.kill()
            intruder.wait()
            intruder.stdout.close()


def _handshake(parent_secret: bytes, child_secret: bytes):
    """Both sides of the handshake in two threads over two queues; each side's outcome."""
    import queue
    import threading

    from ipcbench.transports import handshake

    to_child, to_parent = queue.Queue(), queue.Queue()
    outcome = {}

    def side(name, function, send, recv, secret):
        try:
            function(send, recv, secret, name)
            outcome[name] = "ok"
        except (PeerNotAuthenticated, queue.Empty) as error:
            outcome[name] = type(error).__name__

    child = threading.Thread(
        target=side,
        args=(
            "child",
            handshake.child_side,
            to_parent.put,
            lambda: to_child.get(timeout=5),
            child_secret,
        ),
    )
    child.start()
    side(
        "parent",
        handshake.parent_side,
        to_child.put,
        lambda: to_parent.get(timeout=5),
        parent_secret,
    )
    child.join()
    return outcome


def test_handshake_passes_only_with_the_same_secret():
    from ipcbench.transports.handshake import new_secret

    secret = new_secret()
    assert _handshake(secret, secret) == {"parent": "ok", "child": "ok"}
    # A wrong secret: the parent refuses at once; the child never gets the parent's proof.
    assert _handshake(secret, new_secret()) == {"parent": "PeerNotAuthenticated", "child": "Empty"}
