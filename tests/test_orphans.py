"""SIGKILL of the run's main process mid-cell: the worker and its children follow within seconds,
and the run's temporary directories go with them.

The cell hangs on purpose (tests/plugins: broken_drop never answers), so without the lifeline
the worker would live until the watchdog fired (--cell-timeout, set far away here).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ipcbench import lifeline

PLUGINS = Path(__file__).parent / "plugins"
SHM = Path("/dev/shm")


def _env(tmp: Path) -> dict:
    env = dict(os.environ)
    paths = [str(PLUGINS), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env["TMPDIR"] = str(tmp)  # the run's temporary directories land where this test looks
    return env


def _wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds:g} s: {what}")


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _shm_of(pids) -> list[str]:
    """/dev/shm entries opened by these processes (semaphores, segments), by name."""
    found = []
    for pid in pids:
        try:
            for mapped in psutil.Process(pid).memory_maps(grouped=True):
                if mapped.path.startswith(str(SHM)):
                    found.append(mapped.path)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_sigkill_of_the_main_process_mid_cell_leaves_nothing_behind(tmp_path, method):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    output = tmp_path / "run.json"
    manager = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ipcbench",
            "run",
            "-t",
            "broken_drop",
            "-m",
            method,
            "-s",
            "64",
            "--quick",
            "--cell-timeout",
            "120",
            "-o",
            output,
        ],  # fmt: skip
        env=_env(tmp),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Mid-cell: the worker has started its child (the child hangs, by design).
        parent = psutil.Process(manager.pid)
        family = _wait_for(
            lambda: (lambda c: c if len(c) >= 2 else None)(parent.children(recursive=True)),
            60,
            "the worker and its child to start",
        )
        scratch = _wait_for(lambda: list(tmp.glob("ipcbench-*")), 10, "the scratch directory")
        shm = _shm_of(p.pid for p in family)
        manager.send_signal(signal.SIGKILL)
        manager.wait()
        # The watchdog would take 120 s: anything gone within a few seconds went by the lifeline.
        _wait_for(lambda: not any(map(_alive, family)), 10, f"{family} to end")
        _wait_for(lambda: not list(tmp.iterdir()), 5, f"{list(tmp.iterdir())} to be removed")
        assert scratch and not any(path.exists() for path in scratch)
        assert not [path for path in shm if os.path.exists(path)]
    finally:
        manager.kill()
        manager.wait()
        for process in psutil.Process().children(recursive=True):
            process.kill()


def test_the_sweep_removes_only_directories_whose_owner_is_dead(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # re-read TMPDIR
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    stale_scratch = tmp_path / "ipcbench-abc"
    stale_scratch.mkdir()
    (stale_scratch / lifeline.OWNER_FILE).write_text(dead)
    live_scratch = tmp_path / "ipcbench-def"
    live_scratch.mkdir()
    (live_scratch / lifeline.OWNER_FILE).write_text(str(os.getpid()))
    starting = tmp_path / "ipcbench-ghi"  # no owner yet: a run that is just starting
    starting.mkdir()
    stale_zmq = tmp_path / f"ipcbench-zmq-{dead}-x"
    stale_zmq.mkdir()
    live_zmq = Path(lifeline.zmq_directory())
    unrelated = tmp_path / "other-123"
    unrelated.mkdir()

    lifeline.sweep_stale()

    assert not stale_scratch.exists() and not stale_zmq.exists()
    assert live_scratch.exists() and starting.exists() and live_zmq.exists()
    assert unrelated.exists()


def test_a_worker_not_started_by_a_run_leaves_the_directory_of_its_failure_file_alone(tmp_path):
    # A worker started by hand (its parent is no `ipcbench run`) leaves at once and removes its
    # scratch directory, the one holding the job's failure file. Only ipcbench's own
    # directories may go: this one (once: /tmp itself) holds someone's files.
    keep = tmp_path / "somebody's file"
    keep.write_text("still here")
    job = tmp_path / "cell.job"
    job.write_text(
        '{"cell": "pingpong/os_pipe/fork/64B/split", "loops": 1, "pass_number": 1,'
        f' "position": 0, "failure_file": "{tmp_path / "cell.failure"}"}}'
    )
    worker = subprocess.run(
        [sys.executable, "-m", "ipcbench", "run", "--worker", "--worker-task=0", "--loops=1",
         f"--job={job}"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert worker.returncode == 1
    assert keep.read_text() == "still here" and job.exists()
