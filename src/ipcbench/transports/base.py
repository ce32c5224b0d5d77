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
                 sides know, so a byte stream needs no framing for them and a receiver can
                 read into one buffer of that size (the timed loops' bytes payloads; see
                 ipcbench.child). Both ends of a channel must agree on having it.
    send_frames(frames), recv_frames()  optional: a list of bytes-like frames as one message (a
                 pickle and its out-of-band buffers); built on send/recv where missing, and the
                 wire format is the same either way (see transports/frames.py)
    send_object(obj), recv_object()  optional: the mechanism's own object API (Queue.put,
                 Connection.send); pickle over send/recv where missing (child.object_calls)
    close()      release everything the transport made: child joined, fds closed, shared memory
                 unlinked, manager servers shut down; safe to call twice and after errors

The built-in adapters share the child's life through ChildEndpoint and start_serving (below):
a transport file then holds only what its mechanism needs. Third-party adapters may use them,
or write open() and close() themselves with start_child and stop_process.
"""

import contextlib
from typing import ClassVar, Protocol

from ipcbench.children import CHILD_EXIT_GRACE, start_child, stop_process

# The names third-party adapters import from here (see the README's "Adding a transport").
__all__ = [
    "CHILD_EXIT_GRACE",
    "MP_METHODS",
    "RECEIVE_MODES",
    "KINDS",
    "QUEUE_KINDS",
    "ChildEndpoint",
    "Endpoint",
    "Transport",
    "start_child",
    "start_serving",
    "stop_process",
    "undo_on_error",
]

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
    # The patterns it takes part in. A transport that implements open_fanin() takes part in
    # fanin too (it is added here for it); others never do.
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

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # Carrying several writers is implementing open_fanin: the pattern follows from it.
        if cls.open_fanin is not Transport.open_fanin and "fanin" not in cls.patterns:
            cls.patterns = (*cls.patterns, "fanin")

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


class ChildEndpoint:
    """An endpoint of a channel with a child at the other end: it owns that child's life.

    `process` is the child serving the other end (None on the child's own side, and for
    channels without a child of their own, such as fan-in's). close() closes the channel first,
    so that a child that missed the exit command reads EOF and leaves at once, then stops the
    child (join, terminate, kill); it is safe to call twice and after any error.

    Channels made of resources that a starting child attaches to when it unpickles its end
    (named semaphores, shared memory, a manager's server) set `child_first`: a spawned child
    may still be starting when an error or Ctrl-C closes the channel, and would fail to attach
    to what was released under it; closing such a channel gives the child no EOF anyway.

    Subclasses implement close_channel(), and child_args(): the constructor arguments of the
    same endpoint in the child (it pickles as that: the process handle stays here).
    """

    process = None
    # The class of the child's copy, where it is not this one (it leaves something here).
    child_type: ClassVar[type | None] = None
    # Stop the child before releasing the channel (see above).
    child_first: ClassVar[bool] = False

    def close_channel(self) -> None:
        """Release what this process holds of the channel (idempotent)."""
        raise NotImplementedError

    def child_args(self) -> tuple:
        raise NotImplementedError

    def let_go(self) -> None:
        """Once the child started with the other end: drop this process's copy of it (the
        child holds its own, inherited or passed). By default that is closing it."""
        self.close_channel()

    def close(self) -> None:
        if self.child_first:
            self._stop()
        try:
            self.close_channel()
        finally:
            self._stop()

    def _stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            self.stop_child(process)

    def stop_child(self, process) -> None:
        stop_process(process)

    def __reduce__(self):
        return self.child_type or type(self), self.child_args()


def start_serving(ctx, parent: ChildEndpoint, child_side, child_cpus) -> ChildEndpoint:
    """Start the child serving `child_side`; `parent` owns it from then on and is returned.

    This process lets go of the child's side whatever happens (`let_go()` where it has one, else
    `close()`); if the start fails, the parent's side is closed too: a failed open leaves
    nothing behind.
    """
    try:
        parent.process = start_child(ctx, child_side, child_cpus)
    except BaseException:
        parent.close()
        raise
    finally:
        getattr(child_side, "let_go", child_side.close)()
    return parent


@contextlib.contextmanager
def undo_on_error():
    """An ExitStack whose callbacks run only if the block fails: what an open() made so far is
    released, in reverse order; on success the block's result keeps everything."""
    with contextlib.ExitStack() as undo:
        yield undo
        undo.pop_all()
