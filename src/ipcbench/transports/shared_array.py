"""`shared_array`: a multiprocessing RawArray per direction, a ring of message slots in each.

The writer copies a message into the next free slot and the reader copies it out into its own
buffer (slot_ring.py): the data really crosses through shared memory both ways, one copy in and
one copy out, and a stream keeps writer and reader busy at once. `shared_array_inplace` is the
variant whose reader works on the slot itself (receive mode "view").
"""

from ipcbench.transports.base import Transport, start_serving
from ipcbench.transports.slot_ring import RingEndpoint, ring_bytes, slot_count


class Ring:
    """One direction: the ring's memory and its free/filled semaphores."""

    def __init__(self, ctx, capacity: int) -> None:
        self.array = ctx.RawArray("B", ring_bytes(capacity))
        self.free, self.filled = ctx.Semaphore(slot_count(capacity)), ctx.Semaphore(0)

    def __getstate__(self):
        return self.array, self.free, self.filled

    def __setstate__(self, state) -> None:
        self.array, self.free, self.filled = state


class SharedArrayEndpoint(RingEndpoint):
    def __init__(self, outgoing: Ring, incoming: Ring, capacity: int, receive: str) -> None:
        self.views = []  # of the arrays: released at close, or they keep the memory alive
        super().__init__(outgoing, incoming, capacity, receive)

    def buffer(self, ring: Ring) -> memoryview:
        self.views.append(memoryview(ring.array).cast("B"))
        return self.views[-1]

    def close_channel(self) -> None:
        # The arrays go with the last reference; a child that missed the exit command waits on
        # a semaphore until it is stopped.
        self.release_calls()
        for view in self.views:
            try:
                view.release()
            except BufferError:
                pass  # a caller still holds a received view: the memory goes when it does


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
