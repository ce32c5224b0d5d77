"""Beyond one machine, the parts that need no cluster: the peer axis, the renamed tcp transport,
the cross-host accept that refuses strangers and wrong keys, the fleet's command line, and the
flags refused before any cluster is reached (tests/test_cluster.py runs the real thing)."""

import multiprocessing.resource_tracker
import socket
import subprocess
import sys
import threading

import psutil
import pytest
from conftest import run_cli
from results_helpers import synthetic_file

from ipcbench import fleet, load_results, results
from ipcbench.benches import open_bench
from ipcbench.cell import Cell
from ipcbench.comparison import compare
from ipcbench.loader import load_inputs
from ipcbench.matrix import Selection, SelectionError, build_cells
from ipcbench.transports import registry
from ipcbench.transports.handshake import new_secret
from ipcbench.transports.tcp import accept_peer, connect_back

REGISTRY = registry()


def test_cells_gain_a_peer_axis_only_away_from_local():
    cell = Cell("pingpong", "tcp", "exec", 65536, "split", peer="10.213.0.2")
    assert cell.name == "pingpong/tcp/exec/64KiB/split/peer=10.213.0.2"
    assert Cell.from_name(cell.name) == cell and cell.metadata()["peer"] == "10.213.0.2"
    local = Cell("pingpong", "tcp", "fork", 64, "split")
    assert local.name == "pingpong/tcp/fork/64B/split" and local.metadata()["peer"] == "local"
    for bad in ("peer=local", "peer=node7", "peer=10.0.0.999", "peer="):
        with pytest.raises(ValueError):
            Cell.from_name(f"pingpong/tcp/exec/64B/split/{bad}")


def test_a_peer_selection_keeps_the_transports_that_cross_hosts():
    selection = Selection(
        transports=("tcp", "os_pipe", "ray_actor", "remote_manager"),
        patterns=("pingpong", "startup"),
        sizes=(64,),
        placements=("same",),
        peers=("local", "10.213.0.2"),
    )
    cells = {cell.name for cell in build_cells(selection, REGISTRY, 2)}
    remote = {name for name in cells if "peer=" in name}
    assert remote == {
        f"pingpong/{name}/exec/64B/same/peer=10.213.0.2"
        for name in ("tcp", "ray_actor", "remote_manager")
    }
    assert "pingpong/tcp/fork/64B/same" in cells and "startup/tcp/fork/64B/same" in cells
    assert any("skip os_pipe" in note for note in selection.notes)
    assert any("startup run locally only" in note for note in selection.notes)
    with pytest.raises(SelectionError, match="not a node's IP address"):
        build_cells(Selection(transports=("tcp",), peers=("node7",)), REGISTRY, 2)


def test_old_files_name_tcp_loopback_and_load_as_tcp(tmp_path):
    old = synthetic_file(tmp_path / "old.json", {"pingpong/tcp_loopback/fork/64B/split": [1e-5]})
    new = synthetic_file(tmp_path / "new.json", {"pingpong/tcp/fork/64B/split": [2e-5]})
    frame = load_results([old])
    assert list(frame["transport"]) == ["tcp"] and list(frame["peer"]) == ["local"]
    comparison = compare(load_inputs([old, new]))
    (cell,) = comparison.cells  # one cell, in both files: the names line up
    assert cell.ratios[1] == pytest.approx(2.0, rel=0.05)


def _client(address, secret, outcome, key):
    try:
        outcome[key] = connect_back(address, secret, 64)
    except Exception as error:  # the wrong key's side learns it was refused
        outcome[key] = error


def test_cross_host_accept_keeps_only_the_peer_that_proves_the_key():
    secret = new_secret()
    accepted: dict = {}
    with socket.create_server(("127.0.0.1", 0)) as listener:
        address = listener.getsockname()
        parent = threading.Thread(
            target=lambda: accepted.update(sock=accept_peer(listener, "127.0.0.1", secret, 30.0))
        )
        parent.start()
        # First a stranger that sends no handshake, only a "length" far too long for one...
        with socket.create_connection(address) as stranger:
            stranger.sendall(b"\xff\xff\xff\xff" + b"x" * 16)
            # ... then a peer with the wrong key; both are refused, then the right one is kept.
            outcome: dict = {}
            _client(address, new_secret(), outcome, "wrong")
            _client(address, secret, outcome, "right")
            parent.join()
    assert isinstance(outcome["wrong"], ConnectionError | EOFError), outcome["wrong"]
    endpoint = outcome["right"]
    with accepted["sock"] as sock:
        endpoint.send(b"hello")
        assert sock.recv(9)[4:] == b"hello"  # the 4-byte length, then the message
    endpoint.close()


