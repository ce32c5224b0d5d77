"""The transports beyond the default set: optional pyzmq, a real run of each, their promises.

The shared contract (tests/test_contract.py) covers every message; this file covers what is
particular to these transports: running without pyzmq, the remote manager's authkey and address,
the private zmq directory, TCP_NODELAY, and closing after the child stopped listening or died.
"""

import multiprocessing.resource_tracker
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyperf
import pytest
from conftest import live_children, new_shm_entries, run_cli

from ipcbench.benches.base import start_context
from ipcbench.benches.pingpong import verify
from ipcbench.transports import registry
from ipcbench.transports.base import CHILD_EXIT_GRACE
from ipcbench.transports.connect_in_child import ConnectInChild
from ipcbench.transports.remote_manager import QueueServer, RemoteManager
from ipcbench.transports.tcp import loopback_pair
from ipcbench.transports.thread_queue import ThreadQueue
from ipcbench.transports.zmq_pair import ZmqIpc

NEW = (
    "mp_pipe_simplex",
    "mp_simple_queue",
    "shared_memory",
    "unix_socket",
    "tcp",
    "remote_manager",
    "thread_queue",
    "zmq_ipc",
    "zmq_tcp",
)
WITH_A_CHILD = [name for name in NEW if name != "thread_queue"]
ZMQ = ("zmq_ipc", "zmq_tcp")


@pytest.fixture(scope="module", autouse=True)
def stop_the_resource_tracker():
    yield
    # shared_memory starts it even under fork; it outlives channels, so stop it as the contract
    # tests do (CPython's own tests use this private helper).
    multiprocessing.resource_tracker._resource_tracker._stop()


def cli_without_pyzmq(*args: str) -> subprocess.CompletedProcess:
    """`ipcbench ARGS` in a fresh interpreter where `import zmq` fails."""
    code = (
        "import sys; sys.modules['zmq'] = None; "
        "from ipcbench.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


def test_registered_after_the_original_transports_and_outside_the_default_matrix():
    names = registry().names()
    assert names[names.index("null") + 1 : names.index("null") + 1 + len(NEW)] == list(NEW)
    assert not any(registry()[name].in_default_matrix for name in NEW)


def test_list_shows_zmq_transports_unavailable_without_pyzmq():
    completed = cli_without_pyzmq("list")
    assert completed.returncode == 0, completed.stderr
    lines = {line.split()[0]: line for line in completed.stdout.splitlines() if line.strip()}
    for name in ZMQ:
        assert "unavailable: needs pyzmq: pip install 'ipcbench[zmq]'" in lines[name]
    assert "unavailable" not in lines["unix_socket"]


@pytest.mark.parametrize("name", ZMQ)
def test_selecting_a_zmq_transport_without_pyzmq_is_one_line_and_exit_2(name, tmp_path):
    completed = cli_without_pyzmq("run", "-t", name, "-s", "64", "--quick", "-o", tmp_path / "r")
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "pyzmq" in lines[0], completed.stderr
    assert not (tmp_path / "r").exists()


def test_all_new_transports_run_end_to_end(tmp_path):
    output = tmp_path / "new.json"
    # One pass (one worker per cell): every transport still runs each cell end to end, and the
    # second pass of --quick would only repeat it (the passes are tested in test_run_cli.py).
    run_cli("run", "-t", ",".join(NEW), "-s", "64", "--quick", "--processes", "1", "-o", output)
    names = pyperf.BenchmarkSuite.load(str(output)).get_benchmark_names()
    for name in NEW:
        methods = ("none",) if name == "thread_queue" else ("fork", "spawn", "forkserver")
        for pattern in ("pingpong", "stream"):
            for method in methods:
                assert any(n.startswith(f"{pattern}/{name}/{method}/64B/") for n in names), name


def test_remote_manager_has_a_random_authkey_per_channel_and_refuses_others():
    endpoints = [RemoteManager().open(start_context("fork"), 64, None) for _ in range(2)]
    try:
        keys = [bytes(endpoint.manager._authkey) for endpoint in endpoints]
        assert keys[0] != keys[1] and all(len(key) >= 32 for key in keys)
        host, port = endpoints[0].manager.address
        assert host == "127.0.0.1" and port > 0  # the distributed pattern: a TCP address
        # A client with the other channel's key (or none) is turned away before it can ask.
        stranger = QueueServer(address=(host, port), authkey=keys[1])
        with pytest.raises(multiprocessing.AuthenticationError, match="digest"):
            stranger.connect()
        for endpoint in endpoints:
            verify(endpoint, "bytes", 64)  # the child got in with the right key
    finally:
        for endpoint in endpoints:
            endpoint.send(b"exit")
            endpoint.close()
    assert live_children() == []


def test_connect_in_child_travels_unconnected_and_exposes_only_the_real_calls():
    opened = []
    endpoint = ConnectInChild(_fake_connect, opened)
    assert pickle.loads(pickle.dumps(endpoint))._endpoint is None  # nothing connects to pickle
    endpoint.close()  # nothing to close before the first use
    assert endpoint.send is not None and opened == [1]  # connected once, on first use
    assert endpoint.recv() == b"echo" and opened == [1]
    assert getattr(endpoint, "send_object", None) is None  # no object API: pickle over bytes
    endpoint.close()
    assert opened == [1, "closed"]


class _FakeEndpoint:
    def __init__(self, opened):
        self.opened = opened
        opened.append(1)

    def send(self, data):
        pass

    def recv(self):
        return b"echo"

    def close(self):
        self.opened.append("closed")


def _fake_connect(opened):
    return _FakeEndpoint(opened)


def test_tcp_turns_nagle_off_on_both_ends():
    server, client = loopback_pair()
    with server, client:
        assert server.getpeername() == client.getsockname()
        for sock in (server, client):
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_zmq_ipc_removes_its_private_directory():
    pytest.importorskip("zmq")
    endpoint = ZmqIpc().open(start_context("fork"), 64, None)
    directory = Path(endpoint.directory)
    assert directory.is_dir() and directory.stat().st_mode & 0o077 == 0  # only this user
    verify(endpoint, "bytes", 64)
    endpoint.send(b"exit")
    endpoint.close()
    assert not directory.exists()


def test_thread_queue_thread_stops_without_the_exit_command():
    before = threading.active_count()
    endpoint = ThreadQueue().open(None, 64, None)
    endpoint.send(b"stream 5 64 1")  # the thread now waits for messages that never come
    endpoint.close()
    endpoint.close()
    assert threading.active_count() == before


@pytest.mark.parametrize("fault", ["child not listening", "child killed"])
@pytest.mark.parametrize("name", WITH_A_CHILD)
def test_close_finishes_after_a_fault(name, fault):
    """After an error the child may be mid-command or dead: close() still releases everything."""
    transport = registry()[name]
    if transport.unavailable_reason():
        pytest.skip(transport.unavailable_reason())
    shm_before = set(os.listdir("/dev/shm"))
    endpoint = transport().open(start_context("fork"), 4096, None)
    verify(endpoint, "bytes", 64)
    if fault == "child killed":
        os.kill(endpoint.process.pid, signal.SIGKILL)
    else:
        endpoint.send(b"stream 5 64 1")  # then never send them: the child waits on its channel
    started = time.monotonic()
    endpoint.close()
    assert time.monotonic() - started < 3 * CHILD_EXIT_GRACE
    endpoint.close()
    del endpoint
    assert live_children() == []
    assert new_shm_entries(shm_before) == set()
