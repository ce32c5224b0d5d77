"""`shared_memory`: a multiprocessing.shared_memory.SharedMemory slot per direction + semaphores.

Each direction is a one-message slot (a length, then the payload) guarded by an empty and a full
semaphore, as in shared_array; the difference is the receiving side. recv() returns a view of the
slot itself, with no copy out (the message stays valid until the next recv, as the contract
allows), and the slot is handed back to the writer only when the reader asks for the next message.
So a payload is copied once per hop: into the segment by the writer.

The parent creates and unlinks the segments; a spawn or forkserver child attaches by name.
"""

import signal
import struct
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory

from ipcbench.lifeline import segment_name
from ipcbench.transports.base import Transport, start_child, stop_process

LENGTH = struct.Struct("<Q")


class Slot:
    """One direction: a segment holding a length and the payload, and its two semaphores."""

    def __init__(self, memory: SharedMemory, empty, full) -> None:
        self.memory, self.empty, self.full = memory, empty, full

    @classmethod
    def create(cls, ctx, capacity: int) -> "Slot":
        # Random, so concurrent benchmarks never collide; prefixed with the creator's pid, so a
        # segment left by a killed process can be told apart and swept (lifeline.py).
        memory = SharedMemory(create=True, size=LENGTH.size + capacity, name=segment_name())
        return cls(memory, ctx.Semaphore(1), ctx.Semaphore(0))

    def __reduce__(self):
        return _attach, (self.memory.name, self.empty, self.full)


def _attach(name: str, empty, full) -> Slot:
    # In a spawn or forkserver child. Attaching registers the segment with the resource tracker
    # again, but the child shares the parent's tracker, which keeps a set of names: the parent's
    # unlink unregisters it once for both. (Unregistering here, the usual advice for unrelated
    # processes, would make that later unregister fail inside the tracker.)
    return Slot(SharedMemory(name=name), empty, full)


class SharedMemoryEndpoint:
    def __init__(self, outgoing: Slot, incoming: Slot, capacity: int, owner=False, process=None):
        self.outgoing, self.incoming, self.capacity = outgoing, incoming, capacity
        self.owner, self.process = owner, process  # the owner (the parent) unlinks the segments
        self.send = _sender(outgoing, capacity)
        self.recv = _receiver(incoming, capacity)

    def close(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        for slot in (self.outgoing, self.incoming):
            try:
                slot.memory.close()
            except BufferError:
                pass  # a caller still holds a received view: the mapping goes when the view does
            if self.owner:
                try:
                    slot.memory.unlink()
                except FileNotFoundError:
                    pass  # closed before
        self.owner = False

    def __reduce__(self):
        return SharedMemoryEndpoint, (self.outgoing, self.incoming, self.capacity)


def _sender(slot: Slot, capacity: int):
    view, pack_into = slot.memory.buf, LENGTH.pack_into
    acquire, release = slot.empty.acquire, slot.full.release
    start = LENGTH.size

    def send(data) -> None:
        size = len(data)
        if size > capacity:
            raise ValueError(f"a {size}-byte message exceeds the {capacity}-byte slot")
        acquire()  # the reader has moved on from the previous message
        pack_into(view, 0, size)
        view[start : start + size] = data
        release()

    return send


def _receiver(slot: Slot, capacity: int):
    view, unpack_from = slot.memory.buf, LENGTH.unpack_from
    acquire, release = slot.full.acquire, slot.empty.release
    start = LENGTH.size
    holding = False  # whether the previous message's slot is still lent to the caller

    def recv() -> memoryview:
        nonlocal holding
        if holding:
            holding = False
            release()  # the previous view is no longer valid: the writer may overwrite it
        acquire()
        holding = True
        (length,) = unpack_from(view, 0)
        if length > capacity:
            raise ValueError(f"corrupt slot: length {length} exceeds the capacity")
        return view[start : start + length]

    return recv


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker without releasing the caller's held signals.

    SharedMemory registers its segments with the tracker and starts it on first use, and starting
    it unblocks SIGINT and SIGTERM, which the worker holds while it starts children (see
    ipcbench.stopping; under spawn and forkserver the worker already started it, not under fork).
    """
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    resource_tracker.ensure_running()
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)


class SharedMemoryTransport(Transport):
    name = "shared_memory"
    summary = "SharedMemory slot per direction + semaphores; copied in, received in place"
    in_default_matrix = False

    def open(self, ctx, capacity, child_cpus):
        _start_resource_tracker()
        to_child = Slot.create(ctx, capacity)
        try:
            to_parent = Slot.create(ctx, capacity)
        except BaseException:
            to_child.memory.close()
            to_child.memory.unlink()
            raise
        parent = SharedMemoryEndpoint(to_child, to_parent, capacity, owner=True)
        try:
            parent.process = start_child(
                ctx, SharedMemoryEndpoint(to_parent, to_child, capacity), child_cpus
            )
        except BaseException:
            parent.close()
            raise
        return parent
