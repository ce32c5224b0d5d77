"""What the timed loops call for one payload kind over one endpoint: a Channel, and the ring of
distinct payloads it sends (payloads.py and array_kinds.py make them)."""

import random
from dataclasses import dataclass
from typing import Any

from ipcbench.child import OBJECT_STAMP_MASK

# Distinct payloads inside the clock: the timed loops rotate through this many prebuilt payloads
# (a power of two: n & RING_MASK picks one), each stamped with its message number just before it
# is sent. Two keep the cache footprint near a single payload's, as a raw loop's would be.
RING = 2
RING_MASK = RING - 1


@dataclass
class Channel:
    """One payload kind over one endpoint: what the timed loops call.

    Message n (a running number, never reused in a channel's life) is `payload(n)`: one of a
    ring of distinct payloads, carrying the stamp n. `matches(reply, n)` checks a received
    message cheaply: its length and that it carries the stamp n (not the previous message, not a
    cached copy, not the next one).
    """

    send: Any  # send(payload)
    recv: Any  # recv() -> the received payload
    payload: Any  # payload(n) -> message n, stamped
    matches: Any  # matches(reply, n) -> whether reply has the right length and stamp n
    child_length: int  # the length the child checks (see child.stamp_and_length)
    objects: bool  # the child must use its object calls (see child.ChildProtocol)
    stamp_mask: int  # stamps are message numbers modulo this + 1 (tiny payloads hold fewer bits)
    # Whether send/recv are the endpoint's fixed_calls: payloads without framing (the child
    # must be told the size: see child.py).
    fixed: bool = False
    # bytes payloads of 8 bytes or more: the ring itself and the stamp's struct, so that the
    # timed loops stamp and check inline (a function call per message costs ~10% of a 64-byte
    # stream against a raw loop). None: the loops call payload() and matches().
    ring: list | None = None
    stamp: Any = None  # the stamp's struct (for the receiver)
    stamps: list | None = None  # each ring payload's stamp as a 1-item integer view (the sender)
    next_stamp: int = 1
    # Which object calls the child uses when `objects` (child.OBJECT_MODES).
    mode: bytes = b"objects"

    def take(self, count: int) -> int:
        """Reserve `count` message numbers; return the first."""
        first, self.next_stamp = self.next_stamp, self.next_stamp + count
        return first


def paired_channel(send, recv, ring: list, mode: bytes = b"objects") -> Channel:
    """Messages that travel as fresh (stamp, item) pairs through object calls, the items of
    `ring` never changed once built: a queue pickles in its feeder thread after put() returns
    (and a shared tensor is read while the sender goes on), so a stamp written into an item
    could race. The receiver checks the stamp and the item's length."""
    length = len(ring[0])

    def payload(n):
        return (n, ring[n & RING_MASK])

    def matches(reply, n) -> bool:
        return reply[0] == n and len(reply[1]) == length

    return Channel(send, recv, payload, matches, length, True, OBJECT_STAMP_MASK, mode=mode)


def random_bytes(size: int, seed: int = 0) -> bytes:
    """Random: no transport can pass by luck on content that repeats a simple pattern."""
    return random.Random(seed).randbytes(size)
