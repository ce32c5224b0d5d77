"""Shared fixtures and helpers: real `python -m ipcbench` runs, the check that nothing is left
behind, and what several test modules use (children, shared memory, plug-ins, interrupted runs).
Test modules import helpers from here or from results_helpers.py, never from one another."""

import gc
import json
import multiprocessing.forkserver
import multiprocessing.resource_sharer
import multiprocessing.resource_tracker
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from ipcbench import cluster, results

SHM = Path("/dev/shm")

# Every process this test session starts inherits this marker, orphans included: the leak check
# looks for it, so another user's run (or a second suite) on the machine is never blamed here.
SESSION_MARKER = "IPCBENCH_TEST_SESSION"
os.environ[SESSION_MARKER] = uuid.uuid4().hex


def run_cli(*args, check=True, timeout=600, cwd=None, env=None):
    """`python -m ipcbench ARGS` in a real subprocess; returns the CompletedProcess."""
    completed = subprocess.run(
        [sys.executable, "-m", "ipcbench", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"ipcbench {' '.join(map(str, args))} exited {completed.returncode}\n"
            f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
        )
    return completed


@pytest.fixture(scope="session")
def small_result(tmp_path_factory) -> Path:
    """A real quick run of a small matrix (both patterns, two sizes, three transports)."""
    path = tmp_path_factory.mktemp("results") / "small.json"
    run_cli(
        "run",
        "-t",
        "os_pipe,mp_pipe,null",
        "-m",
        "fork,spawn,none",
        "-s",
        "64,4KiB",
        "--quick",
        "-o",
        path,
    )
    return path


@pytest.fixture(scope="session")
def patterns_result(tmp_path_factory) -> Path:
    """A real quick run of the startup, fanin, pool and counter patterns (fork, 64 B, 1 and 2
    processes, chunksizes 1 and 4), plus the bare process under spawn, forkserver and exec
    appended (the start-up ratios need them; the rest under spawn would double the time)."""
    path = tmp_path_factory.mktemp("patterns") / "patterns.json"
    run_cli(
        "run",
        "-p",
        "startup,fanin,pool,counter",
        "-t",
        "process,mp_pool,os_pipe,mp_queue,apply,map,value_lock,unlocked",
        "-m",
        "fork",
        "-s",
        "64",
        "--procs",
        "1,2",
        "--chunksizes",
        "1,4",
        "--quick",
        "-o",
        path,
    )
    run_cli(
        "run",
        "-p",
        "startup",
        "-t",
        "process",
        "-m",
        "spawn,forkserver,exec",
        "--quick",
        "--append",
        path,
    )
    return path


def _shm_entries() -> set[str]:
    """ipcbench's segments (named ipcbench-PID-..., see lifeline.segment_name), not other
    programs': another user's benchmark or browser must not fail this suite."""
    names = os.listdir(SHM) if SHM.is_dir() else []
    return {name for name in names if name.startswith("ipcbench-")}


def _left_by_us(name: str) -> bool:
    """A segment of a live process outside this session belongs to another run on the machine."""
    pid = name.split("-")[1]
    try:
        process = psutil.Process(int(pid))
        return process.environ().get(SESSION_MARKER) == os.environ[SESSION_MARKER]
    except (ValueError, psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return True  # its creator is gone and the segment stayed: a leak


def _our_processes() -> list[psutil.Process]:
    """Live processes started by this test session (they carry its marker), this one aside."""
    marker = os.environ[SESSION_MARKER]
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            if process.pid == os.getpid():
                continue
            if process.environ().get(SESSION_MARKER) == marker:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


@pytest.fixture(scope="session", autouse=True)
def leaves_nothing_behind():
    """After the whole suite: no new /dev/shm segment, no child, zombie or orphan process."""
    shm_before = _shm_entries()
    yield
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        leftovers = _our_processes() + psutil.Process().children(recursive=True)
        if not leftovers:
            break
        time.sleep(0.2)
    described = [
        f"{p.pid} {p.info.get('cmdline') if hasattr(p, 'info') else p.cmdline()}" for p in leftovers
    ]
    assert not leftovers, f"processes left behind: {described}"
    left = {name for name in _shm_entries() - shm_before if _left_by_us(name)}
    assert left == set(), f"shared memory left in /dev/shm: {sorted(left)}"


# -- helpers the test modules share ----------------------------------------------------------

PLUGINS = Path(__file__).resolve().parent / "plugins"


def with_plugins() -> dict:
    """An environment whose Python finds the deliberately broken transports' entry points."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGINS), env.get("PYTHONPATH")]))
    return env


def infrastructure(process: psutil.Process) -> bool:
    """multiprocessing's per-process helpers (forkserver, resource tracker) and the private Ray
    of the Ray transports (its node processes and idle workers) outlive channels."""
    command = " ".join(process.cmdline())
    private_ray = process.pid in cluster.private_processes()
    return "forkserver" in command or "resource_tracker" in command or private_ray


def new_shm_entries(before: set[str]) -> set[str]:
    """Segments this process created since `before` that are still there once garbage is
    collected. Only names carrying this process's pid (lifeline.segment_name) count: another run
    on the machine may create and remove segments at any time."""
    mine = f"ipcbench-{os.getpid()}-"
    deadline = time.monotonic() + 5
    while True:
        gc.collect()  # named semaphores are unlinked when their last reference goes
        left = {name for name in set(os.listdir("/dev/shm")) - before if name.startswith(mine)}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def timed_within_wall(time_loops, *args) -> float:
    """Run a timed loop; its figure must be positive and no longer than the call itself took.

    A loop that timed the wrong span (set-up included, a stale start) or returned another unit
    (ns, a count) falls outside the wall time measured around it.
    """
    start = time.perf_counter()
    elapsed = time_loops(*args)
    wall = time.perf_counter() - start
    assert isinstance(elapsed, float) and 0 < elapsed <= wall, (elapsed, wall)
    return elapsed


def live_children() -> list[psutil.Process]:
    children = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and not infrastructure(child):
                children.append(child)
        except psutil.NoSuchProcess:
            pass
    return children


@pytest.fixture(scope="module")
def stop_multiprocessing_helpers():
    """For modules that start children in-process: stop multiprocessing's helpers after them."""
    yield
    # These private helpers are the documented way CPython's own tests stop them.
    multiprocessing.forkserver._forkserver._stop()
    multiprocessing.resource_tracker._resource_tracker._stop()
    cluster.shutdown_private()
    multiprocessing.resource_sharer.stop()  # torch_mp's handles are passed through it


def _cells(result: results.ResultFile) -> int:
    return len(result.benchmarks)


def interrupt_after_cells(
    command: list[str], output: Path, cells: int, signal_number, measure=_cells, group=True
):
    """Run `command`, signal its process group (or its main process alone, `group=False`) once
    `output` holds `cells` cells (or `measure(result)` reaches `cells`), let it end.

    Returns (exit status, stderr, session id): the session holds every process of the run.
    """
    # A session of its own: the signal goes to the whole process group, as Ctrl-C does.
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _wait_for_cells(output, cells, measure)
        (os.killpg if group else os.kill)(process.pid, signal_number)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode, stderr, process.pid


def _wait_for_cells(path: Path, count: int, measure=_cells, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if measure(results.load(path)) >= count:
                return
        except results.ResultFileError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{path} never had {count} cells")


def sigkill_mid_run(command: list[str], env=None, while_running=None) -> dict:
    """Start `command`, a parent that prints one JSON line (with its child's pid as "child") once
    its channel runs; SIGKILL it mid-run; return that line once the child has died with it.
    `while_running(parent_pid, line)` runs just before the kill."""
    parent = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        opened = json.loads(parent.stdout.readline())
        time.sleep(0.3)  # round trips under way
        assert parent.poll() is None
        if while_running is not None:
            while_running(parent.pid, opened)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        parent.stdout.close()
    _wait_until_gone(opened["child"])  # the child dies with its parent
    return {**opened, "parent": parent.pid}


def _wait_until_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.05)
    raise AssertionError(f"the child {pid} outlived its killed parent")