def test_cross_host_accept_gives_up_with_one_line():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        with socket.create_connection(listener.getsockname()):  # connects, never answers
            with pytest.raises(ConnectionError, match=r"no connection from 127\.0\.0\.1 proved"):
                accept_peer(listener, "127.0.0.1", new_secret(), 1.0)


def test_each_node_runs_the_selection_without_the_fleet_options():
    argv = ["run", "--cluster", "10.0.0.1:6379", "--each-node", "-t", "tcp", "-o", "out"]
    argv += ["--nodes=10.0.0.2", "--suite", "s.toml", "--quick", "--output=x"]
    assert fleet.node_arguments(argv) == ["-t", "tcp", "--quick"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--peer", "10.0.0.2"], "--peer needs --cluster HOST:PORT"),
        (["--each-node", "-o", "x"], "--each-node needs --cluster"),
        (["--cluster", "nowhere"], "expected HOST:PORT"),
        (["--cluster", "127.0.0.1:1"], "no Ray cluster answers at 127.0.0.1:1"),
        (["--cluster", "127.0.0.1:1", "--nodes", "a", "--peer", "b"], "cannot be combined"),
    ],
)
def test_cluster_flags_are_refused_in_one_line(args, message):
    pytest.importorskip("ray")
    done = run_cli("run", "-t", "tcp", *args, check=False)
    assert done.returncode == 2 and message in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_a_plain_run_never_imports_ray():
    code = (
        "import sys\n"
        "from ipcbench import cli\n"
        "cli.main(['list'])\n"
        "from ipcbench.transports import registry\n"
        "assert [t.available() for t in registry()]\n"
        "assert 'ray' not in sys.modules, 'ray was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "ray_actor" in done.stdout and "ray_object" in done.stdout


@pytest.fixture(scope="module")
def private_ray():
    """A private one-node Ray in this process: its node, on this host, is enough of a "peer" for
    the cross-host path to run where no namespaces can be made. Yields the node's address."""
    pytest.importorskip("ray")
    from ipcbench import cluster

    cluster.session()
    yield cluster.nodes()[0].address
    cluster.shutdown_private()
    # remote_manager's server was started by spawn, which left multiprocessing's tracker running
    multiprocessing.resource_tracker._resource_tracker._stop()


@pytest.mark.parametrize("name", ["tcp", "remote_manager", "ray_object"])
def test_a_child_started_by_a_launcher_on_a_node_serves_the_cell(private_ray, name):
    cell = Cell("stream", name, "exec", 4096, "free", peer=private_ray)
    with open_bench(cell, REGISTRY) as session:
        session.time(session.calibrate(0.001))
        metadata = session.extra_metadata(8)
        children = [p for p in psutil.Process().children(recursive=True) if _peer_child(p)]
        assert len(children) == (name != "ray_object")  # an ordinary process, not a Ray worker
    assert metadata["peer_ipcbench_version"] == results.__version__
    assert metadata["peer_cpu_count"] >= 1 and metadata["peer_child_cpus"] == "unpinned"
    assert not [p for p in psutil.Process().children(recursive=True) if _peer_child(p)]


def _peer_child(process) -> bool:
    try:
        return "ipcbench.peer_child" in process.cmdline() and process.status() != "zombie"
    except psutil.Error:
        return False


def test_a_fleet_node_runs_ipcbench_and_streams_its_lines():
    argv = ["-t", "null", "-m", "none", "-p", "pingpong", "-s", "64", "--quick"]
    items = list(fleet.run_on_node([*argv, "--processes", "1", "--name", "n1"], None))
    lines = [item[1] for item in items if item[0] == "line"]
    (done,) = [item for item in items if item[0] == "done"]
    assert done[1] == 0 and any("pingpong/null/none/64B" in line for line in lines)
    assert all(fleet.RESULT in line for line in lines if "->" in line)  # no temporary path
    assert '"name":"n1"' in done[2].replace(" ", "")
