"""The transport contract.

A transport knows how to make one channel between the benchmark process and a child, and nothing
else: no timing, no statistics, no CLI. `open()` returns the parent's endpoint with the child
already started (through `ctx`) and serving `ipcbench.child.serve` on its own endpoint.

An endpoint moves whole messages:
    send(data)   data is any bytes-like object; the call returns once the transport has it
    recv()       the next whole message, bytes-like, valid until the next recv()
    metadata     optional: a dict of facts about the channel recorded with each cell's figures
                 (e.g. ring_slots), set once the channel is open
    fixed_calls(size)  optional: (send, recv) for messages of exactly `size` bytes, which both
                 sides know, so a byte stream needs no framing for them (the timed loops' bytes
                 payloads; see ipcbench.child). Both ends of a channel must agree on having it.
    send_frames(frames), recv_frames()  optional: a list of bytes-like frames as one message (a
                 pickle and its out-of-band buffers); built on send/recv where missing, and the
                 wire format is the same either way (see transports/frames.py)
    send_object(obj), recv_object()  optional: the mechanism's own object API (Queue.put,
                 Connection.send); pickle over send/recv where missing (payloads.object_calls)
    close()      release everything the transport made: child joined, fds closed, shared memory
                 unlinked, manager servers shut down; safe to call twice and after errors
"""

import time
from typing import ClassVar, Protocol

from ipcbench import child

MP_METHODS = ("fork", "spawn", "forkserver")

# What a transport's recv() hands over:
#   copy       bytes the receiver owns (its own buffer or object), whatever the mechanism did
#   view       in place, in shared or the sender's memory, valid until the next message
#   reference  the very object sent: no second process, nothing crosses a process boundary
RECEIVE_MODES = ("copy", "view", "reference")

# The payload kinds (ipcbench.payloads.KINDS) a transport carries unless it says otherwise.
# pickle5 puts a pickle's out-of-band buffers on the byte path as frames of their own: that
# needs a byte path that moves the bytes as they are, which a queue (it pickles whatever it is
# given, a frame too) and an in-process hand-over (no bytes move at all) have not.
KINDS = ("bytes", "pickle", "numpy", "ndarray", "pickle5")
# Those of queues and in-process hand-overs: every kind but pickle5.
QUEUE_KINDS = ("bytes", "pickle", "numpy", "ndarray")

# How long a child may take to leave after it was told to (or its channel closed) before it is
# terminated: generous for a loaded machine, short enough that a hung child costs little.
CHILD_EXIT_GRACE = 2.0


class Endpoint(Protocol):
    def send(self, data) -> None: ...
    def recv(self): ...
    def close(self) -> None: ...


class Transport:
    """Base class of all adapters; subclasses set the class attributes and implement open()."""

    name: ClassVar[str]
    summary: ClassVar[str]
    methods: ClassVar[tuple[str, ...]] = MP_METHODS
    max_size: ClassVar[int | None] = None  # largest message the mechanism can carry, if limited
    # Whether a plain `run` (no -t) includes it; `-t all` runs every available transport.
    in_default_matrix: ClassVar[bool] = True
    # The patterns it takes part in. fanin needs open_fanin(): one channel, many writers.
    patterns: ClassVar[tuple[str, ...]] = ("pingpong", "stream", "startup")
    # Largest message that several writers can send at once without interleaving, if limited.
    fanin_max_size: ClassVar[int | None] = None
    # The payload kinds it carries (see KINDS above and ipcbench.payloads).
    kinds: ClassVar[tuple[str, ...]] = KINDS
    # What recv() hands over (RECEIVE_MODES); rankings compare like with like. Adapters that do
    # not say are taken to deliver copies.
    receive: ClassVar[str] = "copy"
    # Helper processes the channel starts besides the child (a manager's server): they run on
    # the child's CPUs (`child_cpus`), and their CPU time counts with the child's.
    helpers: ClassVar[tuple[str, ...]] = ()
    # Whether open_peer() can put the child on another node of a Ray cluster (`run --peer`).
    crosses_hosts: ClassVar[bool] = False

    def open(self, ctx, capacity: int, child_cpus: set[int] | None) -> Endpoint:
        """Start the child and return the parent's endpoint for messages up to `capacity` bytes.

        `ctx` is `multiprocessing.get_context(method)` (None for exec and in-process transports);
        `child_cpus` is the CPU set the child (and any helper process) must run on, or None.
        """
        raise NotImplementedError

    def open_peer(self, peer, capacity: int) -> Endpoint:
        """open(), with the child on another node: `peer` is an ipcbench.cluster.Peer, which
        starts it there (`peer.start_child`) and says which of this host's addresses faces it."""
        raise NotImplementedError

    def open_fanin(self, ctx, capacity: int, helper_cpus: set[int] | None) -> Endpoint:
        """One channel that many processes may `send` into at once and this process `recv`s.

        The endpoint is passed to each producer process as it starts (so it must pickle for
        spawn and forkserver); `close()` releases what it made. No child is started here;
        a helper process (a manager's server) runs on `helper_cpus`.
        """
        raise NotImplementedError

    @classmethod
    def size_limit(cls, pattern: str) -> int | None:
        """The largest payload of a cell of `pattern`, or None."""
        limits = [cls.max_size, cls.fanin_max_size if pattern == "fanin" else None]
        limits = [limit for limit in limits if limit is not None]
        return min(limits) if limits else None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why this transport cannot run here (a missing optional package, ...), or None."""
        return None

    @classmethod
    def available(cls) -> bool:
        return cls.unavailable_reason() is None


def start_child(ctx, child_endpoint, child_cpus):
    """Start `child.serve(child_endpoint)` as a daemon process of `ctx`; return the process."""
    process = ctx.Process(
        target=child.serve, args=(child_endpoint, child_cpus), name="ipcbench-child", daemon=True
    )
    process.start()
    return process


def stop_process(process) -> None:
    """Join a child that was asked to exit; terminate, then kill, one that does not."""
    stop_processes([process])


def stop_processes(processes) -> None:
    """stop_process for several children at once: they share each grace period."""
    _join_all(processes, CHILD_EXIT_GRACE)
    for process in processes:
        if process.is_alive():
            process.terminate()
    _join_all(processes, CHILD_EXIT_GRACE)
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()
        if hasattr(process, "close"):
            process.close()


def _join_all(processes, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
