"""Whole messages over a byte stream (pipes, stdin/stdout): a 4-byte length, then the payload.

Messages whose size both sides know (a timed loop's payloads: `fixed_calls`) go without the
header: the bytes alone, read one per call into a reused buffer, as a hand-written loop would.

Framed reads go through a BufferedReader (READ_BUFFER), so a small message (header and
payload) costs one system call and a large payload is read straight into a reused receive buffer
(BufferedReader's read and readinto return less than asked only at the end of the stream).
A small message is written with one os.write of header + payload; a large one with writev, which
saves copying the payload.
"""

import functools
import os
import struct
from multiprocessing import reduction

from ipcbench.transports.frames import framed_pieces

HEADER = struct.Struct("<I")
# Up to this size, copying header and payload into one write is cheaper than a writev.
SMALL_MESSAGE = 8192
# The BufferedReader's buffer. A read of more than this goes straight into the caller's buffer;
# one of at most this much is copied out of it. With 64 KiB every 64 KiB message was copied
# once more on each side: pingpong at 64 KiB measured 1.16x a raw loop, 1.05x with 8 KiB
# (bench/fidelity.py). Small messages still share one system call.
READ_BUFFER = 8192


class FdStream:
    """A framed endpoint over a read fd and a write fd that it owns and closes."""

    def __init__(self, rfd: int, wfd: int, capacity: int) -> None:
        self.rfd, self.wfd, self.capacity = rfd, wfd, capacity
        self._reader = open(rfd, "rb", buffering=READ_BUFFER, closefd=False)
        # send and recv are closures over their state: this is the hot path of every round
        # trip, and attribute lookups would cost more than the system calls' Python overhead.
        self.send = _sender(wfd)
        self.send_frames = _frames_sender(wfd)
        self.recv = framed_receiver(self._reader, capacity)
        self._fixed = {}

    def fixed_calls(self, size: int):
        """(send, recv) for messages of exactly `size` bytes: no header (see ipcbench.child)."""
        calls = self._fixed.get(size)
        if calls is None:
            calls = self._fixed[size] = (
                _fixed_sender(self.wfd),
                fixed_receiver(self._reader, size),
            )
        return calls

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


def _sender(wfd: int):
    write, writev, pack = os.write, os.writev, HEADER.pack

    def send(data) -> None:
        size = len(data)
        if size <= SMALL_MESSAGE:
            written = write(wfd, pack(size) + data)
        else:
            written = writev(wfd, (pack(size), data))
        if written < HEADER.size + size:
            _write_rest(wfd, (pack(size), data), written)

    return send


def _frames_sender(wfd: int):
    """send_frames (see transports/frames.py): all frames, each framed, in one os.writev."""
    writev = os.writev

    def send_frames(frames) -> None:
        pieces = framed_pieces(frames, HEADER)
        written = writev(wfd, pieces)
        if written < sum(map(len, pieces)):
            _write_rest(wfd, pieces, written)

    return send_frames


def _write_rest(wfd: int, pieces, written: int) -> None:
    # Rare (a signal arrived mid-write): finish the message, off the fast path.
    for rest in unsent(pieces, written):
        while rest:
            rest = rest[os.write(wfd, rest) :]


def unsent(pieces, done: int):
    """What is left of `pieces` (bytes-like) once their first `done` bytes went out."""
    for piece in pieces:
        piece = memoryview(piece).cast("B")
        if done >= len(piece):
            done -= len(piece)
            continue
        yield piece[done:]
        done = 0


def _fixed_sender(wfd: int):
    # An unbuffered file's write, no Python frame around it: a small stream's sender pays for
    # every call, and this C method costs ~30 ns less per call than partial(os.write, wfd).
    # A blocking pipe takes the whole message; only a signal handler running mid-write could
    # cut it short, and then the receiver's length and stamp checks fail the cell, loudly.
    return open(wfd, "wb", buffering=0, closefd=False).write


def fixed_receiver(reader, size: int):
    """recv() of exactly `size` bytes into one reused buffer (valid until the next recv).

    One read of the pipe per message, as a hand-written loop does, and never past the message.
    A reader that takes whatever is waiting into a buffer empties the pipe sooner, sleeps, and
    has to be woken by the writer's next message: 64 B and 4 KiB streams measured 1.2x a raw
    loop that way, and jumped between two speeds from one pair of processes to the next
    (bench/fidelity.py). The buffer of `reader` is empty here: a fixed-size phase starts only
    once the child said it is ready (ipcbench.child), and these reads never fill it.
    """
    readinto = reader.raw.readinto
    buffer = memoryview(bytearray(size))

    def recv():
        got = readinto(buffer)
        if got != size:
            _rest_of(readinto, buffer, got)
        return buffer

    # For a loop that reads without a Python call per message (child.py): into `buffer`
    # with `readinto`, and when that returned less than `size`, `rest(got)` (the whole message).
    recv.buffer, recv.readinto = buffer, readinto
    recv.rest = functools.partial(_rest_of, readinto, buffer)
    return recv


def _rest_of(readinto, buffer, got: int) -> memoryview:
    # A message of more than PIPE_BUF bytes may come in pieces.
    while got < len(buffer):
        more = readinto(buffer[got:])
        if not more:
            raise EOFError("the other side closed the channel mid-message")
        got += more
    return buffer


def framed_receiver(reader, capacity: int):
    """recv() over a buffered binary reader (a pipe's or a socket's): one whole message."""
    read, readinto, unpack = reader.read, reader.readinto, HEADER.unpack
    buffer = memoryview(bytearray(capacity))

    def recv():
        header = read(HEADER.size)
        if len(header) != HEADER.size:
            raise EOFError("the other side closed the channel")
        (length,) = unpack(header)
        if length > capacity:
            raise ValueError(
                f"framing error: a {length}-byte message exceeds the {capacity}-byte capacity "
                "(corrupt data?)"
            )
        if length <= SMALL_MESSAGE:  # a fresh small bytes object is cheaper than a view
            payload = read(length)
            received = len(payload)
        else:  # large payloads land in the reused buffer, no allocation
            payload = buffer[:length]
            received = readinto(payload)
        if received != length:
            raise EOFError("the other side closed the channel mid-message")
        return payload

    return recv
