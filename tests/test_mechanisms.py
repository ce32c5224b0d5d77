"""The mechanisms of issue 14: mmap_file, fifo, posix_mq, faster_fifo.

The shared contract (tests/test_contract.py) covers every message; this file covers what is
particular to them: nothing left in the file system, /dev/mqueue or /dev/shm even after a
SIGKILL of the parent, a child dying mid-cell failing the cell, the optional packages' absence,
posix_mq's message size limit, and that each really uses its mechanism.
"""

import multiprocessing.forkserver
import multiprocessing.resource_tracker
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import live_children, new_shm_entries, sigkill_mid_run

from ipcbench.benches.base import start_context
from ipcbench.benches.pingpong import pingpong, verify
from ipcbench.matrix import Selection, build_cells
from ipcbench.payloads import make_channel
from ipcbench.transports import registry

REGISTRY = registry()
NEW = ("mmap_file", "fifo", "posix_mq", "faster_fifo")
OPTIONAL = {"posix_mq": "posix_ipc", "faster_fifo": "faster_fifo", "torch_mp": "torch"}


@pytest.fixture(scope="module", autouse=True)
def stop_the_resource_tracker():
    yield
    # They outlive channels; CPython's own tests stop them with these private helpers.
    multiprocessing.forkserver._forkserver._stop()
    multiprocessing.resource_tracker._resource_tracker._stop()


def available(name: str):
    transport = REGISTRY[name]
    if transport.unavailable_reason():
        pytest.skip(transport.unavailable_reason())
    return transport


def test_registered_outside_the_default_matrix_with_a_receive_mode():
    for name in NEW:
        transport = REGISTRY[name]
        assert not transport.in_default_matrix
        assert transport.__dict__.get("receive") in ("copy", "view", "reference"), name


def test_optional_packages_are_picked_up_when_installed():
    # In CI the test extra installs them: their contract tests must then run, not skip.
    for name, module in OPTIONAL.items():
        try:
            __import__(module)
        except ImportError:
            continue
        assert REGISTRY[name].unavailable_reason() is None


def _cli_without(modules, *args: str) -> subprocess.CompletedProcess:
    """`ipcbench ARGS` in a fresh interpreter where importing `modules` fails."""
    blocked = "; ".join(f"sys.modules[{module!r}] = None" for module in modules)
    code = f"import sys; {blocked}; from ipcbench.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


def test_list_shows_the_optional_transports_unavailable_with_the_install_line():
    completed = _cli_without(OPTIONAL.values(), "list")
    assert completed.returncode == 0, completed.stderr
    lines = {line.split()[0]: line for line in completed.stdout.splitlines() if line.strip()}
    assert "unavailable: needs posix_ipc: pip install 'ipcbench[posix]'" in lines["posix_mq"]
    assert (
        "unavailable: needs faster-fifo: pip install 'ipcbench[faster-fifo]'"
        in lines["faster_fifo"]
    )
    assert "unavailable: needs torch: pip install 'ipcbench[torch]'" in lines["torch_mp"]
    for name in ("mmap_file", "fifo"):
        assert "unavailable" not in lines[name]


@pytest.mark.parametrize("name", OPTIONAL)
def test_selecting_an_optional_transport_without_its_package_is_one_line(name, tmp_path):
    completed = _cli_without(
        OPTIONAL.values(), "run", "-t", name, "-s", "64", "--quick", "-o", str(tmp_path / "r")
    )
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "pip install" in lines[0], completed.stderr


def test_posix_mq_holds_at_most_the_systems_message_size_and_the_matrix_says_so():
    from ipcbench.transports.posix_mq import PosixMq

    limit = int(Path("/proc/sys/fs/mqueue/msgsize_max").read_text())
    assert PosixMq.max_size == limit
    selection = Selection(transports=("posix_mq",), methods=("fork",), sizes=(64, limit + 1))
    cells = build_cells(selection, REGISTRY, cpu_count=2)
    assert {cell.size for cell in cells} == {64}
    assert any("posix_mq holds at most" in note for note in selection.notes)


# -- each uses its mechanism --------------------------------------------------------------------


def ours(directory: Path) -> list[str]:
    """What ipcbench left in a temp dir (multiprocessing keeps its own pymp-* there)."""
    return [path.name for path in directory.iterdir() if path.name.startswith("ipcbench-")]


def _mappings(marker: str) -> list[str]:
    return [line for line in Path("/proc/self/maps").read_text().splitlines() if marker in line]


def test_mmap_file_maps_an_unlinked_file_in_a_private_temp_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    endpoint = REGISTRY["mmap_file"]().open(start_context("spawn"), 4096, None)
    try:
        mapped = _mappings("ipcbench-mmap-")
        # A real file under the temp dir (not /dev/shm), already deleted: nothing to leave.
        assert mapped and all(str(tmp_path) in line for line in mapped)
        assert all(line.endswith("(deleted)") for line in mapped)
        assert ours(tmp_path) == []
        verify(endpoint, "bytes", 4096)  # the child answers: it has attached by now
        child_maps = Path(f"/proc/{endpoint.process.pid}/maps").read_text()
        assert "ipcbench-mmap-" in child_maps  # the spawned child maps the same file
        # More messages than the ring has slots, in flight at once: the stream must not stall.
        assert stream_of(endpoint, 4096, 50) > 0
        endpoint.send(b"exit")
    finally:
        endpoint.close()
    assert not _mappings("ipcbench-mmap-")


