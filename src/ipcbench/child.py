"""The child side of every transport: one protocol, one serving loop, one entry point.

This module is imported by spawn and forkserver children (and run as `python -m ipcbench.child`
by exec-based transports), so it imports only the standard library.

The parent drives the child with small command messages sent on the same channel as the payloads:
    b"pingpong N"        echo the next N messages back unchanged
    b"stream N LEN"      take the next N messages, check each has len() LEN, then send one ack
    b"digest N"          take the next N messages, reply with a BLAKE2b digest of their contents
    b"cputime"           reply with this process's CPU time so far (user + system, seconds)
    b"exit"              stop serving
A trailing b" objects" makes the child receive and send that command's messages (the ack too)
through the endpoint's object calls (payloads.object_calls) instead of its byte path.
The stream ack is ACK when every message had the right length, otherwise b"E" and the reason,
so a transport that truncates or pads fails its cell instead of yielding a number.
"""

import ctypes  # here, not in each child: a forked child would pay ~3 ms to import it
import hashlib
import os
import signal
import sys
import time

ACK = b"\x06"
ERROR = b"E"
DIGEST_SIZE = 16


class StopServing(Exception):
    """The parent asked the child to exit."""


class ChildProtocol:
    """The child's state machine: `handle(message)` returns the replies to send, in order.

    Written as a state machine (not a blocking loop) so that the in-process `null` transport can
    run exactly the same child logic without a second process.
    """

    def __init__(self) -> None:
        self.handle = self._command
        self._remaining = 0
        self.objects = False  # whether the current command's messages travel as objects

    def _command(self, message) -> tuple:
        words = bytes(message).split()
        objects = bool(words) and words[-1] == b"objects"
        if objects:
            words.pop()
        try:
            verb, numbers = words[0], [int(word) for word in words[1:]]
        except (IndexError, ValueError):
            return (ERROR + b"bad command " + bytes(message)[:40],)
        if verb == b"exit":
            raise StopServing
        if verb == b"cputime":
            return (repr(time.process_time()).encode(),)
        if verb == b"pingpong" and len(numbers) == 1:
            self._remaining, self.handle = numbers[0], self._echo
        elif verb == b"stream" and len(numbers) == 2:
            self._remaining, self._size, self._bad = numbers[0], numbers[1], 0
            self.handle = self._count
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

    def _count(self, message) -> tuple:
        if len(message) != self._size:
            self._bad += 1
        self._remaining -= 1
        if self._remaining:
            return ()
        self._done()
        if self._bad:
            return (ERROR + b"%d of the streamed messages had the wrong length" % self._bad,)
        return (ACK,)

    def _hash(self, message) -> tuple:
        self._digest.update(len(message).to_bytes(8, "little"))
        self._digest.update(message)
        self._remaining -= 1
        if self._remaining:
            return ()
        self._done()
        return (self._digest.digest(),)

    def _done(self) -> None:
        self.handle, self.objects = self._command, False


def serve(endpoint, cpus=None) -> None:
    """The child process's entry point: pin, then answer the parent until told to exit."""
    from ipcbench.payloads import object_calls

    prepare_child(cpus)
    protocol = ChildProtocol()
    recv, send = endpoint.recv, endpoint.send
    send_object, recv_object = object_calls(endpoint)
    try:
        while True:
            # The mode is read before the message arrives: it holds for its replies too.
            if protocol.objects:
                for reply in protocol.handle(recv_object()):
                    send_object(reply)
            else:
                for reply in protocol.handle(recv()):
                    send(reply)
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
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


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
