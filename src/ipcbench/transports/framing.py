"""Whole messages over a byte stream (pipes, stdin/stdout): a 4-byte length, then the payload.

Reads go through a BufferedReader so a burst of small messages costs one system call, while a
large payload is read straight into the receive buffer; writes are one `writev` of header and
payload, looped only if the kernel takes part of it.
"""

import os
import struct
from multiprocessing import reduction

HEADER = struct.Struct("<I")


class FdStream:
    """A framed endpoint over a read fd and a write fd that it owns and closes."""

    def __init__(self, rfd: int, wfd: int, capacity: int) -> None:
        self.rfd, self.wfd, self.capacity = rfd, wfd, capacity
        self._reader = open(rfd, "rb", buffering=1 << 16, closefd=False)
        self._buffer = memoryview(bytearray(capacity))
        self._header = memoryview(bytearray(HEADER.size))

    def send(self, data) -> None:
        header = HEADER.pack(len(data))
        written = os.writev(self.wfd, (header, data))
        if written < HEADER.size + len(data):
            # Rare (a signal arrived mid-write): finish the message; the copy is off the fast path.
            rest = memoryview(header + bytes(data))[written:]
            while rest:
                rest = rest[os.write(self.wfd, rest) :]

    def recv(self) -> memoryview:
        self._read_exactly(self._header)
        (length,) = HEADER.unpack(self._header)
        if length > self.capacity:
            raise ValueError(
                f"framing error: a {length}-byte message exceeds the {self.capacity}"
                "-byte capacity (corrupt stream?)"
            )
        payload = self._buffer[:length]
        self._read_exactly(payload)
        return payload

    def _read_exactly(self, view: memoryview) -> None:
        readinto = self._reader.readinto
        while view:
            count = readinto(view)
            if not count:
                raise EOFError("the other side closed the stream")
            view = view[count:]

    def close(self) -> None:
        if self._reader.closed:
            return  # already closed: the fd numbers may name someone else's files by now
        self._reader.close()
        for fd in {self.rfd, self.wfd}:
            os.close(fd)

    def __reduce__(self):
        # A raw fd number means nothing in a spawned or forkserver child (it may name /dev/null
        # there): DupFd hands the open file itself to the child being started.
        return _rebuild, (reduction.DupFd(self.rfd), reduction.DupFd(self.wfd), self.capacity)


def _rebuild(rfd, wfd, capacity: int) -> FdStream:
    return FdStream(rfd.detach(), wfd.detach(), capacity)
