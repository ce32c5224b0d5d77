"""The child side of every transport: one protocol, one serving loop, one entry point.

This module is imported by spawn and forkserver children (and run as `python -m ipcbench.child`
by exec-based transports), so it imports only the standard library.

The parent drives the child with small command messages sent on the same channel as the payloads:
    b"pingpong N"        echo the next N messages back unchanged
    b"pingpong N LEN"    the same, for N messages of exactly LEN bytes
    b"stream N LEN FIRST"  take the next N messages, check each one's length (LEN) and stamp
                         (FIRST, FIRST + 1, ...; see stamp_struct), then send one ack:
                         ACK + b" COUNT FOLD", the number of messages and the sum of their stamps
    b"digest N"          take the next N messages, reply with a BLAKE2b digest of their contents
    b"cputime"           reply with this process's CPU time so far (user + system, seconds)
    b"exit"              stop serving
Where the endpoint has `fixed_calls(LEN)`, the messages of a "pingpong N LEN" or "stream N LEN
FIRST" go through calls for that size alone, into one buffer of that size: over a byte stream
(os_pipe, subprocess_pipe) without framing, as both sides know their size, while commands, acks
and digests stay framed; through a shared-memory ring without lengths; through mp_pipe's
Connection as usual. The child answers such a command with READY before the first message may
come: the parent waits for it, so nothing of the timed loop is read ahead with the command, and
the child reads its messages one per call (transports/framing.py, slot_ring.py, mp_pipe.py).
A trailing b" objects" makes the child receive and send that command's messages (the ack too)
through the endpoint's object calls (object_calls below) instead of its byte path; a trailing
b" frames", through pickle protocol 5 with out-of-band buffers in frames of their own
(transports/frames.py).
Every payload of a timed loop carries a stamp, its message number: bytes payloads in their first
(up to) 8 bytes, in the machine's byte order; objects as (stamp, object) pairs. The stream ack
is an error
(b"E" and the reason) when a message had the wrong length or an unexpected stamp, so a transport
that truncates, pads, drops, reorders or replays fails its cell instead of yielding a number. A
stream that lost messages ends at the last stamp instead of waiting for messages never coming.
"""

import ctypes  # here, not in each child: a forked child would pay ~3 ms to import it
import hashlib
import os
import signal
import struct
import sys
import time
from multiprocessing import BufferTooShort

ACK = b"\x06"
READY = b"ready"
# The trailing words that make a command's messages objects, and the calls that carry them.
OBJECT_MODES = (b"objects", b"frames")
ERROR = b"E"
DIGEST_SIZE = 16
# Objects carry their stamp as a Python int: no width limit.
OBJECT_STAMP_MASK = (1 << 64) - 1
# In the machine's byte order (both sides run on it): the sender can then write a stamp through a
# memoryview cast to integers, cheaper than a struct call.
_STAMP_FORMATS = ((8, "=Q"), (4, "=I"), (2, "=H"), (1, "=B"))


def stamp_struct(size: int) -> struct.Struct | None:
    """The stamp at the start of a `size`-byte payload: the widest of 8, 4, 2, 1 bytes that fits."""
    for width, fmt in _STAMP_FORMATS:
        if size >= width:
            return struct.Struct(fmt)
    return None  # an empty payload carries no stamp


def stamp_mask(stamp: struct.Struct | None) -> int:
    """Message numbers are stamped modulo this + 1."""
    return (1 << (8 * stamp.size)) - 1 if stamp is not None else 0


def stream_ack(count: int, first: int, mask: int) -> bytes:
    """The ack a child sends after `count` messages stamped first, first + 1, ... (masked)."""
    if mask == OBJECT_STAMP_MASK or first + count - 1 <= mask:  # no wrap: a closed form
        total = count * first + count * (count - 1) // 2
    else:  # tiny payloads: stamps wrap around
        total = sum((first + number) & mask for number in range(count))
    return ACK + b" %d %d" % (count, total)


class StopServing(Exception):
    """The parent asked the child to exit."""


def _object_stamp_and_length(message) -> tuple[int, int]:
    return message[0], len(message[1])


def _bytes_stamp_reader(stamp: struct.Struct | None):
    if stamp is None:
        return lambda message: (0, len(message))
    unpack_from = stamp.unpack_from

    def stamp_and_length(message) -> tuple[int, int]:
        return unpack_from(message)[0], len(message)

    return stamp_and_length


