"""The timed loops, written once for every transport and payload kind, and the content checks.

pingpong: the full payload goes to the child and comes back; the value is one round trip.
stream:   N payloads one way, then the child's small ack; the value is one payload's share.

Inside the clock every message is a distinct payload: message n is one of a ring of prebuilt
payloads stamped with n just before it is sent (payloads.Channel). The receiver checks each
message's length and stamp as it arrives: the parent every echo (pingpong), the child every
streamed message, and its ack carries the count and the sum of the stamps, which the parent checks
(stream). So a transport cannot gain speed by caching a repeated payload, and a stale, lost,
duplicated or reordered message fails the cell. Contents are checked in full, both ways, by
verify(), which runs outside the clock, before and after the timed runs.
"""

from time import perf_counter

from ipcbench.child import DIGEST_SIZE, stream_ack
from ipcbench.payloads import RING_MASK, Channel, make_records, object_calls, random_bytes


class DataError(Exception):
    """The transport lost, truncated, duplicated, corrupted or replayed a message."""


def command(endpoint, channel: Channel, words: bytes) -> None:
    """Tell the child what comes next (commands always travel as bytes)."""
    endpoint.send(words + b" " + channel.mode if channel.objects else words)


class NoMeter:
    """What the loops call when no CPU time is measured (cputime.CpuMeter when it is)."""

    def start(self) -> None:
        return None

    def stop(self, started, loops: int, elapsed: float) -> None:
        pass


NO_METER = NoMeter()


def pingpong(endpoint, channel: Channel, loops: int, meter=NO_METER) -> float:
    send, recv, payload, matches = channel.send, channel.recv, channel.payload, channel.matches
    first = channel.take(loops)
    if channel.fixed:  # the child is told the size: the payloads go without framing
        command(endpoint, channel, b"pingpong %d %d" % (loops, channel.child_length))
    else:
        command(endpoint, channel, b"pingpong %d" % loops)
    # CPU time is read right outside the clock: its window is the clock's, give or take µs.
    cpu = meter.start()
    if channel.ring is not None:  # bytes: the same steps as below, inline (see Channel.ring)
        ring, stamps, unpack_from, size = (
            channel.ring,
            channel.stamps,
            channel.stamp.unpack_from,
            channel.child_length,
        )
        start = perf_counter()
        for n in range(first, first + loops):
            slot = n & RING_MASK
            stamps[slot][0] = n
            send(ring[slot])
            reply = recv()
            if unpack_from(reply)[0] != n or len(reply) != size:
                break
        else:
            elapsed = perf_counter() - start
            meter.stop(cpu, loops, elapsed)
            return elapsed
    else:
        start = perf_counter()
        for n in range(first, first + loops):
            send(payload(n))
            if not matches(recv(), n):
                break
        else:
            elapsed = perf_counter() - start
            meter.stop(cpu, loops, elapsed)
            return elapsed
    raise DataError(
        f"echo of message {n - first + 1} of {loops} inside the timed loop had the wrong "
        "length or stamp (truncated, stale, cached or out of order)"
    )


def stream(endpoint, channel: Channel, loops: int, meter=NO_METER) -> float:
    send, payload = channel.send, channel.payload
    first = channel.take(loops)
    command(endpoint, channel, b"stream %d %d %d" % (loops, channel.child_length, first))
    cpu = meter.start()
    if channel.ring is not None:  # bytes: the same steps as below, inline (see Channel.ring)
        ring, stamps = channel.ring, channel.stamps
        start = perf_counter()
        for n in range(first, first + loops):
            slot = n & RING_MASK
            stamps[slot][0] = n
            send(ring[slot])
    else:
        start = perf_counter()
        for n in range(first, first + loops):
            send(payload(n))
    ack = channel.recv() if channel.objects else endpoint.recv()
    elapsed = perf_counter() - start
    meter.stop(cpu, loops, elapsed)
    ack = bytes(ack)
    if ack != stream_ack(loops, first, channel.stamp_mask):
        raise DataError(
            f"the child's ack after {loops} streamed messages was not right: {ack[:120]!r}"
        )
    return elapsed


TIMED_LOOPS = {"pingpong": pingpong, "stream": stream}


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
