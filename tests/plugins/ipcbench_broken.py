"""Deliberately broken transports: each damages what its child sends back in one way.

Registered through a real entry point (the dist-info beside this file): put this directory on
PYTHONPATH and `python -m ipcbench list` shows them. Every one of them must fail its cell with a
clear reason and never produce a figure.
"""

import os
import signal

from ipcbench.transports.base import Transport, start_child
from ipcbench.transports.mp_pipe import ConnectionEndpoint

# Past verification (8 messages) and into calibration and timing.
MID_CELL = 40


class BrokenChildEndpoint(ConnectionEndpoint):
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
        if self.received > MID_CELL:
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
        return ConnectionEndpoint(parent_conn, capacity, process)


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


class FailsToOpen(Transport):
    name, summary = "broken_open", "raises in open()"
    methods = ("fork",)

    def open(self, ctx, capacity, child_cpus):
        raise ValueError(f"cannot hold a {capacity}-byte message")


class BrokenProducerChannel:
    """A shared fanin queue whose producers' send() goes wrong after MID_CELL messages."""

    def __init__(self, queue, fault: str) -> None:
        self.queue, self.fault, self.sent = queue, fault, 0
        self.recv = queue.get

    def send(self, data) -> None:
        self.sent += 1
        if self.sent > MID_CELL and self.fault == "drop":
            return
        self.queue.put(bytes(data))
        if self.sent > MID_CELL and self.fault == "duplicate":
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
