"""A ring of message slots in shared memory, one direction, guarded by two counting semaphores.

Each slot holds a payload, its length apart at the start of the ring (so that every payload
starts on a cache line, and a page-sized one on a page, as a raw ring's would). The writer
waits for a free slot (`free`, starts at the number of slots), copies the message in and posts
`filled`; the reader waits for `filled`, takes the message and hands the slot back. With several
slots the writer fills the next slot while the reader still copies out the previous one: a
stream does not wait for every hand-over, as it would through a single slot (which halved or
worse what a 1 MiB stream moved). Messages whose size both sides know (fixed_calls) leave the
lengths alone: their cache line, written by one side and read by the other, cost round trips
2-8% against a raw ring (bench/fidelity.py).

How the reader takes a message is the transport's receive mode (Transport.receive):
    copy  copied out into the reader's own buffer, the slot handed back at once
    view  a view of the slot itself, handed back only at the next recv() (valid until then)
"""

import struct

from ipcbench.transports.base import ChildEndpoint

LENGTH = struct.Struct("Q")  # native: both sides are on this machine
# Slots start on cache-line boundaries: a writer and a reader never share a line.
ALIGN = 64
PAGE = 4096
# More slots absorb more jitter; two already let writer and reader overlap. Rings of large
# slots stay within a memory budget (per direction).
MAX_SLOTS = 4
MAX_RING_BYTES = 64 << 20


