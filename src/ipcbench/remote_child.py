"""A cell's child on another node of the cluster (`run --peer NODE`).

The child is an ordinary process, `python -m ipcbench.peer_child`, not a Ray worker with Ray's
threads: a small `Launcher` actor, placed on the peer node (NodeAffinitySchedulingStrategy),
starts it and hands it, on its stdin, what to connect to and the cell's random secret. The secret
travels through Ray (the cluster's own authenticated channel), never over the channel measured.
The child then connects back to the parent, proves the secret, and serves the usual child loop
(ipcbench.child.serve); it dies with the launcher, which dies with the parent's Ray driver.

`RemoteProcess` gives the parent's endpoint what it expects of a child process (join,
is_alive, terminate, kill, close), each call bounded in time: a node that died or became
unreachable answers nothing, and the cell must still end within --cell-timeout.

Only the Ray transports send their data through Ray; the others only start their child with it.
"""

import contextlib
import os
import pickle
import platform
import subprocess
import sys
import tempfile

from ipcbench import allocator, cluster
from ipcbench.version import __version__

# Starting the launcher (a Ray worker on the peer) and the child: generous for a loaded node.
START_TIMEOUT = 30.0
# Time given to a call on the launcher beyond what it is asked to wait itself.
CALL_SLACK = 3.0
STDERR_TAIL = 400


def machine_facts() -> dict:
    """What identifies a machine's performance (recorded as the peer's, with a `peer_` prefix)."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as stream:
            model = next(
                (line.split(":", 1)[1].strip() for line in stream if line.startswith("model name")),
                "",
            )
    except OSError:
        pass
    return {
        "cpu_model_name": model or platform.processor(),
        "cpu_count": os.cpu_count() or 1,
        "mem_total": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "platform": platform.platform(),
        "python_implementation": platform.python_implementation(),
        "python_version": platform.python_version(),
        "ipcbench_version": __version__,
    }


def node_cpus(rule) -> set[int] | None:
    """The child's CPUs on its node: an explicit set, or a placement applied to the node's CPUs
    (the same rule as session.spread_cpus: `same` the first, `split` the second, `free` none)."""
    if rule is None or isinstance(rule, set | frozenset):
        return set(rule) if rule else None
    if rule == "free":
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if rule == "split" and len(cpus) < 2:
        raise ValueError("placement 'split' needs at least 2 CPUs on the peer node")
    return {cpus[1] if rule == "split" else cpus[0]}


class Launcher:
    """The Ray actor on the peer node that starts, watches and stops one child process."""

    def __init__(self) -> None:
        self.process = self.errors = None

    def facts(self) -> dict:
        return machine_facts()

    def start(self, spec: bytes, rule) -> list[int]:
        """Start the child with `spec` (its connect call) on its stdin; return its CPUs."""
        cpus = node_cpus(rule)
        self.errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ipcbench.peer_child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self.errors,
            env=allocator.with_policy(dict(os.environ)),  # as the parent's side runs (allocator.py)
        )
        with self.process.stdin as stdin:
            stdin.write(pickle.dumps((spec, cpus)))
        return sorted(cpus or ())

    def wait(self, seconds: float) -> int | None:
        try:
            return self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            return None

    def signal(self, kill: bool) -> None:
        if self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()

    def stderr_tail(self) -> str:
        self.errors.seek(0)
        text = self.errors.read().decode("utf-8", "replace").strip()
        return text[-STDERR_TAIL:].splitlines()[-1] if text else ""


class RemoteProcess:
    """The parent's handle on the child on the peer node, shaped like a multiprocessing Process."""

    def __init__(self, launcher) -> None:
        self._launcher = launcher
        self.exitcode = None
        self._gone = False

    def join(self, timeout: float | None = None) -> None:
        if self._gone:
            return
        seconds = START_TIMEOUT if timeout is None else timeout
        code = self._call("wait", seconds, timeout=seconds + CALL_SLACK)
        if code is not None:
            self.exitcode, self._gone = code, True

    def is_alive(self) -> bool:
        return not self._gone

    def terminate(self) -> None:
        if not self._gone:
            self._call("signal", False)

    def kill(self) -> None:
        self.close()  # the child dies with its launcher (see peer_child)

    def close(self) -> None:
        launcher, self._launcher = self._launcher, None
        self._gone = True
        if launcher is not None:
            cluster.session().kill(launcher, no_restart=True)  # asynchronous: never blocks

    def reason(self) -> str:
        """The child's last line on stderr, if it has ended with one."""
        if self._launcher is None:
            return ""
        return self._call("stderr_tail", timeout=CALL_SLACK) or ""

    def _call(self, method: str, *args, timeout: float = CALL_SLACK):
        """A call on the launcher; None once its node or it is gone (the child went with it)."""
        ray = cluster.session()
        try:
            return ray.get(getattr(self._launcher, method).remote(*args), timeout=timeout)
        except Exception:  # RayActorError, GetTimeoutError, ... : nothing left to talk to
            self._gone = True
            return None


