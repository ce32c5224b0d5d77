"""The timed loops, written once for every transport, and the content checks around them.

pingpong: the full payload goes to the child and comes back; the value is one round trip.
stream:   N payloads one way, then the child's one-byte ack; the value is one payload's share.
Lengths are checked on every message inside the loops; contents are checked in full by
verify(), which runs outside the clock.
"""

import random
from time import perf_counter

from ipcbench.child import ACK, DIGEST_SIZE


class DataError(Exception):
    """The transport lost, truncated, duplicated or corrupted a message."""


def pingpong(endpoint, payload, loops: int) -> float:
    send, recv, size = endpoint.send, endpoint.recv, len(payload)
    send(b"pingpong %d" % loops)
    start = perf_counter()
    for _ in range(loops):
        send(payload)
        if len(recv()) != size:
            raise DataError(f"a {size}-byte message came back with another length")
    return perf_counter() - start


def stream(endpoint, payload, loops: int) -> float:
    send = endpoint.send
    send(b"stream %d %d" % (loops, len(payload)))
    start = perf_counter()
    for _ in range(loops):
        send(payload)
    ack = endpoint.recv()
    elapsed = perf_counter() - start
    if bytes(ack) != ACK:
        raise DataError(
            f"the child's ack after {loops} messages was not right: {bytes(ack)[:80]!r}"
        )
    return elapsed


TIMED_LOOPS = {"pingpong": pingpong, "stream": stream}


def make_payload(size: int, seed: int = 0) -> bytes:
    """Random bytes: no transport can pass by luck on content that repeats a simple pattern."""
    return random.Random(seed).randbytes(size)


def verify(endpoint, size: int, messages: int = 3) -> None:
    """Check contents in full, both ways: distinct payloads echoed back, then digested one way."""
    import hashlib

    payloads = [make_payload(size, seed) for seed in range(1, messages + 1)]
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


def _describe_mismatch(what: str, sent: bytes, got: bytes) -> str:
    if len(got) != len(sent):
        return f"{what}: {len(sent)} bytes sent, {len(got)} received"
    first = next(i for i, (a, b) in enumerate(zip(sent, got, strict=True)) if a != b)
    return f"{what}: {len(sent)} bytes sent, contents differ from byte {first}"
