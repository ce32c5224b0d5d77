"""The timed loops, written once for every transport and payload kind, and the content checks.

pingpong: the full payload goes to the child and comes back; the value is one round trip.
stream:   N payloads one way, then the child's one-byte ack; the value is one payload's share.
Lengths are checked on every message inside the loops; contents are checked in full by
verify(), which runs outside the clock. A `Channel` (payloads.py) says how the cell's payload
kind is sent and received.
"""

from time import perf_counter

from ipcbench.child import ACK, DIGEST_SIZE
from ipcbench.payloads import Channel, make_records, object_calls, random_bytes


class DataError(Exception):
    """The transport lost, truncated, duplicated or corrupted a message."""


def command(endpoint, channel: Channel, words: bytes) -> None:
    """Tell the child what comes next (commands always travel as bytes)."""
    endpoint.send(words + b" objects" if channel.objects else words)


def pingpong(endpoint, channel: Channel, loops: int) -> float:
    send, recv, payload, length = channel.send, channel.recv, channel.payload, channel.reply_length
    command(endpoint, channel, b"pingpong %d" % loops)
    start = perf_counter()
    for _ in range(loops):
        send(payload)
        if len(recv()) != length:
            raise DataError(f"a message of length {length} came back with another length")
    return perf_counter() - start


def stream(endpoint, channel: Channel, loops: int) -> float:
    send, payload = channel.send, channel.payload
    command(endpoint, channel, b"stream %d %d" % (loops, channel.child_length))
    start = perf_counter()
    for _ in range(loops):
        send(payload)
    ack = channel.recv() if channel.objects else endpoint.recv()
    elapsed = perf_counter() - start
    if bytes(ack) != ACK:
        raise DataError(
            f"the child's ack after {loops} messages was not right: {bytes(ack)[:80]!r}"
        )
    return elapsed


TIMED_LOOPS = {"pingpong": pingpong, "stream": stream}


def verify(endpoint, kind: str, size: int, messages: int = 3) -> None:
    """Check contents in full, both ways, with distinct payloads of the cell's kind."""
    if kind == "pickle":
        _verify_objects(endpoint, size, messages)
    else:  # numpy travels as the array's bytes: checking the byte path checks it
        _verify_bytes(endpoint, size, messages)


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
