"""Run an ipcbench command on two test hosts made on this machine (root, iproute2, ray).

    python bench/two_hosts.py run --cluster {cluster} --peer {peer} -t tcp -o results/x.json

Makes two network namespaces joined by a veth pair, a Ray head node in one (10.213.0.1) and a
worker node in the other (10.213.0.2), runs `python -m ipcbench ARGS` on the head's host with
`{cluster}` and `{peer}` replaced by the head's address and the worker's IP, then tears it all
down (the same hosts as tests/test_cluster.py). The committed cross-host example was made so.
Relative paths are taken from the current directory.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from netns_cluster import WORKER_IP, Cluster, unavailable  # noqa: E402


def main(argv: list[str]) -> int:
    reason = unavailable()
    if reason:
        print(f"two_hosts: {reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="ipcbr") as scratch:
        cluster = Cluster(Path(scratch))
        try:
            cluster.start()
            words = [word.format(cluster=cluster.address, peer=WORKER_IP) for word in argv]
            command = ["ip", "netns", "exec", cluster.head, sys.executable, "-m", "ipcbench"]
            return subprocess.run(command + words, env=cluster.env).returncode
        finally:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
