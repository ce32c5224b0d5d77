"""The Ray connection of a process: the run's cluster (`--cluster`), or a private one-node Ray.

Ray is an optional extra (`pip install 'ipcbench[ray]'`): it is imported only here, by the
remote-child and fleet modules and by the Ray transports, and only when a run asks for them.

A process that takes part in a cluster must run on one of its nodes (a Ray driver talks to the
raylet of its own host). Connecting checks first, in order, that the address answers at all, that
the cluster accepts this client's token (Ray's `RAY_AUTH_MODE=token`), and only then calls
ray.init: Ray alone would retry a wrong token for a minute, printing a warning a second.

Without `--cluster`, the Ray transports start a private Ray for the process (once, reused by
every channel it opens): protected by a random token (Ray listens on the host's address, never
only on 127.0.0.1), in a temporary directory that goes with it. Its processes are this
process's descendants, so the CPU meter counts them, and they are placed on the child's CPUs
like any transport's helpers.
"""

import atexit
import contextlib
import os
import secrets
import shutil
import socket
import tempfile
from dataclasses import dataclass

# Set by `run --cluster` (in the manager and in every worker).
_address: str | None = None
# The private Ray of this process: its directory and the processes it started (roots).
_private: dict = {}
REACH_TIMEOUT = 5.0
# ray.init retries a cluster that refuses it this many times (about a second each).
CONNECT_RETRIES = "3"
NAMESPACE = "ipcbench"
PRIVATE_OBJECT_STORE = 128 << 20
# How long the private Ray's processes get to leave after ray.shutdown().
SHUTDOWN_GRACE = 10.0
INSTALL = "pip install 'ipcbench[ray]'"


class ClusterError(Exception):
    """The cluster cannot be used as asked; the message says why, in one line."""


@dataclass(frozen=True)
class Node:
    address: str  # the node's IP address, as Ray knows it
    node_id: str
    cpus: int
    alive: bool


def available() -> str | None:
    """Why Ray cannot be used here, or None (without importing it: that costs ~0.5 s)."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        return f"needs ray: {INSTALL}"
    return None


def use(address: str | None) -> None:
    """The run's --cluster address: later connections go there."""
    global _address
    _address = address


def configured() -> str | None:
    return _address


def split_address(address: str) -> tuple[str, int]:
    host, colon, port = address.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ClusterError(f"--cluster {address!r}: expected HOST:PORT, e.g. 10.0.0.1:6379")
    return host.strip("[]"), int(port)


def session():
    """Ray, connected: to the configured cluster, or to this process's private Ray."""
    import ray

    if not ray.is_initialized():
        if _address is not None:
            connect(_address)
        else:
            _start_private()
    return ray


def connect(address: str):
    """Connect this process to the cluster at `address` as a Ray driver; ClusterError if not."""
    reason = available()
    if reason:
        raise ClusterError(f"--cluster {reason}")
    host, port = split_address(address)
    try:
        socket.create_connection((host, port), timeout=REACH_TIMEOUT).close()
    except OSError as error:
        raise ClusterError(
            f"no Ray cluster answers at {address}: {error.strerror or error}"
        ) from None
    import ray

    with _quiet_stderr():
        _check_token(address)
        os.environ.setdefault("RAY_gcs_server_port_wait_time_s", CONNECT_RETRIES)
        try:
            ray.init(address=address, namespace=NAMESPACE, **_QUIET)
        except Exception as error:  # ConnectionError, RuntimeError, ValueError ...
            raise ClusterError(
                f"cannot join the Ray cluster at {address} ({first_line(error)}); "
                "ipcbench must run on a node of the cluster"
            ) from None
    return ray


_QUIET = {"logging_level": "ERROR", "log_to_driver": False}


def _check_token(address: str) -> None:
    from ray._raylet import GcsClient  # Ray's own client of the cluster's control store
    from ray.exceptions import AuthenticationError

    if os.environ.get("RAY_AUTH_MODE") == "token" and not _token_given():
        # Ray itself would abort the process on its first call (a failed internal check).
        raise ClusterError(
            "RAY_AUTH_MODE=token, but no token: set RAY_AUTH_TOKEN, or RAY_AUTH_TOKEN_PATH to a "
            "file holding it, or write it to ~/.ray/auth_token"
        )

    try:
        GcsClient(address=address)
    except AuthenticationError:
        mode = os.environ.get("RAY_AUTH_MODE", "unset")
        raise ClusterError(
            f"the Ray cluster at {address} refused this client's token (RAY_AUTH_MODE={mode}): "
            "set RAY_AUTH_MODE=token and the cluster's token in RAY_AUTH_TOKEN or "
            "~/.ray/auth_token"
        ) from None
    except Exception as error:
        raise ClusterError(f"no Ray cluster at {address}: {first_line(error)}") from None


