"""startup: what a fresh child costs before it does any work.

Both figures time the same span, from creating the process to its being gone (joined):
startup/process/METHOD   create, start and join a process that does nothing (exec: a fresh
                         `python -c` through subprocess); the value is one process's lifetime.
startup/TRANSPORT/...    open the transport's channel (which starts its child and any helper),
                         send the first payload, take the child's reply, close the channel (the
                         child told to exit and joined, helpers shut down, resources released):
                         the value is one channel's whole life with one round trip.
                         The first message's share of it is recorded beside it
                         (`first_message_share`, the median over one extra run of at least five
                         starts), to tell a slow start from a slow first round trip (lazy
                         imports, feeder threads, connection set-up). A share, not seconds: the
                         extra run's own speed then does not matter, and times derived from it
                         never exceed the value.

The worker's first start is an untimed warm-up, recorded on its own as `first_start` (seconds):
under forkserver it includes starting the fork server, which preloads what the children import
(ipcbench.child, and for a channel the payloads and transport modules), so that the timed starts
import nothing; under spawn it includes cold imports. The timed values never include it.
"""

import statistics
import subprocess
import sys
from time import perf_counter

from ipcbench import child
from ipcbench.patterns import DataError
from ipcbench.payloads import random_bytes
from ipcbench.session import MIN_CAPACITY, Bench, channel_modules
from ipcbench.stopping import held_while_starting_children


class ProcessStartup(Bench):
    """startup/process: the bare cost of a process under a start method."""

    def open(self) -> None:
        cpus = self.child_cpus[0]
        pin = f"import os; os.sched_setaffinity(0, {sorted(cpus)})" if cpus else "pass"
        self._command = [sys.executable, "-c", pin]
        self.first_start = self.time(1)  # forkserver: the server starts here (see the top)

    def extra_metadata(self, loops: int) -> dict:
        return {"first_start": self.first_start}

    def time(self, loops: int) -> float:
        # Signals stay held while children start (see stopping.py); the run is short.
        with held_while_starting_children(self.cell.method):
            start = perf_counter()
            for _ in range(loops):
                self._start_and_join()
            return perf_counter() - start

    def _start_and_join(self) -> None:
        if self.context is None:  # exec
            status = subprocess.call(self._command, stdin=subprocess.DEVNULL)
        else:
            process = self.context.Process(target=child.idle, args=(self.child_cpus[0],))
            process.start()
            process.join()
            status = process.exitcode
            process.close()
        if status != 0:
            raise RuntimeError(f"the do-nothing child exited with status {status}")

    def close(self, intact: bool) -> None:
        pass  # every child was joined in the loop that started it


class ChannelStartup(Bench):
    """startup/TRANSPORT: a channel's life, from opening it to closed, with one round trip."""

    def __init__(self, cell, transport_class) -> None:
        super().__init__(cell)
        self.transport_class = transport_class
        self.payload = random_bytes(cell.size)
        self.first_message_shares: list[float] = []

    def child_modules(self) -> tuple[str, ...]:
        return channel_modules(self.transport_class)

    def open(self) -> None:
        # The first start pays for one-off imports and, under forkserver, the server's start.
        self.first_start = self._start_to_first_reply()

    def time(self, loops: int) -> float:
        with held_while_starting_children(self.cell.method):
            return sum(self._start_to_first_reply() for _ in range(loops))

    def extra_metadata(self, loops: int) -> dict:
        self.first_message_shares.clear()
        self.time(max(loops, 5))
        return {
            "first_message_share": statistics.median(self.first_message_shares),
            "first_start": self.first_start,
        }

    def _start_to_first_reply(self) -> float:
        capacity = max(self.cell.size, MIN_CAPACITY)
        start = perf_counter()
        endpoint = self.transport_class().open(self.context, capacity, self.child_cpus[0])
        try:
            opened = perf_counter()
            endpoint.send(b"pingpong 1")
            endpoint.send(self.payload)
            reply = endpoint.recv()
            replied = perf_counter()
            # A copy: the reply may be a view into the channel's memory, which close() frees.
            if bytes(reply) != self.payload:
                raise DataError("the first message came back different")
            del reply
            endpoint.send(b"exit")
        finally:
            endpoint.close()  # timed: the bare process's figure includes its join too
        closed = perf_counter()
        self.first_message_shares.append((replied - opened) / (closed - start))
        return closed - start

    def close(self, intact: bool) -> None:
        pass  # every channel was closed in the loop that opened it
