"""`mmap_file`: an mmap of a file, a ring of message slots per direction, semaphores to signal.

The file lives in a private temporary directory (mode 0700) under the temp dir (a file system,
not /dev/shm: this is the mmap-a-file recipe). It is unlinked, and its directory removed, as soon
as the parent has opened it, before the child starts: the child gets the open file itself (a
duplicated fd, or the inherited mapping under fork), so not even a SIGKILL can leave it behind.

Each direction is a ring of slots (a length, then the payload), so a stream keeps several
messages in flight: the writer waits on `free` (slots the reader has finished with), fills the
next slot and posts `filled`; the reader waits on `filled`, copies the payload out and posts
`free`. Every process keeps its own ring positions: one writer and one reader per direction.
"""

import mmap
import os
import shutil
import struct
import tempfile
from multiprocessing import reduction

from ipcbench.transports.base import ChildEndpoint, Transport, start_serving, undo_on_error
from ipcbench.transports.peer import check_peer

LENGTH = struct.Struct("<Q")
ALIGN = 64  # slots start on cache lines: the two sides' writes never share one
# About this many bytes of slots per direction (at least 2, at most 8 slots): enough messages in
# flight for a stream without mapping hundreds of MiB for 16 MiB payloads.
RING_BYTES = 4 << 20
MAX_SLOTS = 8
# How often a waiting side looks whether the other is still alive: a dead child fails the cell
# with a reason instead of leaving it to the cell timeout, and an orphan leaves.
POLL_SECONDS = 1.0


def slot_count(capacity: int) -> int:
    return max(2, min(MAX_SLOTS, RING_BYTES // max(capacity, 1)))


class Ring:
    """One direction: where its slots start in the mapping, and its two semaphores."""

    def __init__(self, ctx, offset: int, slots: int, stride: int) -> None:
        self.offset, self.slots, self.stride = offset, slots, stride
        self.free, self.filled = ctx.Semaphore(slots), ctx.Semaphore(0)

    def __getstate__(self):
        return self.offset, self.slots, self.stride, self.free, self.filled

    def __setstate__(self, state) -> None:
        self.offset, self.slots, self.stride, self.free, self.filled = state


class MmapEndpoint(ChildEndpoint):
    child_first = True  # a spawned child attaches to the semaphores as it starts

    def __init__(self, fd, size, outgoing: Ring, incoming: Ring, capacity: int, parent_pid=None):
        self.size, self.outgoing, self.incoming, self.capacity = size, outgoing, incoming, capacity
        # Made in the parent (the child's side too, before it starts): who the parent is.
        self.parent_pid = parent_pid or os.getpid()
        try:
            self.map = mmap.mmap(fd, size)  # MAP_SHARED: both processes see the same pages
        except BaseException:
            os.close(fd)  # the endpoint owns fd: a failed open must not leak it
            raise
        self._fd = fd  # the child's side keeps it until the child has started (to duplicate it)
        self.send = _sender(self, outgoing, capacity)
        self.recv = _receiver(self, incoming, capacity)

    def close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def close_channel(self) -> None:
        self.close_fd()
        if not self.map.closed:
            self.map.close()

    def __reduce__(self):
        # A spawn or forkserver child gets the open file itself: it has no name any more.
        fd = reduction.DupFd(self._fd)
        args = (fd, self.size, self.outgoing, self.incoming, self.capacity, self.parent_pid)
        return _attach, args

    def check_peer(self) -> None:
        """Raise EOFError if the other side is gone; called only when a wait times out."""
        check_peer(self.process, self.parent_pid)


def _attach(fd, size, outgoing, incoming, capacity, parent_pid) -> MmapEndpoint:
    endpoint = MmapEndpoint(fd.detach(), size, outgoing, incoming, capacity, parent_pid)
    endpoint.close_fd()  # the mapping holds the file open
    return endpoint


def _wait(acquire, endpoint: MmapEndpoint) -> None:
    while not acquire(True, POLL_SECONDS):
        endpoint.check_peer()


def _sender(endpoint: MmapEndpoint, ring: Ring, capacity: int):
    view, pack_into, start = endpoint.map, LENGTH.pack_into, LENGTH.size
    acquire, release, slots = ring.free.acquire, ring.filled.release, ring.slots
    offsets = [ring.offset + index * ring.stride for index in range(slots)]
    position = 0

    def send(data) -> None:
        nonlocal position
        size = len(data)
        if size > capacity:
            raise ValueError(f"a {size}-byte message exceeds the {capacity}-byte slot")
        if not acquire(False):  # the common case: a free slot, no timed wait to set up
            _wait(acquire, endpoint)
        offset = offsets[position]
        pack_into(view, offset, size)
        view[offset + start : offset + start + size] = data
        position = (position + 1) % slots
        release()

    return send


def _receiver(endpoint: MmapEndpoint, ring: Ring, capacity: int):
    view, unpack_from, start = endpoint.map, LENGTH.unpack_from, LENGTH.size
    acquire, release, slots = ring.filled.acquire, ring.free.release, ring.slots
    offsets = [ring.offset + index * ring.stride for index in range(slots)]
    position = 0

    def recv() -> bytes:
        nonlocal position
        if not acquire(False):
            _wait(acquire, endpoint)
        offset = offsets[position]
        (length,) = unpack_from(view, offset)
        if length > capacity:
            raise ValueError(f"corrupt slot: length {length} exceeds the capacity")
        message = view[offset + start : offset + start + length]  # slicing an mmap copies
        position = (position + 1) % slots
        release()  # the copy is ours: the slot can be reused at once
        return message

    return recv


class MmapFile(Transport):
    name = "mmap_file"
    summary = "mmap of a (private, unlinked) temp file: a ring of slots per direction + semaphores"
    # recv copies the payload out of the mapping (an mmap slice is a new bytes object), so the
    # writer may reuse the slot at once and the caller owns what it got.
    receive = "copy"
    in_default_matrix = False

    def open(self, ctx, capacity, child_cpus):
        slots = slot_count(capacity)
        stride = -(-(LENGTH.size + capacity) // ALIGN) * ALIGN
        to_child = Ring(ctx, 0, slots, stride)
        to_parent = Ring(ctx, slots * stride, slots, stride)
        size = 2 * slots * stride
        with undo_on_error() as undo:
            child_side = MmapEndpoint(_unlinked_file(size), size, to_parent, to_child, capacity)
            undo.callback(child_side.close)
            parent = MmapEndpoint(os.dup(child_side._fd), size, to_child, to_parent, capacity)
        parent.close_fd()  # its mapping holds the file
        return start_serving(ctx, parent, child_side, child_cpus)


def _unlinked_file(size: int) -> int:
    """An open fd of a `size`-byte file whose name and private directory are already gone."""
    directory = tempfile.mkdtemp(prefix="ipcbench-mmap-")  # mode 0700: only this user
    try:
        path = os.path.join(directory, "ring")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, size)
        except BaseException:
            os.close(fd)
            raise
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return fd
