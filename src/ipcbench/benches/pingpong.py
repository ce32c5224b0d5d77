"""pingpong: the full payload goes to the child and comes back; the value is one round trip.

The timed loops of the message-loop patterns (pingpong here, stream in stream.py) are written
once for every transport and payload kind. Inside the clock every message is a distinct payload:
message n is one of a ring of prebuilt payloads stamped with n just before it is sent
(payloads.Channel). The receiver checks each message's length and stamp as it arrives: the
parent every echo (pingpong), the child every streamed message (stream). So a transport cannot
gain speed by caching a repeated payload, and a stale, lost, duplicated or reordered message
fails the cell. Contents are checked in full, both ways, by verify(), which runs outside the
clock, before and after the timed runs.

`Session` is the bench of both: one child serving one channel of the cell's transport.
"""

import pickle
from time import perf_counter

from ipcbench.benches.base import MIN_CAPACITY, Bench, DataError, channel_modules, describe_helpers
from ipcbench.benches.spec import Pattern
from ipcbench.cell import LOCAL, Cell
from ipcbench.child import DIGEST_SIZE, READY, object_calls
from ipcbench.cputime import CpuMeter
from ipcbench.payloads import (
    RING_MASK,
    Channel,
    make_channel,
    make_records,
    random_bytes,
    receive_mode,
)
from ipcbench.units import ROUND_TRIP_MICROSECONDS


def command(endpoint, channel: Channel, words: bytes) -> None:
    """Tell the child what comes next (commands always travel as bytes).

    Before unframed payloads, wait for the child's READY (see ipcbench.child): then none of
    them can reach the child's buffer along with the command.
    """
    endpoint.send(words + b" " + channel.mode if channel.objects else words)
    if channel.fixed:
        ready = bytes(endpoint.recv())
        if ready != READY:
            raise DataError(f"the child answered {ready[:120]!r} to a command, not ready")


class NoMeter:
    """What the loops call when no CPU time is measured (cputime.CpuMeter when it is)."""

    def start(self) -> None:
        return None

    def stop(self, started, loops: int, elapsed: float) -> None:
        pass


NO_METER = NoMeter()


def pingpong(endpoint, channel: Channel, loops: int, meter=NO_METER) -> float:
    """Seconds for `loops` round trips.

    Pipelined, as a program with work to do would be: while the child handles message n, the
    parent checks echo n - 1 and makes message n + 1 (the other ring slot; echo n - 1 of an
    in-process transport is that very object, so it is checked first). A raw loop sits idle
    there. Every echo is still checked inside the clock, the last one after the loop.
    """
    send, recv, payload, matches = channel.send, channel.recv, channel.payload, channel.matches
    first = channel.take(loops)
    if channel.fixed:  # the child is told the size: the payloads go without framing
        command(endpoint, channel, b"pingpong %d %d" % (loops, channel.child_length))
    else:
        command(endpoint, channel, b"pingpong %d" % loops)
    reply, n = None, first
    # CPU time is read right outside the clock: its window is the clock's, give or take µs.
    cpu = meter.start()
    if channel.ring is not None:  # bytes: the same steps as below, inline (see Channel.ring)
        ring, stamps, unpack_from, size = (
            channel.ring,
            channel.stamps,
            channel.stamp.unpack_from,
            channel.child_length,
        )
        stamps[first & RING_MASK][0] = first
        start = perf_counter()
        for n in range(first, first + loops):
            send(ring[n & RING_MASK])
            if reply is not None and (unpack_from(reply)[0] != n - 1 or len(reply) != size):
                n -= 1
                break
            stamps[(n + 1) & RING_MASK][0] = n + 1
            reply = recv()
        else:
            if unpack_from(reply)[0] == n and len(reply) == size:
                elapsed = perf_counter() - start
                meter.stop(cpu, loops, elapsed)
                return elapsed
    else:
        message = payload(first)
        start = perf_counter()
        for n in range(first, first + loops):
            send(message)
            if reply is not None and not matches(reply, n - 1):
                n -= 1
                break
            message = payload(n + 1)
            reply = recv()
        else:
            if matches(reply, n):
                elapsed = perf_counter() - start
                meter.stop(cpu, loops, elapsed)
                return elapsed
    raise DataError(
        f"echo of message {n - first + 1} of {loops} inside the timed loop had the wrong "
        "length or stamp (truncated, stale, cached or out of order)"
    )


def verify(endpoint, kind: str, size: int, messages: int = 3) -> None:
    """Check contents in full, both ways, with distinct payloads of the cell's kind."""
    if kind == "pickle":
        _verify_objects(endpoint, size, messages)
    elif kind in ("bytes", "numpy"):  # numpy travels as the array's bytes: checking them checks it
        _verify_bytes(endpoint, size, messages)
    else:
        from ipcbench.array_kinds import echo_mismatch

        mismatch = echo_mismatch(endpoint, kind, size, messages)
        if mismatch:
            raise DataError(mismatch)


