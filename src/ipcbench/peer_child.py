"""`python -m ipcbench.peer_child`: the child of a cross-host cell, on the peer node.

Started by remote_child.Launcher with, on its stdin, a pickle of what to connect to (a connect
function of the cell's transport and its arguments: the parent's address and the cell's secret)
and the CPUs to run on. Its stdin is a pipe from the launcher, which got it from the parent
through the cluster: nothing here comes from the channel itself. It pins itself, dies with the
launcher, connects (the transport's handshake proves the secret both ways), then serves the usual
child loop. A failure to connect ends it with one line on stderr, which the parent reports.
"""

import pickle
import sys

from ipcbench import child


def main() -> int:
    spec, cpus = pickle.load(sys.stdin.buffer)
    connect, args = pickle.loads(spec)
    child.prepare_child(cpus)
    try:
        endpoint = connect(*args)
    except Exception as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    child.serve(endpoint, cpus)
    return 0


if __name__ == "__main__":
    sys.exit(main())
