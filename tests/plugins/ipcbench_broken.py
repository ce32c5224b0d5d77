"""Deliberately broken transports: each damages what its child sends back in one way.

Registered through a real entry point (the dist-info beside this file): put this directory on
PYTHONPATH and `python -m ipcbench list` shows them. Every one of them must fail its cell with a
clear reason and never produce a figure.
"""

import os
import signal

from ipcbench.transports.base import Transport, start_child
from ipcbench.transports.mp_pipe import ConnectionEndpoint

# Faults start right after verification, not some way into the timing: a loaded machine
# calibrates a few loops only, and a whole cell once took fewer than the 40 messages a fault
# waited for, and got a figure.
# A dying child: after 2 commands, 3 echoes and 3 digests.
DIES_AFTER = 12
# A fanin producer: after its 3 checked payloads (FanIn.verify), on its first timed message.
FANIN_FAULT_AFTER = 3
# Payloads of patterns.verify before the timing: 3 echoed, 3 digested.
PRE_TIMING_PAYLOADS = 6


class PlainEndpoint(ConnectionEndpoint):
    """mp_pipe's endpoint without its fixed-size calls, which receive straight from the
    Connection: the endpoints below change what send and recv do, and both ends of a channel
    must agree on having them (ipcbench.transports.base)."""

    fixed_calls = None


class BrokenChildEndpoint(PlainEndpoint):
    """The child's end of an mp_pipe whose send() damages messages according to `fault`."""

    def __init__(self, connection, capacity: int, fault: str) -> None:
        super().__init__(connection, capacity)
        self.fault, self.sent, self.received = fault, 0, 0
        self.send = self._damaged_send
        self._intact_recv, self.recv = self.recv, self._dying_recv

    def _damaged_send(self, data) -> None:
        self.sent += 1
        data = bytes(data)
        if self.fault == "corrupt" and self.sent > 1:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        elif self.fault == "truncate" and self.sent > 1:
            data = data[:-1]
        elif self.fault == "duplicate" and self.sent > 1:
            self.connection.send_bytes(data)
        elif self.fault == "drop" and self.sent > 1:
            return
        self.connection.send_bytes(data)

    def _dying_recv(self):
        self.received += 1
        if self.received > DIES_AFTER:
            if self.fault == "crash":
                os._exit(3)
            if self.fault == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
        return self._intact_recv()

    def __reduce__(self):
        return BrokenChildEndpoint, (self.connection, self.capacity, self.fault)


class _Broken(Transport):
    fault = ""
    methods = ("fork", "spawn")

    def open(self, ctx, capacity, child_cpus):
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        child_side = BrokenChildEndpoint(child_conn, capacity, self.fault)
        try:
            process = start_child(ctx, child_side, child_cpus)
        finally:
            child_conn.close()
        return PlainEndpoint(parent_conn, capacity, process)


class Corrupt(_Broken):
    name, summary, fault = "broken_corrupt", "flips a byte of every echo", "corrupt"


class Truncate(_Broken):
    name, summary, fault = "broken_truncate", "drops the last byte of every echo", "truncate"


class Duplicate(_Broken):
    name, summary, fault = "broken_duplicate", "sends every echo twice", "duplicate"


class Drop(_Broken):
    name, summary, fault = "broken_drop", "never sends anything back", "drop"


class Crash(_Broken):
    name, summary, fault = "broken_crash", "the child exits mid-cell", "crash"


class Killed(_Broken):
    name, summary, fault = "broken_kill", "the child is SIGKILLed mid-cell", "kill"


class KillsWorker(Transport):
    name, summary = "broken_worker", "SIGKILLs the worker process in open()"
    methods = ("fork",)

    def open(self, ctx, capacity, child_cpus):
        os.kill(os.getpid(), signal.SIGKILL)


class FailsToOpen(Transport):
    name, summary = "broken_open", "raises in open()"
    methods = ("fork",)

    def open(self, ctx, capacity, child_cpus):
        raise ValueError(f"cannot hold a {capacity}-byte message")


class BrokenProducerChannel:
    """A shared fanin queue whose producers' send() goes wrong after FANIN_FAULT_AFTER."""

    def __init__(self, queue, fault: str) -> None:
        self.queue, self.fault, self.sent = queue, fault, 0
        self.recv = queue.get

    def send(self, data) -> None:
        self.sent += 1
        if self.sent > FANIN_FAULT_AFTER and self.fault == "drop":
            return
        self.queue.put(bytes(data))
        if self.sent > FANIN_FAULT_AFTER and self.fault == "duplicate":
            self.queue.put(bytes(data))

    def close(self) -> None:
        self.queue.cancel_join_thread()
        self.queue.close()

    def __reduce__(self):
        return BrokenProducerChannel, (self.queue, self.fault)


