"""`shared_array`: a multiprocessing RawArray per direction, handed over with two semaphores.

Each direction is a one-message slot: the writer waits until the slot is empty, copies the payload
in and posts "full"; the reader waits for "full", copies the payload out and posts "empty". The
data really crosses through shared memory both ways, one copy in and one copy out.
"""

import struct

from ipcbench.transports.base import Transport, start_child, stop_process

LENGTH = struct.Struct("<Q")


class Slot:
    """One direction: a length, the payload bytes, and the empty/full semaphores."""

    def __init__(self, ctx, capacity: int) -> None:
        self.array = ctx.RawArray("B", LENGTH.size + capacity)
        self.empty, self.full = ctx.Semaphore(1), ctx.Semaphore(0)

    def __getstate__(self):
        return self.array, self.empty, self.full

    def __setstate__(self, state) -> None:
        self.array, self.empty, self.full = state


class SharedArrayEndpoint:
    def __init__(self, outgoing: Slot, incoming: Slot, process=None) -> None:
        self.outgoing, self.incoming, self.process = outgoing, incoming, process
        capacity = len(incoming.array) - LENGTH.size
        self._out_view = memoryview(outgoing.array).cast("B")
        self._in_view = memoryview(incoming.array).cast("B")
        self._buffer = memoryview(bytearray(capacity))

    def send(self, data) -> None:
        slot, view = self.outgoing, self._out_view
        slot.empty.acquire()
        LENGTH.pack_into(view, 0, len(data))
        view[LENGTH.size : LENGTH.size + len(data)] = data
        slot.full.release()

    def recv(self) -> memoryview:
        slot, view = self.incoming, self._in_view
        slot.full.acquire()
        (length,) = LENGTH.unpack_from(view, 0)
        if length > len(self._buffer):
            raise ValueError(f"corrupt slot: length {length} exceeds the capacity")
        message = self._buffer[:length]
        message[:] = view[LENGTH.size : LENGTH.size + length]
        slot.empty.release()
        return message

    def close(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        self._out_view.release()
        self._in_view.release()

    def __reduce__(self):
        return SharedArrayEndpoint, (self.outgoing, self.incoming)


class SharedArray(Transport):
    name = "shared_array"
    summary = "multiprocessing RawArray per direction + two semaphores; copied in and out"

    def open(self, ctx, capacity, child_cpus):
        to_child, to_parent = Slot(ctx, capacity), Slot(ctx, capacity)
        process = start_child(ctx, SharedArrayEndpoint(to_parent, to_child), child_cpus)
        return SharedArrayEndpoint(to_child, to_parent, process)