def slot_stride(capacity: int) -> int:
    return max(ALIGN, -(-capacity // ALIGN) * ALIGN)


def slot_count(capacity: int) -> int:
    return max(2, min(MAX_SLOTS, MAX_RING_BYTES // slot_stride(capacity)))


def _lengths_size(capacity: int) -> int:
    """The lengths of all slots, before the first slot: a cache line, or a page where the slots
    are whole pages (so that they stay page-aligned)."""
    unit = PAGE if slot_stride(capacity) % PAGE == 0 else ALIGN
    return -(-(LENGTH.size * slot_count(capacity)) // unit) * unit


def ring_bytes(capacity: int) -> int:
    """How much shared memory one direction's ring needs."""
    return _lengths_size(capacity) + slot_count(capacity) * slot_stride(capacity)


def _lengths(buffer: memoryview, slots: int) -> memoryview:
    """The slots' lengths as integers: an item access costs a third of a struct call."""
    return buffer[: LENGTH.size * slots].cast("Q")


def ring_sender(buffer: memoryview, capacity: int, free, filled):
    """send(data) into the ring in `buffer` (a writable byte view of ring_bytes(capacity))."""
    stride, slots = slot_stride(capacity), slot_count(capacity)
    acquire, release, base = free.acquire, filled.release, _lengths_size(capacity)
    lengths = _lengths(buffer, slots)
    index = 0

    def send(data) -> None:
        nonlocal index
        size = len(data)
        if size > capacity:
            raise ValueError(f"a {size}-byte message exceeds the {capacity}-byte slot")
        offset = base + index * stride
        acquire()  # the reader has handed this slot back
        lengths[index] = size
        buffer[offset : offset + size] = data
        release()
        index = (index + 1) % slots

    def fixed(size: int):
        """send(data) of messages of exactly `size` bytes, which the reader knows: no length,
        as in a hand-written ring. Same cursor as send(): the ring is filled in order."""

        def send_fixed(data) -> None:
            nonlocal index
            offset = base + index * stride
            acquire()
            try:
                buffer[offset : offset + size] = data
            except ValueError:  # costs nothing until raised; the channel is done for
                raise ValueError(
                    f"a {len(data)}-byte message through the calls for {size}-byte messages"
                ) from None
            release()
            index = (index + 1) % slots

        return send_fixed

    send.release = lengths.release  # see release()
    send.fixed = fixed
    return send


def ring_receiver(buffer: memoryview, capacity: int, free, filled, receive: str = "copy"):
    """recv() from the ring in `buffer`, in the receive mode `receive` (copy or view)."""
    stride, slots = slot_stride(capacity), slot_count(capacity)
    acquire, release, base = filled.acquire, free.release, _lengths_size(capacity)
    lengths = _lengths(buffer, slots)
    own = memoryview(bytearray(capacity)) if receive == "copy" else None
    index = 0
    holding = False  # view mode: whether the previous message's slot is still lent out

    # take() is written out in both: a call per message costs what a small stream measures.
    message = own[:0] if own is not None else None

    def recv_copy() -> memoryview:
        nonlocal index, message
        acquire()
        length = lengths[index]
        offset = base + index * stride
        index = (index + 1) % slots
        if length > capacity:
            raise ValueError(f"corrupt slot: length {length} exceeds the capacity")
        if length != len(message):  # the payloads of a timed loop all have one length
            message = own[:length]
        message[:] = buffer[offset : offset + length]
        release()
        return message

    def recv_view() -> memoryview:
        nonlocal index, holding
        if holding:
            holding = False
            release()  # the previous view is no longer valid: the writer may reuse its slot
        acquire()
        length = lengths[index]
        offset = base + index * stride
        index = (index + 1) % slots
        if length > capacity:
            raise ValueError(f"corrupt slot: length {length} exceeds the capacity")
        holding = True
        return buffer[offset : offset + length]

    def fixed(size: int):
        """readinto(target) of the next message, of exactly `size` bytes (send.fixed's), into
        `target`; returns `size`. Same cursor as recv()."""

        def readinto(target) -> int:
            nonlocal index
            offset = base + index * stride
            acquire()
            target[:] = buffer[offset : offset + size]
            release()
            index = (index + 1) % slots
            return size

        return readinto

    recv = recv_copy if receive == "copy" else recv_view
    recv.release = lengths.release  # see release()
    recv.fixed = fixed
    return recv


def fixed_calls(send, recv, size: int):
    """(send, recv) for messages of exactly `size` bytes, which both sides know: no lengths in
    the ring, as in a hand-written one, and a sender that refuses any other length. recv()
    copies into one reused buffer (valid until the next recv) and has the attributes of
    framing.fixed_receiver: child.py's stream loop reads into `buffer` with `readinto` and
    checks each stamp in place, with no Python call of its own per message (a call and a
    struct unpack per message cost ~80 ns, single-process, of a 4 KiB message's ~1 µs)."""
    readinto = recv.fixed(size)
    buffer = memoryview(bytearray(size))

    def recv_fixed():
        readinto(buffer)
        return buffer

    recv_fixed.buffer, recv_fixed.readinto = buffer, readinto
    recv_fixed.rest = lambda got: buffer  # never called: readinto takes a whole message
    return send.fixed(size), recv_fixed


def release(*calls) -> None:
    """Let the shared memory go: a view derived from it, even one held on in a closure that
    someone else still references (a Channel), would keep the segment mapped. After this, the
    calls fail (ValueError) instead of touching memory that is gone."""
    for call in calls:
        if call is not None:
            call.release()


class RingEndpoint(ChildEndpoint):
    """One end of a channel of two rings (to and from the other process), each a ring object
    with `free` and `filled` semaphores; a subclass says where a ring's memory is (buffer())."""

    # A spawned child attaches to the rings' memory and semaphores as it starts: see ChildEndpoint.
    child_first = True

    def __init__(self, outgoing, incoming, capacity: int, receive: str) -> None:
        self.outgoing, self.incoming, self.capacity = outgoing, incoming, capacity
        self.receive = receive
        out_buffer, in_buffer = self.buffer(outgoing), self.buffer(incoming)
        self.send = ring_sender(out_buffer, capacity, outgoing.free, outgoing.filled)
        self.recv = ring_receiver(in_buffer, capacity, incoming.free, incoming.filled, receive)
        self.metadata = {"ring_slots": slot_count(capacity)}
        if receive == "copy":  # a view of the slot has no reused buffer to read into
            self.fixed_calls = self._fixed_calls
            self._fixed = {}

    def _fixed_calls(self, size: int):
        """(send, recv) for messages of exactly `size` bytes (see base.py and fixed_calls)."""
        calls = self._fixed.get(size)
        if calls is None:
            calls = self._fixed[size] = fixed_calls(self.send, self.recv, size)
        return calls

    def buffer(self, ring) -> memoryview:
        """A writable byte view of the ring's memory (ring_bytes(capacity) long)."""
        raise NotImplementedError

    def release_calls(self) -> None:
        release(self.send, self.recv)
        self.send = self.recv = None  # they hold views of the rings' memory
        self._fixed = {}

    def child_args(self) -> tuple:
        return self.outgoing, self.incoming, self.capacity, self.receive
