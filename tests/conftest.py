"""Shared fixtures: real `python -m ipcbench` runs, and the check that nothing is left behind."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

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