def _token_given() -> bool:
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or os.path.expanduser("~/.ray/auth_token")
    return bool(os.environ.get("RAY_AUTH_TOKEN")) or os.path.isfile(path)


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


@contextlib.contextmanager
def _quiet_stderr():
    """Ray's C++ core logs each failed attempt on fd 2: a user gets our one line instead."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def nodes() -> list[Node]:
    """The cluster's nodes, in Ray's order (connected first)."""
    import ray

    return [
        Node(
            address=node["NodeManagerAddress"],
            node_id=node["NodeID"],
            cpus=int(node.get("Resources", {}).get("CPU", 0)),
            alive=bool(node["Alive"]),
        )
        for node in ray.nodes()
    ]


def alive_node(address: str) -> Node:
    """The live node at `address`; ClusterError if there is none."""
    found = [node for node in nodes() if node.address == address]
    if not any(node.alive for node in found):
        known = sorted({node.address for node in nodes() if node.alive})
        state = "is no longer alive" if found else "is not a node of the cluster"
        raise ClusterError(f"{address} {state} (live nodes: {', '.join(known) or 'none'})")
    return next(node for node in found if node.alive)


def this_node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id()


def address_towards(host: str) -> str:
    """This host's address on its route to `host`: what a listener for that peer binds."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((host, 9))  # UDP: no packet is sent, the kernel only picks the route
        return probe.getsockname()[0]


# -- the private Ray ---------------------------------------------------------------------------


def _start_private() -> None:
    import ray

    from ipcbench.cputime import descendants
    from ipcbench.lifeline import PREFIX, claim_directory

    directory = tempfile.mkdtemp(prefix=f"{PREFIX}ray-")
    claim_directory(directory)  # swept by a later run if this process dies without cleaning up
    before = set(descendants())
    # A random token: no other local user can reach it. Set for Ray's own processes, which
    # read it at their start, then taken back so that this process's later children (another
    # run, a test's cluster) do not inherit it.
    saved = {key: os.environ.get(key) for key in _AUTH_VARIABLES}
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    _reload_auth()  # Ray read the mode when it was imported
    try:
        ray.init(
            num_cpus=1,
            object_store_memory=PRIVATE_OBJECT_STORE,
            include_dashboard=False,
            namespace=NAMESPACE,
            _temp_dir=directory,
            **_QUIET,
        )
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        _restore(saved)
    _private.update(directory=directory, roots=set(descendants()) - before)
    atexit.register(shutdown_private)


_AUTH_VARIABLES = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def _reload_auth() -> None:
    """Have Ray read its token settings from the environment again (its own way of doing so)."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def _restore(saved: dict) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def private_processes() -> set[int]:
    """The private Ray's live processes (its node processes and their workers)."""
    from ipcbench.cputime import descendants

    roots = _private.get("roots", set())
    found = set()
    for root in roots:
        if os.path.exists(f"/proc/{root}"):
            found.add(root)
            found.update(descendants(root))
    return found


def place_private(cpus: set[int] | None) -> None:
    """Put the private Ray's processes on `cpus` (a transport's helpers run with its child)."""
    if not _private:
        return
    # Ray's threads in this process (the driver's) run with this process, placed by the Bench.
    for thread in _threads(os.getpid()):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(thread, os.sched_getaffinity(0))
    target = cpus or os.sched_getaffinity(1)  # unpinned: what init may use, i.e. everything
    for pid in private_processes():
        # Every thread: an affinity set on a pid holds for its main thread only.
        for thread in _threads(pid):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(thread, target)


def _threads(pid: int) -> list[int]:
    try:
        return [int(name) for name in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return []


def is_private() -> bool:
    return bool(_private)


def shutdown_private() -> None:
    """Stop the private Ray (if any) and remove its directory."""
    if not _private:
        return
    import psutil
    import ray

    left = []
    for pid in private_processes():
        with contextlib.suppress(psutil.Error):
            left.append(psutil.Process(pid))
    ray.shutdown()
    _reload_auth()  # back to this process's own settings, now that the private Ray is gone
    # Its processes write logs into the directory until they are gone: wait for them first
    # (reaping those that are this process's children).
    psutil.wait_procs(left, timeout=SHUTDOWN_GRACE)
    shutil.rmtree(_private["directory"], ignore_errors=True)
    _private.clear()