class ChildProtocol:
    """The child's state machine: `handle(message)` returns the replies to send, in order.

    Written as a state machine (not a blocking loop) so that the in-process `null` transport can
    run exactly the same child logic without a second process.
    """

    def __init__(self) -> None:
        self.handle = self._command
        self._remaining = 0
        # How the current command's messages travel as objects (OBJECT_MODES), or None: bytes.
        self.objects = None
        self.fixed_size = None  # the current command's messages' size, where both sides know it

    def _command(self, message) -> tuple:
        words = bytes(message).split()
        objects = words.pop() if words and words[-1] in OBJECT_MODES else None
        try:
            verb, numbers = words[0], [int(word) for word in words[1:]]
        except (IndexError, ValueError):
            return (ERROR + b"bad command " + bytes(message)[:40],)
        if verb == b"exit":
            raise StopServing
        if verb == b"cputime":
            return (repr(time.process_time()).encode(),)
        if verb == b"pingpong" and len(numbers) in (1, 2):
            self._remaining, self.handle = numbers[0], self._echo
            self.fixed_size = numbers[1] if len(numbers) == 2 else None
        elif verb == b"stream" and len(numbers) == 3:
            self._start_stream(*numbers, objects)
        elif verb == b"digest" and len(numbers) == 1:
            self._remaining, self._digest = numbers[0], hashlib.blake2b(digest_size=DIGEST_SIZE)
            self.handle = self._hash
        else:
            return (ERROR + b"bad command " + bytes(message)[:40],)
        self.objects = objects
        return ()

    def _echo(self, message) -> tuple:
        self._remaining -= 1
        if not self._remaining:
            self._done()
        return (message,)

    def _start_stream(self, count: int, size: int, first: int, objects: bytes | None) -> None:
        self._remaining, self._size, self._expected = count, size, first
        self.fixed_size = None if objects else size
        self._count = self._fold = self._bad_length = self._bad_stamp = 0
        if objects:
            self._mask = OBJECT_STAMP_MASK
            self._stamp_and_length = _object_stamp_and_length
        else:
            stamp = stamp_struct(size)
            self._mask = stamp_mask(stamp)
            self._stamp_and_length = _bytes_stamp_reader(stamp)
        self._unpack_from = stamp.unpack_from if not objects and stamp is not None else None
        self._last = (first + count - 1) & self._mask
        self.handle = self._stream

    def _stream(self, message) -> tuple:
        """One streamed message: check it; after the last one, the ack."""
        stamp, length = self._stamp_and_length(message)
        self._count += 1
        self._fold += stamp
        if length != self._size:
            self._bad_length += 1
        expected = self._expected & self._mask
        self._expected += 1
        if stamp != expected:
            self._bad_stamp += 1
            if stamp == self._last:  # messages went missing: this was the last one sent
                self._remaining = 1
        self._remaining -= 1
        if self._remaining:
            return ()
        self._reply = self._stream_ack()
        return (self._reply,)

    def stream_batch(self, recv) -> bytes:
        """All of a stream's messages in tight loops (a child process's fast path): the ack.

        The same checks as _stream. The child's per-message cost is what a stream of small
        messages measures, so 8-byte-stamped bytes first go through a loop that only compares
        each message with what it must be; the stamps' sum is then the sequence's, by
        construction. The first message that differs, and all after it, take the full
        accounting below.
        """
        unpack_from, size = self._unpack_from, self._size
        if unpack_from is not None and self._mask == OBJECT_STAMP_MASK:
            first = self._expected
            mismatch = _first_mismatch(recv, first, self._remaining, unpack_from, size)
            if mismatch is None:
                self._count, self._remaining = self._remaining, 0
                self._fold = self._count * first + self._count * (self._count - 1) // 2
                return self._stream_ack()
            expected, message = mismatch
            self._count = expected - first
            self._fold = self._count * first + self._count * (self._count - 1) // 2
            self._expected, self._remaining = expected, first + self._remaining - expected
            self._stream(message)  # counts it, and ends the stream if it was the last
            if self.handle != self._stream:  # that message ended the stream
                return self._reply
        stamp_and_length, mask, last = self._stamp_and_length, self._mask, self._last
        expected, remaining = self._expected, self._remaining
        count, fold = self._count, self._fold
        bad_length, bad_stamp = self._bad_length, self._bad_stamp
        while remaining:
            stamp, length = stamp_and_length(recv())
            count += 1
            fold += stamp
            if length != size:
                bad_length += 1
            if stamp != expected & mask:
                bad_stamp += 1
                if stamp == last:
                    remaining = 1
            expected += 1
            remaining -= 1
        self._count, self._fold, self._remaining = count, fold, 0
        self._bad_length, self._bad_stamp = bad_length, bad_stamp
        return self._stream_ack()

    def _stream_ack(self) -> bytes:
        self._done()
        if self._bad_length:
            return ERROR + b"%d of the streamed messages had the wrong length" % self._bad_length
        if self._bad_stamp:
            return ERROR + (
                b"%d of %d streamed messages carried the wrong stamp "
                b"(lost, reordered, duplicated or stale)" % (self._bad_stamp, self._count)
            )
        return ACK + b" %d %d" % (self._count, self._fold)

    def take_all(self) -> int:
        """End the current echo at once; return how many messages it was to echo."""
        remaining, self._remaining = self._remaining, 0
        self._done()
        return remaining

    def _hash(self, message) -> tuple:
        self._digest.update(len(message).to_bytes(8, "little"))
        self._digest.update(message)
        self._remaining -= 1
        if self._remaining:
            return ()
        self._done()
        return (self._digest.digest(),)

    def _done(self) -> None:
        self.handle, self.objects = self._command, None


