"""fanin: P producer processes send to one consumer (this process) over one shared channel.

The channel is the transport's `open_fanin()`: a queue, or a pipe whose small writes are atomic.
One loop is one payload from each producer, so the value is the time per message
(pyperf's inner_loops = P); messages/s is its inverse, MB/s the size over it. The clock runs
from telling the producers to start until the consumer holds every message.

Lengths are checked on every message; contents are checked outside the clock: each producer
sends distinct payloads, and the consumer must receive exactly the multiset that was sent.
This module is imported by spawned producers: standard library and light ipcbench modules only.
"""

from collections import Counter
from time import perf_counter

from ipcbench.child import prepare_child
from ipcbench.patterns import DataError
from ipcbench.payloads import random_bytes
from ipcbench.session import MIN_CAPACITY, Bench
from ipcbench.transports.base import stop_process


def checked_payload(producer: int, number: int, size: int) -> bytes:
    """The `number`th payload of a verification pass from `producer`: distinct for each pair."""
    return random_bytes(size, 1 + producer * 1_000_003 + number)


def produce(channel, control, producer: int, size: int, cpus) -> None:
    """A producer's entry point: on `send N` send N payloads, on `verify N` N checked ones."""
    prepare_child(cpus)
    send, payload = channel.send, random_bytes(size, producer)
    try:
        while True:
            verb, _, count = control.recv_bytes().partition(b" ")
            if verb == b"send":
                for _ in range(int(count)):
                    send(payload)
            elif verb == b"verify":
                for number in range(int(count)):
                    send(checked_payload(producer, number, size))
            else:
                break  # b"exit", or anything unexpected
    except (EOFError, OSError):
        pass  # the consumer went away
    finally:
        control.close()


class FanIn(Bench):
    def __init__(self, cell, transport_class) -> None:
        super().__init__(cell, children=cell.procs)
        self.transport_class = transport_class
        self.inner_loops = cell.procs
        self.channel = None
        self.producers: list = []  # (process, control connection)

    def open(self) -> None:
        size = self.cell.size
        self.channel = self.transport_class().open_fanin(
            self.context, max(size, MIN_CAPACITY), self.parent_cpus
        )
        for producer, cpus in enumerate(self.child_cpus):
            control, child_control = self.context.Pipe()
            process = self.context.Process(
                target=produce,
                args=(self.channel, child_control, producer, size, cpus),
                name=f"ipcbench-producer-{producer}",
                daemon=True,
            )
            self.producers.append((process, control))
            process.start()
            child_control.close()
        self.verify()

    def time(self, loops: int) -> float:
        recv, size = self.channel.recv, self.cell.size
        command = b"send %d" % loops
        start = perf_counter()
        for _, control in self.producers:
            control.send_bytes(command)
        for _ in range(loops * len(self.producers)):
            if len(recv()) != size:
                raise DataError(f"a message of length {size} arrived with another length")
        return perf_counter() - start

    def verify(self, messages: int = 3) -> None:
        """Distinct payloads from every producer: all must arrive, whole, once."""
        for _, control in self.producers:
            control.send_bytes(b"verify %d" % messages)
        received = Counter(
            bytes(self.channel.recv()) for _ in range(messages * len(self.producers))
        )
        sent = Counter(
            checked_payload(producer, number, self.cell.size)
            for producer in range(len(self.producers))
            for number in range(messages)
        )
        if received != sent:
            lost = sum((sent - received).values())
            raise DataError(
                f"of {messages} checked messages from each of {len(self.producers)} producers, "
                f"{lost} did not arrive intact"
            )

    def close(self, intact: bool) -> None:
        try:
            if intact:
                self.verify()  # still intact after the timed runs?
        finally:
            for _, control in self.producers:
                try:
                    control.send_bytes(b"exit")
                except OSError:
                    pass  # that producer is gone already
                control.close()
            for process, _ in self.producers:
                stop_process(process)
            self.producers.clear()
            if self.channel is not None:
                self.channel.close()
                self.channel = None
