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

from ipcbench.benches.base import MIN_CAPACITY, Bench, DataError, channel_modules, describe_helpers
from ipcbench.benches.spec import Pattern, Section
from ipcbench.child import prepare_child
from ipcbench.children import Crew
from ipcbench.payloads import random_bytes
from ipcbench.units import RATE, Unit


def checked_payload(producer: int, number: int, size: int) -> bytes:
    """The `number`th payload of a verification pass from `producer`: distinct for each pair."""
    return random_bytes(size, 1 + producer * 1_000_003 + number)


def produce(control, cpus, producer: int, channel, size: int) -> None:
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
        # Without waiting to flush what a consumer that stopped reading will never take.
        channel.close()


class FanIn(Bench):
    def __init__(self, cell, transport_class) -> None:
        super().__init__(cell, children=cell.procs)
        self.transport_class = transport_class
        self.inner_loops = cell.procs
        self.channel = None
        self.producers = Crew()

    def child_modules(self) -> tuple[str, ...]:
        return (*channel_modules(self.transport_class), __name__)

    def open(self) -> None:
        size = self.cell.size
        # The one rule for helpers (Transport.helpers): on the (first) child's CPUs.
        self.channel = self.transport_class().open_fanin(
            self.context, max(size, MIN_CAPACITY), self.child_cpus[0]
        )
        self.producers.start(
            self.context, produce, (self.channel, size), self.child_cpus, "ipcbench-producer"
        )

    def check(self) -> None:
        self.verify()

    def time(self, loops: int) -> float:
        recv, size = self.channel.recv, self.cell.size
        start = perf_counter()
        self.producers.tell(b"send %d" % loops)
        for _ in range(loops * len(self.producers)):
            if len(recv()) != size:
                raise DataError(f"a message of length {size} arrived with another length")
        return perf_counter() - start

    def extra_metadata(self, loops: int) -> dict:
        return {
            "receive": self.transport_class.receive,
            "helper_cpus": describe_helpers(self.transport_class, self.child_cpus[0]),
        }

    def verify(self, messages: int = 3) -> None:
        """Distinct payloads from every producer: all must arrive, whole, once."""
        self.producers.tell(b"verify %d" % messages)
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
            self.producers.stop()
            if self.channel is not None:
                self.channel.close()
                self.channel = None


PATTERN = Pattern(
    "fanin",
    "P producer processes send to one consumer over one shared channel",
    unit=Unit("msg/s", RATE),
    legend="messages/s into one consumer from all producers together (higher is better)",
    per="one message (from any producer)",
    bench=FanIn,
    multi_process=True,
    procs_noun="producer",
    one_way=True,
    size_limit_note="keeps messages of several writers apart only up to",
    answer_note="messages per second from several producers into one consumer (time per message)",
    section=Section(
        "Fan-in: several producers, one consumer",
        "Fan-in",
        "P producer processes send to one consumer over one shared channel: messages per "
        "second (and MB/s) for all producers together. The scaling factor is the rate with the "
        "most producers divided by the rate with the fewest: above 1 the transport takes more "
        "from more writers; at or below 1 its single reader, a lock or the CPUs are the limit.",
    ),
    # every producer's payloads, the consumer's checked copies
    payload_copies=lambda cell: 16 * cell.procs,
)