def stream_of(endpoint, size: int, count: int) -> float:
    from ipcbench.benches.stream import stream

    return stream(endpoint, make_channel(endpoint, "bytes", size), count)


def test_fifo_ends_are_named_fifos_whose_names_are_gone(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    endpoint = REGISTRY["fifo"]().open(start_context("forkserver"), 100_000, None)
    try:
        for fd in (endpoint.rfd, endpoint.wfd):
            assert stat.S_ISFIFO(os.fstat(fd).st_mode)
            target = os.readlink(f"/proc/self/fd/{fd}")
            # A FIFO opened by name (os.pipe shows "pipe:[...]"), since removed.
            assert target.startswith(str(tmp_path)) and target.endswith("(deleted)")
        assert ours(tmp_path) == []
        verify(endpoint, "bytes", 100_000)
        endpoint.send(b"exit")
    finally:
        endpoint.close()


@pytest.mark.usefixtures("stop_multiprocessing_helpers")
def test_a_forkserver_child_sees_its_parent_alive_and_then_gone():
    """posix_mq, faster_fifo and mmap_file children ask whether their parent lives when a wait
    times out. A forkserver child's parent process is the fork server: asking os.getppid()
    once made such a child leave mid-stream, its parent alive. check_peer raising in the child
    ends it with exit code 1."""
    from ipcbench.transports.peer import check_peer

    context = start_context("forkserver")
    child = context.Process(target=check_peer, args=(None, os.getpid()))
    child.start()
    child.join()
    assert child.exitcode == 0  # the parent is alive: no EOFError
    gone = context.Process(target=os.getpid)
    gone.start()
    gone.join()
    child = context.Process(target=check_peer, args=(None, gone.pid))
    child.start()
    child.join()
    assert child.exitcode == 1  # EOFError: that process is gone


def test_faster_fifo_carries_objects_through_its_own_api():
    available("faster_fifo")
    endpoint = REGISTRY["faster_fifo"]().open(start_context("fork"), 4096, None)
    try:
        assert endpoint.send_object is not None  # the pickle kind uses put/get of objects
        verify(endpoint, "pickle", 4096)
        endpoint.send(b"exit")
    finally:
        endpoint.close()


# -- faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NEW)
def test_a_child_killed_mid_cell_fails_the_loop_and_close_cleans_up(name):
    transport = available(name)
    shm_before = set(os.listdir("/dev/shm"))
    endpoint = transport().open(start_context("fork"), 4096, None)
    channel = make_channel(endpoint, "bytes", 4096)
    verify(endpoint, "bytes", 64)
    os.kill(endpoint.process.pid, signal.SIGKILL)
    started = time.monotonic()
    with pytest.raises((EOFError, OSError)):
        pingpong(endpoint, channel, 1000)  # a reason, not a hang until the cell timeout
    assert time.monotonic() - started < 10
    endpoint.close()
    endpoint.close()
    del endpoint, channel
    assert live_children() == []
    assert new_shm_entries(shm_before) == set()


CRASH_SCRIPT = """
import json, sys
from ipcbench.benches.base import start_context
from ipcbench.transports import registry

if __name__ == "__main__":  # a spawned child imports this file too
    name, method = sys.argv[1:]
    endpoint = registry()[name]().open(start_context(method), 4096, None)
    ends = (getattr(endpoint, "outgoing", None), getattr(endpoint, "incoming", None))
    queues = [end.name for end in ends if isinstance(getattr(end, "name", None), str)]
    print(json.dumps({"child": endpoint.process.pid, "queues": queues}), flush=True)
    endpoint.send(b"pingpong 1000000000")
    while True:  # mid-run until killed
        endpoint.send(b"x" * 4096)
        endpoint.recv()
"""


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("mmap_file", "fork"),
        ("mmap_file", "spawn"),
        ("fifo", "fork"),
        ("fifo", "spawn"),
        ("posix_mq", "fork"),
        ("faster_fifo", "fork"),
    ],
)
def test_sigkill_of_the_parent_mid_run_leaves_nothing_behind(name, method, tmp_path):
    available(name)
    shm_before = set(os.listdir("/dev/shm"))
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    opened = sigkill_mid_run(
        [sys.executable, str(script), name, method], env={**os.environ, "TMPDIR": str(private_tmp)}
    )
    assert ours(private_tmp) == []  # no mmap file, no FIFO, no directory
    for queue in opened["queues"]:
        import posix_ipc

        with pytest.raises(posix_ipc.ExistentialError):
            posix_ipc.MessageQueue(queue)  # no queue left in /dev/mqueue
    assert new_shm_entries(shm_before) == set()
