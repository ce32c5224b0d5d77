"""The peer axis of the matrix: where a cell's child runs.

`local` (the default, left out of cell names) is this host. Away from it (`run --peer NODE`, a
node of the Ray cluster by its IP address) the child is a new interpreter started on that node
(remote_child.py), hence the one start method of such cells; only transports that can cross
hosts (`crosses_hosts`) take part, in the patterns whose timing needs no shared clock: round
trips and acked streams.
"""

from ipcbench.cell import LOCAL, parse_peer

__all__ = ["LOCAL", "parse_peer", "peer_notes", "peers_and_methods", "runs_alone"]

PEER_METHODS = ("exec",)
# Transports that bring Ray into the worker that times them (see runs_alone).
RAY_TRANSPORTS = ("ray_actor", "ray_object")


def runs_alone(cell) -> bool:
    """Cells that bring Ray into their worker (its threads, or a private Ray node whose processes
    are the worker's children) get a worker of their own: the cells after them in a batch would
    count Ray's background CPU time as theirs."""
    return cell.peer != LOCAL or cell.transport in RAY_TRANSPORTS


def peer_patterns() -> tuple[str, ...]:
    """The patterns cross-host cells run: the message loops (round trips and acked streams,
    whose timing needs no clock shared between hosts)."""
    from ipcbench import benches

    return benches.message_loops()


def _crosses_hosts(pattern, subject) -> bool:
    return pattern.name in peer_patterns() and getattr(subject, "crosses_hosts", False)


def peers_and_methods(pattern, subject, selection, all_methods):
    """(peer, start method) pairs of a subject: cross-host cells start their child by exec."""
    for peer in selection.peers:
        if peer != LOCAL and not _crosses_hosts(pattern, subject):
            continue
        methods = subject.methods if peer == LOCAL else PEER_METHODS
        for method in selection.methods or all_methods:
            if method in methods:
                yield peer, method


def peer_notes(selection, transports) -> list[str]:
    if selection.peers == (LOCAL,):
        return []
    notes = []
    local_only = [t.name for t in transports if not getattr(t, "crosses_hosts", False)]
    if local_only:
        notes.append(f"cross-host cells (--peer) skip {', '.join(local_only)}: local only")
    others = [p for p in selection.patterns if p not in peer_patterns()]
    if others:
        notes.append(
            f"cross-host cells are {' and '.join(peer_patterns())}: {', '.join(others)} "
            "run locally only"
        )
    if selection.methods and not set(selection.methods) & set(PEER_METHODS):
        notes.append(
            "cross-host cells start their child as a new interpreter on the peer "
            f"(method {', '.join(PEER_METHODS)}), which is not selected"
        )
    return notes