class _BrokenFanin(Transport):
    fault = ""
    methods = ("fork", "spawn")
    patterns = ("fanin",)

    def open_fanin(self, ctx, capacity, helper_cpus):
        return BrokenProducerChannel(ctx.Queue(), self.fault)


class FaninDuplicate(_BrokenFanin):
    name, summary, fault = "broken_fanin_duplicate", "producers send twice", "duplicate"


class FaninDrop(_BrokenFanin):
    name, summary, fault = "broken_fanin_drop", "producers stop sending", "drop"


class StaleChildEndpoint(PlainEndpoint):
    """A child's end that, past the checks before timing, now and then hands on the previous
    message instead of the one that arrived: its echo (pingpong) or what it counts (stream)."""

    def __init__(self, connection, capacity: int) -> None:
        super().__init__(connection, capacity)
        self.received, self.previous = 0, b""
        self._intact_recv, self.recv = self.recv, self._stale_recv

    def _stale_recv(self):
        message = bytes(self._intact_recv())
        if len(message) <= 64:
            return message  # commands pass: the stale ones are payloads, of the right length
        self.received += 1
        # Past the 6 payloads checked before timing, then intermittently.
        stale = self.received > PRE_TIMING_PAYLOADS and self.received % 3 == 0
        reply, self.previous = (self.previous if stale else message), message
        return reply

    def __reduce__(self):
        return StaleChildEndpoint, (self.connection, self.capacity)


class Stale(Transport):
    name, summary = "broken_stale", "now and then hands on the previous message, after the checks"
    methods = ("fork",)

    def open(self, ctx, capacity, child_cpus):
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        try:
            process = start_child(ctx, StaleChildEndpoint(child_conn, capacity), child_cpus)
        finally:
            child_conn.close()
        return PlainEndpoint(parent_conn, capacity, process)


# Where the caching transport reports its shortcuts, one file per endpoint ("payloads shortcuts"):
# this directory under $TEMP, if it exists (pyperf passes TEMP on to its workers, not any name).
CACHE_LOG = "ipcbench-cache-log"
TOKEN, DATA = b"T", b"D"


class CachingEndpoint(PlainEndpoint):
    """Correct, but cheats a benchmark: a payload equal to the previous one it sent goes as a
    1-byte token, and the receiver replays its own copy. Counts the shortcuts it takes on
    payloads (messages over 64 bytes) and writes the counts to $TEMP/ipcbench-cache-log at close.
    """

    def __init__(self, connection, capacity: int, process=None) -> None:
        super().__init__(connection, capacity + 1, process)
        self.last_sent = self.last_received = None
        self.payloads = self.shortcuts = 0
        self.send, self._plain_recv, self.recv = self._send, self.recv, self._recv

    def _send(self, data) -> None:
        data = bytes(data)
        if data == self.last_sent:
            self.connection.send_bytes(TOKEN)
            self.shortcuts += len(data) > 64
        else:
            self.connection.send_bytes(DATA + data)
            self.last_sent = data
        self.payloads += len(data) > 64

    def _recv(self):
        message = self._plain_recv()
        if message[:1] == TOKEN:
            return self.last_received
        self.last_received = bytes(message[1:])
        return self.last_received

    def close(self) -> None:
        directory = os.path.join(os.environ.get("TEMP", "/nonexistent"), CACHE_LOG)
        if os.path.isdir(directory) and self.payloads:
            path = os.path.join(directory, f"{os.getpid()}-{id(self)}")
            with open(path, "w") as stream:
                stream.write(f"{self.payloads} {self.shortcuts}")
        super().close()

    def __reduce__(self):
        return CachingEndpoint, (self.connection, self.capacity - 1)


class Caching(Transport):
    name, summary = "broken_caching", "sends a repeated payload as a 1-byte token (correct)"
    methods = ("fork",)

    def open(self, ctx, capacity, child_cpus):
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        try:
            process = start_child(ctx, CachingEndpoint(child_conn, capacity), child_cpus)
        finally:
            child_conn.close()
        return CachingEndpoint(parent_conn, capacity, process)
