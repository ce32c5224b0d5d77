"""Beyond one machine, for real: two test hosts (network namespaces joined by a veth pair), a Ray
node on each, ipcbench run from the head's host (see netns_cluster.py).

One cluster serves the module (starting it takes seconds); the test that kills the worker host
runs last. Skipped, with the reason, where namespaces cannot be made (not root, no iproute2, no
ray installed).
"""

import shutil
import tempfile
import time
from pathlib import Path

import pytest
from conftest import run_cli
from netns_cluster import HEAD_IP, WORKER_IP, Cluster, unavailable

from ipcbench import allocator, results

REASON = unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"no test hosts: {REASON}")
CROSSING = ("tcp", "zmq_tcp", "remote_manager", "ray_actor", "ray_object")


@pytest.fixture(scope="module")
def hosts():
    # Short: Ray's socket paths inside its temporary directory must stay under 108 bytes.
    scratch = Path(tempfile.mkdtemp(prefix="ipcbr"))
    cluster = Cluster(scratch)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def payload_bytes(bench) -> int:
    """What a cell's timed loops moved between the hosts, at least (warm-ups aside)."""
    metadata = bench.get_metadata()
    trips = 2 if metadata["pattern"] == "pingpong" else 1
    loops = sum(run.get_loops() * len(run.values) for run in bench.get_runs())
    return loops * metadata["size_bytes"] * trips


def test_cross_host_cells_cross_the_veth_and_record_their_peer(hosts, tmp_path):
    output = tmp_path / "cross.json"
    before = hosts.veth_bytes()
    hosts.ipcbench(
        "run", "--cluster", hosts.address, "--peer", WORKER_IP, "-t", ",".join(CROSSING),
        "-p", "pingpong", "-s", "64KiB", "--quick", "--processes", "1", "-o", output,
        check=True,
    )  # fmt: skip
    moved = hosts.veth_bytes() - before
    result = results.load(output)
    assert result.failed == {}
    assert {bench.get_metadata()["transport"] for bench in result.benchmarks} == set(CROSSING)
    for bench in result.benchmarks:
        metadata = bench.get_metadata()
        assert bench.get_name().endswith(f"/exec/64KiB/split/peer={WORKER_IP}")
        assert metadata["peer"] == WORKER_IP and metadata["method"] == "exec"
        assert metadata["peer_cpu_count"] >= 1 and metadata["peer_platform"]
        assert metadata["peer_ipcbench_version"] == metadata["ipcbench_version"]
        assert metadata["peer_child_cpus"]  # split: the child pinned on the peer
    # Every payload went over the veth (the child's host has no other way to the parent).
    assert moved >= sum(payload_bytes(bench) for bench in result.benchmarks) > 10 << 20
    shown = run_cli("show", output).stdout
    assert f"peer={WORKER_IP}" not in shown and WORKER_IP in shown  # a peer column


def test_each_node_leaves_a_file_per_node_that_compare_and_report_read(hosts, tmp_path):
    directory = tmp_path / "fleet"
    done = hosts.ipcbench(
        "run", "--cluster", hosts.address, "--each-node", "-t", "os_pipe", "-m", "fork",
        "-p", "pingpong", "-s", "64", "--quick", "--processes", "1", "-o", directory,
        check=True,
    )  # fmt: skip
    files = sorted(directory.iterdir())
    assert [path.name for path in files] == [f"{HEAD_IP}.json", f"{WORKER_IP}.json"]
    for path in files:
        (bench,) = results.load(path).benchmarks
        assert bench.get_metadata()["node"] == path.stem
    lines = done.stderr.splitlines()
    for node in (HEAD_IP, WORKER_IP):  # each node's progress, streamed and labelled
        assert any(line.startswith(f"{node}: [1/1] pingpong/os_pipe/fork/64B") for line in lines)
    assert lines[-1].startswith("compare them with: python -m ipcbench compare ")
    assert all(str(path) in lines[-1] for path in files)
    compared = run_cli("compare", *files).stdout
    assert "pingpong/os_pipe/fork/64B/split" in compared
    assert HEAD_IP in compared and WORKER_IP in compared  # machines named after their nodes
    run_cli("report", *files, "-o", tmp_path / "fleet.html")
    assert (tmp_path / "fleet.html").stat().st_size > 10_000


def test_a_wrong_or_missing_token_is_refused_in_one_line(hosts):
    wrong = dict(hosts.env, RAY_AUTH_TOKEN="not-the-token")
    missing = {k: v for k, v in hosts.env.items() if k not in ("RAY_AUTH_TOKEN", "RAY_AUTH_MODE")}
    absent = {k: v for k, v in hosts.env.items() if k != "RAY_AUTH_TOKEN"}
    for env, message in (
        (wrong, "refused this client's token"),
        (missing, "refused this client's token"),
        (absent, "RAY_AUTH_MODE=token, but no token"),
    ):
        done = hosts.ipcbench("run", "-t", "tcp", "--cluster", hosts.address, env=env)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1
    done = hosts.ipcbench("run", "-t", "tcp", "--cluster", hosts.address, "--peer", "10.213.0.9")
    assert done.returncode == 2 and "10.213.0.9 is not a node of the cluster" in done.stderr


def test_killing_the_peer_host_mid_cell_fails_that_cell_and_the_run_ends(hosts, tmp_path):
    """Runs last: the worker host is gone afterwards. tcp sees the connection reset at once
    (zmq_tcp would wait for --cell-timeout: ZeroMQ does not report a lost peer)."""
    output = tmp_path / "killed.json"
    run = hosts.start_ipcbench(
        "run", "--cluster", hosts.address, "--peer", WORKER_IP, "-t", "tcp",
        "-p", "pingpong", "-s", "64KiB,1MiB", "--quick", "--processes", "1", "--min-time", "2",
        "--cell-timeout", "30", "-o", output,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not hosts.worker_processes("ipcbench.peer_child"):  # a cell's child is serving
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.05)
        # It runs under the allocator policy of the parent's side (ipcbench.allocator). glibc
        # cuts the variable short in place as it reads it: /proc shows its first tunable.
        (child,) = hosts.worker_processes("ipcbench.peer_child")
        environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        (tunables,) = [entry for entry in environ if entry.startswith(b"GLIBC_TUNABLES=")]
        assert allocator.POLICY.startswith(tunables.decode().partition("=")[2]), tunables
        assert b"mmap_threshold" in tunables
        time.sleep(3.0)  # connected and timing: a cell takes over 10 s at --min-time 2
        hosts.kill_worker_node()
        killed = time.monotonic()
        _out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 1, err
    assert time.monotonic() - killed < 30, err  # within --cell-timeout, both cells included
    result = results.load(output)
    assert len(result.failed) == 2 and not result.benchmarks
    reasons = list(result.failed.values())
    # The cell whose child was killed mid-run, then the one that could no longer start.
    assert any("did the child die?" in reason for reason in reasons), reasons
    assert any(f"{WORKER_IP} is no longer alive" in reason for reason in reasons), reasons
    assert "ipcbench: 0 of 2 cells complete" in err
