"""Payload kinds: what is sent, and how each kind travels over an endpoint.

bytes   random bytes through the endpoint's byte path (send/recv).
pickle  a realistic Python object of about N pickled bytes (a list of dicts with str, int and
        float values) through the endpoint's object API where it has one (Queue.put,
        Connection.send: `send_object`/`recv_object`), otherwise pickle + the byte path. The
        receiver gets the object back, so the figure includes (de)serialisation.
numpy   an ndarray of N bytes through the byte path as a buffer (no pickle, no copy to
        bytes where the transport takes a memoryview); the receiver gets an ndarray view
        (np.frombuffer) of what arrived.
ndarray, pickle5, torch  an array of N bytes through an object path: pickled in band, pickled
        with its memory out of band, or a shared-memory tensor (see ipcbench.array_kinds).
"""

import pickle
import random

from ipcbench import child
from ipcbench.channel import RING, RING_MASK, Channel, paired_channel, random_bytes
from ipcbench.child import object_calls

KINDS = ("bytes", "pickle", "numpy", "ndarray", "pickle5", "torch")
# What the receiver of a kind gets where that is not the transport's receive mode: a tensor
# over the sender's shared memory, whatever the transport does with bytes.
KIND_RECEIVE = {"torch": "view"}


def receive_mode(kind: str, transport_receive: str) -> str:
    """What a cell's receiver gets (transports.base.RECEIVE_MODES)."""
    return KIND_RECEIVE.get(kind, transport_receive)


def make_channel(endpoint, kind: str, size: int, seed: int = 0) -> Channel:
    if kind == "bytes":
        return _bytes_channel(endpoint, size, seed)
    if kind == "numpy":
        return _numpy_channel(endpoint, size, seed)
    if kind == "pickle":
        return _pickle_channel(endpoint, size, seed)
    if kind in KINDS:
        from ipcbench.array_kinds import array_channel

        return array_channel(endpoint, kind, size, seed)
    raise ValueError(f"unknown payload kind {kind!r}")


def _stamped_ring(buffers: list, size: int):
    """(payload(n), stamp_of(buffer), mask) over writable byte buffers stamped in place."""
    stamp = child.stamp_struct(size)
    mask = child.stamp_mask(stamp)
    if stamp is None:  # an empty payload has no room for a stamp: only its length is checked
        return (lambda n: buffers[n & RING_MASK]), None, mask
    pack_into, unpack_from = stamp.pack_into, stamp.unpack_from

    def payload(n):
        buffer = buffers[n & RING_MASK]
        pack_into(buffer, 0, n & mask)  # a few bytes, just before the send: cheap
        return buffer

    return payload, unpack_from, mask


def _bytes_channel(endpoint, size: int, seed: int) -> Channel:
    if getattr(endpoint, "pickles_bytes", False):
        return _queued_bytes_channel(endpoint, size, seed)
    # bytearrays, stamped in place: a fresh bytes per message would cost a copy of the payload.
    ring = [bytearray(random_bytes(size, seed + number)) for number in range(RING)]
    payload, unpack_from, mask = _stamped_ring(ring, size)
    if unpack_from is None:

        def matches(reply, n) -> bool:
            return len(reply) == size

    else:

        def matches(reply, n) -> bool:
            return len(reply) == size and unpack_from(reply)[0] == n & mask

    send, recv, fixed = byte_calls(endpoint, size)
    channel = Channel(send, recv, payload, matches, size, False, mask, fixed)
    if mask == child.OBJECT_STAMP_MASK:  # an 8-byte stamp: message numbers never wrap
        channel.ring, channel.stamp = ring, child.stamp_struct(size)
        channel.stamps = [memoryview(payload)[:8].cast("Q") for payload in ring]
    return channel


def _queued_bytes_channel(endpoint, size: int, seed: int) -> Channel:
    """bytes through a queue: (stamp, payload) pairs through its object calls.

    A queue pickles what it carries later, in its feeder thread, so a payload stamped in place
    could change before it is pickled, and a fresh stamped copy per message would cost a copy
    and an allocation of the payload that a user's loop does not pay (up to half of mp_queue's
    64 KiB stream). A pair is pickled as the bytes plus a few bytes.
    """
    ring = [random_bytes(size, seed + number) for number in range(RING)]
    return paired_channel(*object_calls(endpoint), ring)


def byte_calls(endpoint, size: int):
    """(send, recv, fixed) for payloads of `size` bytes: unframed where the endpoint can."""
    fixed_calls = getattr(endpoint, "fixed_calls", None)
    if fixed_calls is None:
        return endpoint.send, endpoint.recv, False
    return (*fixed_calls(size), True)


def _pickle_channel(endpoint, size: int, seed: int) -> Channel:
    ring = [make_records(size, seed + number) for number in range(RING)]
    return paired_channel(*object_calls(endpoint), ring)  # the child checks the record count


def make_records(size: int, seed: int = 0) -> list[dict]:
    """A list of small dicts whose pickle is about `size` bytes (at least one record)."""
    rng = random.Random(seed)

    def record(number: int) -> dict:
        return {
            "id": number,
            "name": f"item-{rng.randrange(10**8):08d}",
            "score": rng.random(),
            "active": number % 2 == 0,
        }

    one = len(pickle.dumps([record(0)], protocol=pickle.HIGHEST_PROTOCOL))
    return [record(number) for number in range(max(1, round(size / one)))]


def _numpy_channel(endpoint, size: int, seed: int) -> Channel:
    import numpy

    # float64 is what arrays usually hold; sizes that are not a multiple of 8 use bytes.
    dtype = numpy.float64 if size % 8 == 0 else numpy.uint8
    arrays = [
        numpy.frombuffer(random_bytes(size, seed + number), dtype=dtype).copy()
        for number in range(RING)
    ]
    # What goes over the wire: each array's own memory, stamped in place.
    views = [memoryview(array).cast("B") for array in arrays]
    payload, unpack_from, mask = _stamped_ring(views, size)
    send, recv, fixed = byte_calls(endpoint, size)
    frombuffer, elements = numpy.frombuffer, len(arrays[0])

    def recv_array():
        return frombuffer(recv(), dtype=dtype)

    if unpack_from is None:

        def matches(reply, n) -> bool:
            return len(reply) == elements

    else:

        def matches(reply, n) -> bool:
            return len(reply) == elements and unpack_from(reply)[0] == n & mask

    return Channel(send, recv_array, payload, matches, size, False, mask, fixed)