def _verify_bytes(endpoint, size: int, messages: int) -> None:
    """Distinct random payloads echoed back byte for byte, then digested one way."""
    import hashlib

    payloads = [random_bytes(size, seed) for seed in range(1, messages + 1)]
    endpoint.send(b"pingpong %d" % messages)
    for number, payload in enumerate(payloads, 1):
        endpoint.send(payload)
        reply = bytes(endpoint.recv())
        if reply != payload:
            raise DataError(_describe_mismatch(f"echo of message {number}", payload, reply))

    endpoint.send(b"digest %d" % messages)
    expected = hashlib.blake2b(digest_size=DIGEST_SIZE)
    for payload in payloads:
        endpoint.send(payload)
        expected.update(len(payload).to_bytes(8, "little"))
        expected.update(payload)
    if bytes(endpoint.recv()) != expected.digest():
        raise DataError(f"the child received {messages} messages with other contents than sent")


def _verify_objects(endpoint, size: int, messages: int) -> None:
    """Distinct objects sent through the object path and echoed back equal."""
    send_object, recv_object = object_calls(endpoint)
    endpoint.send(b"pingpong %d objects" % messages)
    for seed in range(1, messages + 1):
        sent = make_records(size, seed)
        send_object(sent)
        if recv_object() != sent:
            raise DataError(f"object {seed} of {messages} came back different")


def _describe_mismatch(what: str, sent: bytes, got: bytes) -> str:
    if len(got) != len(sent):
        return f"{what}: {len(sent)} bytes sent, {len(got)} received"
    first = next(i for i, (a, b) in enumerate(zip(sent, got, strict=True)) if a != b)
    return f"{what}: {len(sent)} bytes sent, contents differ from byte {first}"


class Session(Bench):
    """A message-loop pattern's bench: one child serving one channel of the cell's transport,
    timed by the pattern's loop (`timed_loop(endpoint, channel, loops, meter)`)."""

    meter = None  # the CPU meter (cputime.CpuMeter), made once the channel is open

    def __init__(self, cell: Cell, transport_class) -> None:
        super().__init__(cell)
        self.transport_class = transport_class
        self.endpoint = self.channel = None

    def child_modules(self) -> tuple[str, ...]:
        return channel_modules(self.transport_class)

    def open(self) -> None:
        if self.cell.peer != LOCAL:  # the child on another node of the cluster
            from ipcbench.remote_child import open_on_peer

            self.endpoint = open_on_peer(
                self.transport_class, self.cell, self.capacity(), self.child_cpus[0]
            )
        else:
            self.endpoint = self.transport_class().open(
                self.context, self.capacity(), self.child_cpus[0]
            )
        self.channel = make_channel(self.endpoint, self.cell.kind, self.cell.size)
        self.meter = CpuMeter(self.usable_cpus())

    def check(self) -> None:
        verify(self.endpoint, self.cell.kind, self.cell.size)

    def capacity(self) -> int:
        """The largest message the channel must carry, in bytes."""
        if self.cell.kind == "pickle":
            # Pickles of equally sized objects vary a little, and protocols differ: be generous.
            pickled = len(pickle.dumps(make_records(self.cell.size)))
            return 2 * pickled + MIN_CAPACITY
        if self.cell.kind not in ("bytes", "numpy"):
            from ipcbench.array_kinds import wire_size

            return max(wire_size(self.cell.kind, self.cell.size), MIN_CAPACITY)
        return max(self.cell.size, MIN_CAPACITY)

    def time(self, loops: int) -> float:
        """Seconds for `loops` iterations of the cell's pattern (pyperf's bench_time_func).

        The loop reads the CPU time of every process doing the work right outside its clock.
        """
        return self.timed_loop(self.endpoint, self.channel, loops, self.meter)

    def extra_metadata(self, loops: int) -> dict:
        return {
            "receive": receive_mode(self.cell.kind, self.transport_class.receive),
            "helper_cpus": self.describe_helpers(),
            **getattr(self.endpoint, "metadata", {}),
        }

    def run_metadata(self, values: int) -> dict:
        """CPU seconds per iteration (user + system, parent, child and helpers) over the run's
        timed values; wall time alone lets a transport that busy-waits look free."""
        return self.meter.figures(values)

    def describe_helpers(self) -> str:
        return describe_helpers(self.transport_class, self.child_cpus[0])

    def close(self, intact: bool) -> None:
        endpoint, self.endpoint = self.endpoint, None
        if endpoint is None:
            return
        try:
            if intact:
                # Still intact after the timed runs?
                verify(endpoint, self.cell.kind, self.cell.size)
                endpoint.send(b"exit")
        finally:
            # After an error the child may not be listening: close() ends it anyway.
            endpoint.close()


class PingPong(Session):
    timed_loop = staticmethod(pingpong)


PATTERN = Pattern(
    "pingpong",
    "round-trip latency of one payload",
    unit=ROUND_TRIP_MICROSECONDS,
    legend="round-trip latency in µs (lower is better)",
    per="one round trip",
    bench=PingPong,
    default=True,
    message_loop=True,
    answer_note="the round-trip latency of the full payload there and back",
)