def _first_mismatch(recv, first: int, count: int, unpack_from, size: int):
    """(number, message) of the first of `count` messages, numbered from `first`, whose 8-byte
    stamp or length is not what it must be; None if all are right."""
    buffer = getattr(recv, "buffer", None)
    if buffer is not None:  # a fixed receiver's (framing.py, slot_ring.py, mp_pipe.py)
        readinto, rest = recv.readinto, recv.rest
        stamp = memoryview(buffer)[:8].cast("Q")  # read in place: cheaper than unpack_from
        try:
            for expected in range(first, first + count):
                got = readinto(buffer)
                if got != size:
                    message = rest(got)  # the whole message: a pipe's may come in pieces
                    if len(message) != size:
                        return expected, message
                if stamp[0] != expected:
                    return expected, buffer
        except BufferTooShort as error:  # a Connection's message too long for the buffer
            return expected, error.args[0]
        return None
    for expected in range(first, first + count):
        message = recv()
        if unpack_from(message)[0] != expected or len(message) != size:
            return expected, message
    return None


def object_calls(endpoint):
    """(send_object, recv_object): the endpoint's own object API, or pickle over bytes."""
    send_object = getattr(endpoint, "send_object", None)
    if send_object is not None:
        return send_object, endpoint.recv_object
    import pickle

    send, recv, dumps, loads = endpoint.send, endpoint.recv, pickle.dumps, pickle.loads

    def send_pickled(obj) -> None:
        send(dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    def recv_pickled():
        return loads(recv())

    return send_pickled, recv_pickled


def serve(endpoint, cpus=None) -> None:
    """The child process's entry point: pin, then answer the parent until told to exit."""
    prepare_child(cpus)
    answer(endpoint)


def answer(endpoint) -> None:
    """Answer the parent's commands on `endpoint` until told to exit or the channel closes,
    then close it: serve's loop, for any thread (thread_queue's serving thread runs it too)."""
    from ipcbench.transports.frames import oob_object_calls

    protocol = ChildProtocol()
    recv, send = endpoint.recv, endpoint.send
    calls = {None: (recv, send)}
    for mode, make_calls in zip(OBJECT_MODES, (object_calls, oob_object_calls), strict=True):
        send_object, recv_object = make_calls(endpoint)
        calls[mode] = (recv_object, send_object)
    fixed_calls = getattr(endpoint, "fixed_calls", None)
    try:
        while True:
            # The mode is read before the message arrives: it holds for its replies too.
            receive, reply = calls[protocol.objects]
            fixed = protocol.fixed_size is not None and fixed_calls is not None
            if fixed and protocol.handle in (protocol._echo, protocol._stream):
                fixed_send, fixed_receive = fixed_calls(protocol.fixed_size)
                send(READY)  # framed; after it, the parent's messages are read one by one
            if protocol.handle == protocol._echo:
                # A tight loop, no state machine per message: a round trip of small messages
                # measures this process's per-message cost too.
                if fixed:
                    reply, receive = fixed_send, fixed_receive
                for _ in range(protocol.take_all()):
                    reply(receive())
            elif protocol.handle == protocol._stream:
                reply(protocol.stream_batch(fixed_receive if fixed else receive))  # the ack: framed
            else:
                for message in protocol.handle(receive()):
                    reply(message)
    except StopServing:
        pass
    except (EOFError, OSError, KeyboardInterrupt):
        # The parent went away or was interrupted: nothing left to serve, nothing to report.
        pass
    finally:
        endpoint.close()


def idle(cpus=None) -> None:
    """startup/process's child: take its CPU and end. What it costs is the process itself."""
    if cpus:
        os.sched_setaffinity(0, cpus)


def prepare_child(cpus=None) -> None:
    """Pin to `cpus` and die with the parent, so a killed benchmark never leaves an orphan."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    _die_with_parent()
    # Ctrl-C reaches the whole process group; the parent decides what happens, the child just ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked child inherits the parent's handlers; SIGTERM must simply end it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # The parent started this process with both held (see ipcbench.stopping): release them.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    PR_SET_PDEATHSIG = 1
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    # A parent that died before the signal was armed sends none: this process was already
    # handed to init (or a subreaper), so its parent changed. Nothing is left to serve.
    if os.getppid() != parent or parent == 1:
        os._exit(1)


def main(argv=None) -> int:
    """`python -m ipcbench.child --stdio ...`: serve over stdin/stdout (exec transports)."""
    import argparse

    from ipcbench.transports.framing import FdStream

    parser = argparse.ArgumentParser(prog="python -m ipcbench.child")
    parser.add_argument("--stdio", action="store_true", required=True)
    parser.add_argument("--cpus", default="")
    parser.add_argument("--capacity", type=int, required=True)
    args = parser.parse_args(argv)
    cpus = {int(cpu) for cpu in args.cpus.split(",") if cpu}
    # The payload channel is fd 0/1; anything printed by accident must not corrupt it.
    stdin, stdout = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    serve(FdStream(stdin, stdout, args.capacity), cpus or None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
