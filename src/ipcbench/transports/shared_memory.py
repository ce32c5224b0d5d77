"""`shared_memory`: a multiprocessing.shared_memory.SharedMemory segment per direction.

Each segment is a ring of message slots guarded by a free and a filled semaphore (slot_ring.py),
as in shared_array. By default the reader copies each message out into its own buffer (receive
mode "copy"), the same work as every other transport's receiver; `shared_memory_inplace` hands
the reader a view of the slot itself (receive mode "view", valid until the next recv), so a
payload is copied once per hop: into the segment by the writer.

The parent creates and unlinks the segments; a spawn or forkserver child attaches by name.
"""

from multiprocessing.shared_memory import SharedMemory

from ipcbench.children import start_resource_tracker
from ipcbench.lifeline import segment_name
from ipcbench.transports.base import Transport, start_serving, undo_on_error
from ipcbench.transports.slot_ring import RingEndpoint, release, ring_bytes, slot_count


class Ring:
    """One direction: a segment holding the ring of slots, and its two semaphores."""

    def __init__(self, memory: SharedMemory, free, filled) -> None:
        self.memory, self.free, self.filled = memory, free, filled

    @classmethod
    def create(cls, ctx, capacity: int) -> "Ring":
        # Random, so concurrent benchmarks never collide; prefixed with the creator's pid, so a
        # segment left by a killed process can be told apart and swept (lifeline.py).
        memory = SharedMemory(create=True, size=ring_bytes(capacity), name=segment_name())
        return cls(memory, ctx.Semaphore(slot_count(capacity)), ctx.Semaphore(0))

    def __reduce__(self):
        return _attach, (self.memory.name, self.free, self.filled)

    def destroy(self) -> None:
        """Unmap and unlink the segment (its creator's job)."""
        self.memory.close()
        self.memory.unlink()


def _attach(name: str, free, filled) -> Ring:
    # In a spawn or forkserver child. Attaching registers the segment with the resource tracker
    # again, but the child shares the parent's tracker, which keeps a set of names: the parent's
    # unlink unregisters it once for both. (Unregistering here, the usual advice for unrelated
    # processes, would make that later unregister fail inside the tracker.)
    return Ring(SharedMemory(name=name), free, filled)


class SharedMemoryEndpoint(RingEndpoint):
    def __init__(self, outgoing: Ring, incoming: Ring, capacity: int, receive: str, owner=False):
        super().__init__(outgoing, incoming, capacity, receive)
        self.owner = owner  # the owner (the parent) unlinks the segments

    def buffer(self, ring: Ring) -> memoryview:
        return ring.memory.buf

    def let_go(self) -> None:
        # The parent's copy of the child's side shares the parent's segments: only its views
        # go (they would keep the segments mapped).
        release(self.send, self.recv)

    def close_channel(self) -> None:
        self.release_calls()
        for ring in (self.outgoing, self.incoming):
            try:
                ring.memory.close()
            except BufferError:
                pass  # a caller still holds a received view: the mapping goes when the view does
            if self.owner:
                try:
                    ring.memory.unlink()
                except FileNotFoundError:
                    pass  # closed before
        self.owner = False


class SharedMemoryTransport(Transport):
    name = "shared_memory"
    summary = "SharedMemory ring per direction + semaphores; copied in and out"
    receive = "copy"
    in_default_matrix = False

    def open(self, ctx, capacity, child_cpus):
        # SharedMemory registers its segments with the resource tracker, starting it on first
        # use (under fork the worker has not started it yet).
        start_resource_tracker()
        with undo_on_error() as undo:
            to_child = Ring.create(ctx, capacity)
            undo.callback(to_child.destroy)
            to_parent = Ring.create(ctx, capacity)
            undo.callback(to_parent.destroy)
            parent = SharedMemoryEndpoint(to_child, to_parent, capacity, self.receive, owner=True)
        child_side = SharedMemoryEndpoint(to_parent, to_child, capacity, self.receive)
        return start_serving(ctx, parent, child_side, child_cpus)


class SharedMemoryInplace(SharedMemoryTransport):
    name = "shared_memory_inplace"
    summary = "shared_memory read in place: recv() is a view of the slot (no copy out)"
    receive = "view"