class Peer:
    """The node a cell's child runs on, as the parent sees it."""

    def __init__(self, address: str, cpu_rule, local_cpus: set[int] | None = None) -> None:
        ray = cluster.session()
        node = cluster.alive_node(address)
        # cpu_rule places the child on the peer; local_cpus are the CPUs the placement gives a
        # child on this host, where helpers of the channel (a manager's server) run.
        self.address, self.cpu_rule, self.local_cpus = address, cpu_rule, local_cpus
        self.local_address = cluster.address_towards(address)
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self.options = {
            "num_cpus": 0,
            "max_restarts": 0,
            "scheduling_strategy": NodeAffinitySchedulingStrategy(node.node_id, soft=False),
        }
        self.metadata: dict = {}
        self.ray = ray

    def start_child(self, connect, *args) -> RemoteProcess:
        """Start `connect(*args)` + child.serve as a process on the peer node."""
        ray = self.ray
        launcher = ray.remote(Launcher).options(**self.options).remote()
        process = RemoteProcess(launcher)
        try:
            facts = ray.get(launcher.facts.remote(), timeout=START_TIMEOUT)
            if facts["ipcbench_version"] != __version__:
                raise cluster.ClusterError(
                    f"the peer {self.address} runs ipcbench {facts['ipcbench_version']}, "
                    f"this host {__version__}: install the same version on every node"
                )
            spec = pickle.dumps((connect, args))
            cpus = ray.get(launcher.start.remote(spec, self.cpu_rule), timeout=START_TIMEOUT)
        except BaseException as error:
            process.close()
            if isinstance(error, Exception) and not isinstance(error, cluster.ClusterError):
                raise cluster.ClusterError(
                    f"could not start the child on {self.address}: {cluster.first_line(error)}"
                ) from None
            raise
        self.record(facts, cpus)
        return process

    def record(self, facts: dict, cpus: list[int]) -> None:
        """The peer machine's facts and the child's CPUs there, for the cell's metadata."""
        self.metadata = {f"peer_{key}": value for key, value in facts.items()}
        self.metadata["peer_child_cpus"] = ",".join(map(str, cpus)) or "unpinned"

    @contextlib.contextmanager
    def connecting(self, process: RemoteProcess):
        """Around the parent's wait for its child: on failure the child is stopped, and what it
        said on its way out (a refused connection, a failed handshake) joins the reason."""
        from ipcbench.children import stop_process

        try:
            yield
        except BaseException as error:
            reason = process.reason() if isinstance(error, Exception) else ""
            stop_process(process)
            if reason:
                raise ConnectionError(
                    f"{cluster.first_line(error)}; the child on {self.address} said: {reason}"
                ) from None
            raise

    def attach(self, endpoint):
        """Record the peer's facts with the cell (Session.extra_metadata reads them)."""
        endpoint.metadata = {**getattr(endpoint, "metadata", {}), **self.metadata}
        return endpoint


def open_on_peer(transport_class, cell, capacity: int, local_cpus: set[int] | None):
    """The parent's endpoint of `cell`'s channel, its child on the node `cell.peer`."""
    peer = Peer(cell.peer, cell.placement, local_cpus)
    return transport_class().open_peer(peer, capacity)
