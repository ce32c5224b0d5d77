"""`shared_array`: a multiprocessing RawArray per direction, a ring of message slots in each.

The writer copies a message into the next free slot and the reader copies it out into its own
buffer (slot_ring.py): the data really crosses through shared memory both ways, one copy in and
one copy out, and a stream keeps writer and reader busy at once. `shared_array_inplace` is the
variant whose reader works on the slot itself (receive mode "view").
"""

from ipcbench.transports.base import ChildEndpoint, Transport, start_serving
from ipcbench.transports.slot_ring import (
    release,
    ring_bytes,
    ring_receiver,
    ring_sender,
    slot_count,
)


class Ring:
    """One direction: the ring's memory and its free/filled semaphores."""

    def __init__(self, ctx, capacity: int) -> None:
        self.array = ctx.RawArray("B", ring_bytes(capacity))
        self.free, self.filled = ctx.Semaphore(slot_count(capacity)), ctx.Semaphore(0)

    def __getstate__(self):
        return self.array, self.free, self.filled

    def __setstate__(self, state) -> None:
        self.array, self.free, self.filled = state


class SharedArrayEndpoint(ChildEndpoint):
    child_first = True  # a spawned child attaches to the arrays and semaphores as it starts

    def __init__(self, outgoing: Ring, incoming: Ring, capacity: int, receive: str) -> None:
        self.outgoing, self.incoming, self.capacity = outgoing, incoming, capacity
        self.receive = receive
        self._out_view = memoryview(outgoing.array).cast("B")
        self._in_view = memoryview(incoming.array).cast("B")
        self.send = ring_sender(self._out_view, capacity, outgoing.free, outgoing.filled)
        self.recv = ring_receiver(self._in_view, capacity, incoming.free, incoming.filled, receive)
        self.metadata = {"ring_slots": slot_count(capacity)}

    def close_channel(self) -> None:
        # The arrays go with the last reference; a child that missed the exit command waits on
        # a semaphore until it is stopped.
        release(self.send, self.recv)
        self.send = self.recv = None  # they hold views of the arrays
        for view in (self._out_view, self._in_view):
            try:
                view.release()
            except BufferError:
                pass  # a caller still holds a received view: the memory goes when it does

    def child_args(self) -> tuple:
        return self.outgoing, self.incoming, self.capacity, self.receive


class SharedArray(Transport):
    name = "shared_array"
    summary = "multiprocessing RawArray ring per direction + two semaphores; copied in and out"
    receive = "copy"

    def open(self, ctx, capacity, child_cpus):
        to_child, to_parent = Ring(ctx, capacity), Ring(ctx, capacity)
        parent = SharedArrayEndpoint(to_child, to_parent, capacity, self.receive)
        child_side = SharedArrayEndpoint(to_parent, to_child, capacity, self.receive)
        return start_serving(ctx, parent, child_side, child_cpus)


class SharedArrayInplace(SharedArray):
    name = "shared_array_inplace"
    summary = "shared_array read in place: recv() is a view of the slot (no copy out)"
    receive = "view"
    in_default_matrix = False
