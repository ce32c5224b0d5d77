"""`run`'s options beyond one machine: --cluster, --peer, --each-node, --nodes.

Checked in the manager like any flag (one line, exit 2): the cluster must answer and accept this
client's token, and every node named must be a live node of it. Only then are cells planned. A
worker gets the cluster's address on its command line (`worker_arguments`).
"""

import os

from ipcbench.errors import UsageError
from ipcbench.peers import LOCAL, parse_peer


def add_arguments(parser) -> None:
    group = parser.add_argument_group(
        "beyond one machine (a Ray cluster: pip install 'ipcbench[ray]'; run on one of its nodes)"
    )
    group.add_argument(
        "--cluster", metavar="HOST:PORT", help="the Ray cluster's address, e.g. 10.0.0.1:6379"
    )
    group.add_argument(
        "--peer",
        metavar="NODE",
        help="run each cell's child on this node of the cluster (its IP address; a comma-"
        "separated list, `local` for this host): tcp, zmq_tcp, remote_manager, ray_*",
    )
    group.add_argument(
        "--each-node",
        action="store_true",
        help="run the selection on every node of the cluster, one result file per node in -o DIR",
    )
    group.add_argument(
        "--nodes", metavar="A,B", help="like --each-node, on these nodes (IP addresses) only"
    )


def is_fleet(args) -> bool:
    return bool(args.each_node or args.nodes)


def check(args) -> None:
    """Refuse combinations that mean nothing; connect to the cluster if one is named."""
    needs_cluster = [
        flag for flag, given in (("--peer", args.peer), ("--each-node", args.each_node)) if given
    ] + (["--nodes"] if args.nodes else [])
    if needs_cluster and not args.cluster:
        raise UsageError(f"{needs_cluster[0]} needs --cluster HOST:PORT (the Ray cluster)")
    if is_fleet(args):
        if args.each_node and args.nodes:
            raise UsageError("--each-node and --nodes cannot be combined: choose one")
        for flag, given in (("--peer", args.peer), ("--resume", args.resume)):
            if given:
                raise UsageError(
                    f"{flag} cannot be combined with a fleet run (--each-node/--nodes)"
                )
        if args.append_path:
            raise UsageError("--append cannot be combined with a fleet run (--each-node/--nodes)")
    if args.cluster:
        connect(args.cluster)
        # pyperf starts workers with a minimal environment: they need the cluster's token
        # (RAY_AUTH_MODE, RAY_AUTH_TOKEN...) and Ray's settings to join it as this process did.
        ray_variables = [name for name in os.environ if name.startswith("RAY_")]
        args.inherit_environ = [*(args.inherit_environ or []), *ray_variables]


def connect(address: str) -> None:
    from ipcbench import cluster

    cluster.use(address)
    try:
        cluster.connect(address)
    except cluster.ClusterError as error:
        raise UsageError(str(error)) from None


def node_list(text: str, flag: str) -> tuple[str, ...]:
    """Live nodes named in a comma-separated flag value (`local` allowed where `flag` is --peer)."""
    from ipcbench import cluster

    names = tuple(dict.fromkeys(item.strip() for item in text.split(",") if item.strip()))
    if not names:
        raise UsageError(f"{flag}: empty list")
    for name in names:
        if name == LOCAL:
            if flag == "--peer":
                continue
            raise UsageError(f"{flag} takes nodes' IP addresses, not {LOCAL}")
        try:
            parse_peer(name)
            cluster.alive_node(name)
        except (ValueError, cluster.ClusterError) as error:
            raise UsageError(f"{flag}: {error}") from None
    return names


def peers(args) -> tuple[str, ...] | None:
    """The peer axis of the selection, or None for the default (local)."""
    return node_list(args.peer, "--peer") if args.peer else None


def check_resume(cells, args) -> None:
    """A file's cross-host cells need the cluster again."""
    remote = [cell.name for cell in cells if cell.peer != LOCAL]
    if remote and not args.cluster:
        raise UsageError(
            f"{remote[0]} (and {len(remote) - 1} more) runs its child on another node: "
            "give --cluster HOST:PORT to resume"
        )
    for peer in sorted({cell.peer for cell in cells if cell.peer != LOCAL}):
        node_list(peer, "--peer")


def worker_arguments(cmd: list[str], args) -> None:
    if args.cluster:
        cmd.append(f"--cluster={args.cluster}")


def in_worker(args) -> None:
    """In a worker: channels that need the cluster connect to the run's."""
    if args.cluster:
        from ipcbench import cluster

        cluster.use(args.cluster)
