"""A worker lives no longer than the run's main process (the manager), and leaves nothing behind.

pyperf starts each worker as a plain subprocess: if the manager is killed (SIGKILL, OOM killer)
mid-cell, nothing would stop the worker and its children until the watchdog fires, and the
manager's scratch directory would stay in the temporary directory for good. So, first thing in a
worker:
  - the kernel signals it when its parent dies (PR_SET_PDEATHSIG); the handler unwinds through
    the cell's cleanup (children stopped, channels closed, shared memory unlinked) and a deadline
    thread ends the worker outright if that cleanup hangs;
  - the parent is checked once the signal is armed: if the manager died before, the parent is
    already someone else (init, a subreaper) and the worker leaves at once;
  - on the way out of an orphaned worker, the manager's scratch directory is removed;
  - directories and shared-memory segments that a run killed harder than that left behind (their
    owner's pid is in the name or the directory's `owner` file, and that process is gone) are
    swept when a worker starts.
Linux only (prctl); elsewhere workers keep relying on the watchdog.
"""

import atexit
import contextlib
import ctypes
import glob
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading

PR_SET_PDEATHSIG = 1
PARENT_DIED = signal.SIGUSR2
# After the manager died: cleanup gets this long before the worker ends itself.
ORPHAN_GRACE = 3.0
OWNER_FILE = "owner"
# Temporary directories ipcbench makes: the run's scratch (ipcbench-XXXX, owner file inside)
# and zmq_ipc's (ipcbench-zmq-PID-XXXX).
PREFIX = "ipcbench-"
ZMQ_PREFIX = PREFIX + "zmq-"
# Shared-memory segments (shared_memory transport): /dev/shm/ipcbench-PID-RANDOM.
SHM = "/dev/shm"


def bind_worker_to_manager(failure_file: str | None) -> None:
    """In a worker, before anything else: die with the manager, clean up after it."""
    if not sys.platform.startswith("linux") or not failure_file:
        return  # a worker started by hand (no manager, no scratch directory)
    manager = os.getppid()
    scratch = os.path.dirname(os.path.abspath(failure_file))
    signal.signal(PARENT_DIED, lambda signum, frame: _orphaned(scratch))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, PARENT_DIED)
    # The manager may have died before the signal was armed: then our parent is already another
    # process, and no signal will come.
    if os.getppid() != manager or not _is_ipcbench_run(manager):
        _remove(scratch)
        os._exit(1)
    with contextlib.suppress(OSError):
        with open(os.path.join(scratch, OWNER_FILE), "x", encoding="ascii") as stream:
            stream.write(str(manager))
    atexit.register(_remove_if_orphaned, manager, scratch)
    sweep_stale()


def zmq_directory() -> str:
    """A private directory for zmq_ipc, named after this process so a sweep can tell it's dead."""
    return tempfile.mkdtemp(prefix=f"{ZMQ_PREFIX}{os.getpid()}-")


def claim_directory(path: str) -> None:
    """Record this process as the owner of a temporary directory: swept once it is gone."""
    with open(os.path.join(path, OWNER_FILE), "w", encoding="ascii") as stream:
        stream.write(str(os.getpid()))


def segment_name() -> str:
    """A shared-memory segment name that records its creator (see sweep_stale)."""
    return f"{PREFIX}{os.getpid()}-{secrets.token_hex(8)}"


def sweep_stale() -> None:
    """Remove ipcbench's temporary directories and segments whose owning process is gone."""
    for path in glob.glob(os.path.join(tempfile.gettempdir(), PREFIX + "*")):
        owner = _owner(path)
        if owner is not None and not _alive(owner):
            _remove(path)
    for path in glob.glob(os.path.join(SHM, PREFIX + "*")):
        owner = _pid_in_name(os.path.basename(path), PREFIX)
        if owner is not None and _mine(path) and not _alive(owner):
            with contextlib.suppress(OSError):
                os.unlink(path)


def _pid_in_name(name: str, prefix: str) -> int | None:
    digits = name[len(prefix) :].split("-", 1)[0]
    return int(digits) if digits.isdigit() else None


def _mine(path: str) -> bool:
    try:
        return os.stat(path).st_uid == os.getuid()
    except OSError:
        return False


def _owner(path: str) -> int | None:
    if not _mine(path):
        return None  # someone else's: never touched
    name = os.path.basename(path)
    if name.startswith(ZMQ_PREFIX):
        return _pid_in_name(name, ZMQ_PREFIX)
    try:
        with open(os.path.join(path, OWNER_FILE), encoding="ascii") as stream:
            return int(stream.read())
    except (OSError, ValueError):
        return None  # no owner recorded (yet): a run that is starting, or not ours to judge


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_ipcbench_run(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as stream:
            words = stream.read().split(b"\0")
    except OSError:
        return False
    return any(b"ipcbench" in word for word in words) and b"run" in words


def _orphaned(scratch: str) -> None:
    signal.signal(PARENT_DIED, signal.SIG_IGN)

    def deadline() -> None:
        # Cleanup hung (a child that ignores its channel, a stuck close): end it all now. The
        # children die with this process (child.prepare_child).
        _remove(scratch)
        for path in glob.glob(os.path.join(tempfile.gettempdir(), f"{ZMQ_PREFIX}{os.getpid()}-*")):
            _remove(path)
        os._exit(1)

    timer = threading.Timer(ORPHAN_GRACE, deadline)
    timer.daemon = True
    timer.start()
    raise KeyboardInterrupt  # unwinds like Ctrl-C: the cell's cleanup runs


def _remove_if_orphaned(manager: int, scratch: str) -> None:
    if os.getppid() != manager:
        _remove(scratch)


def _remove(path: str) -> None:
    """Remove one of ipcbench's own temporary directories; anything else is left alone.

    A worker learns its scratch directory from the job file. One started by hand, or by a job
    file that names a failure file elsewhere, must never take an ordinary directory (/tmp
    itself, once) down with it.
    """
    if os.path.basename(os.path.normpath(path)).startswith(PREFIX) and _mine(path):
        shutil.rmtree(path, ignore_errors=True)
