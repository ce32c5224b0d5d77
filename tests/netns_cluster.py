"""Two test hosts on one machine: network namespaces joined by a veth pair, a Ray node in each.

The head namespace holds the Ray head node (10.213.0.1), the worker namespace a worker node
(10.213.0.2), each with its own temporary directory, a small object store and no dashboard. The
cluster takes a token (RAY_AUTH_MODE=token), as a shared one should. Commands run "on" a host
through `ip netns exec`. Everything started lives inside the two namespaces, so teardown ends
exactly those processes (`ip netns pids`) and deletes the namespaces, whatever happened.

Needs root and iproute2; `unavailable()` says why not, for a skip that names the reason.
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
HEAD_IP, WORKER_IP, PREFIX_LENGTH = "10.213.0.1", "10.213.0.2", 24
PORT = 6379
START_TIMEOUT = 60.0
# Ray notices a node that stopped answering within about a second (its default takes ~30 s).
HEALTH = {
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "500",
    "RAY_health_check_failure_threshold": "3",
}


def unavailable() -> str | None:
    """Why namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed (apt-get install iproute2)"
    probe = f"ipcbprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot make a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        return "ray is not installed (pip install 'ipcbench[ray]')"
    return None


class Cluster:
    def __init__(self, scratch: Path) -> None:
        tag = os.getpid() % 100000
        self.head, self.worker = f"ipcbh{tag}", f"ipcbw{tag}"
        self.head_link, self.worker_link = f"ipcbvh{tag}", f"ipcbvw{tag}"
        self.scratch = scratch
        self.address = f"{HEAD_IP}:{PORT}"
        self.env = dict(os.environ)
        self.env.update(HEALTH)
        self.env.update(
            PYTHONPATH=os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
            RAY_AUTH_MODE="token",
            RAY_AUTH_TOKEN=secrets.token_hex(16),
            RAY_USAGE_STATS_ENABLED="0",
        )
        self.nodes: dict[str, subprocess.Popen] = {}

    # -- the hosts ----------------------------------------------------------------------------

    def start(self) -> None:
        self._network()
        self._node(self.head, HEAD_IP, ["--head", f"--port={PORT}", "--include-dashboard=false"])
        self._node(self.worker, WORKER_IP, [f"--address={self.address}"])

    def _network(self) -> None:
        ip = ["ip"]
        steps = [
            ["netns", "add", self.head],
            ["netns", "add", self.worker],
            ["link", "add", self.head_link, "type", "veth", "peer", "name", self.worker_link],
            ["link", "set", self.head_link, "netns", self.head],
            ["link", "set", self.worker_link, "netns", self.worker],
        ]
        for namespace, link, address in (
            (self.head, self.head_link, HEAD_IP),
            (self.worker, self.worker_link, WORKER_IP),
        ):
            steps += [
                ["-n", namespace, "addr", "add", f"{address}/{PREFIX_LENGTH}", "dev", link],
                ["-n", namespace, "link", "set", "lo", "up"],
                ["-n", namespace, "link", "set", link, "up"],
            ]
        for step in steps:
            subprocess.run(ip + step, check=True, capture_output=True)

    def _node(self, namespace: str, address: str, options: list[str]) -> None:
        log = self.scratch / f"{namespace}.log"
        command = [
            "ip", "netns", "exec", namespace, sys.executable, "-m", "ray.scripts.scripts",
            "start", "--block", f"--node-ip-address={address}", "--num-cpus=2",
            f"--object-store-memory={80 << 20}", "--disable-usage-stats",
            f"--temp-dir={self.scratch / namespace}", *options,
        ]  # fmt: skip
        # Ray's processes are the hosts' machinery, not code under test: not traced by coverage.
        env = {key: value for key, value in self.env.items() if not key.startswith("COVERAGE_")}
        with open(log, "w") as stream:
            self.nodes[namespace] = subprocess.Popen(
                command, stdout=stream, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + START_TIMEOUT
        while "block forever" not in log.read_text():
            if self.nodes[namespace].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ray start in {namespace} failed:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)

    def wait_for_nodes(self, count: int) -> None:
        script = (
            "import ray, time\n"
            f"ray.init(address={self.address!r}, logging_level='ERROR', log_to_driver=False)\n"
            f"while sum(n['Alive'] for n in ray.nodes()) != {count}: time.sleep(0.2)\n"
        )
        self.on_head([sys.executable, "-c", script], timeout=START_TIMEOUT, check=True)

    def kill_worker_node(self) -> None:
        """The worker host dies: every process in its namespace is killed at once."""
        self._kill_all(self.worker)

    def stop(self) -> None:
        """End every process in both namespaces, delete them (and so the veth pair)."""
        for namespace in (self.worker, self.head):
            self._kill_all(namespace)
        for process in self.nodes.values():
            process.wait(timeout=10)
        for namespace in (self.head, self.worker):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)

    def _kill_all(self, namespace: str) -> None:
        for _ in range(50):
            listed = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True)
            pids = [int(word) for word in listed.stdout.split()]
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)

    # -- on the hosts ---------------------------------------------------------------------------

    def on_head(self, command: list[str], timeout: float = 300, check: bool = False, env=None):
        completed = subprocess.run(
            ["ip", "netns", "exec", self.head, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env or self.env,
        )
        if check and completed.returncode != 0:
            raise AssertionError(f"{command} exited {completed.returncode}:\n{completed.stderr}")
        return completed

    def ipcbench(self, *args, **options):
        return self.on_head([sys.executable, "-m", "ipcbench", *map(str, args)], **options)

    def start_ipcbench(self, *args) -> subprocess.Popen:
        return subprocess.Popen(
            ["ip", "netns", "exec", self.head, sys.executable, "-m", "ipcbench", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )

    def veth_bytes(self) -> int:
        """Bytes sent plus received on the head's end of the veth pair so far."""
        shown = subprocess.run(
            ["ip", "-n", self.head, "-j", "-s", "link", "show", "dev", self.head_link],
            capture_output=True,
            text=True,
            check=True,
        )
        stats = json.loads(shown.stdout)[0]["stats64"]
        return stats["rx"]["bytes"] + stats["tx"]["bytes"]

    def worker_processes(self, word: str) -> list[int]:
        """Processes on the worker host whose command line holds `word`."""
        listed = subprocess.run(["ip", "netns", "pids", self.worker], capture_output=True)
        found = []
        for pid in listed.stdout.split():
            try:
                if word.encode() in Path(f"/proc/{int(pid)}/cmdline").read_bytes():
                    found.append(int(pid))
            except OSError:
                continue
        return found
