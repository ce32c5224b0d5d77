"""Payload kinds: what is sent, and how each kind travels over an endpoint.

bytes   random bytes through the endpoint's byte path (send/recv).
pickle  a realistic Python object of about N pickled bytes (a list of dicts with str, int and
        float values) through the endpoint's object API where it has one (Queue.put,
        Connection.send: `send_object`/`recv_object`), otherwise pickle + the byte path. The
        receiver gets the object back, so the figure includes (de)serialisation.
numpy   an ndarray of N bytes through the byte path as a buffer (no pickle, no copy to
        bytes where the transport takes a memoryview); the receiver gets an ndarray view
        (np.frombuffer) of what arrived.
"""

import pickle
import random
from dataclasses import dataclass
from typing import Any

KINDS = ("bytes", "pickle", "numpy")


@dataclass
class Channel:
    """One payload kind over one endpoint: what the timed loops call."""

    send: Any  # send(payload)
    recv: Any  # recv() -> the received payload; len() of it is `reply_length`
    payload: Any  # what the parent sends
    reply_length: int  # len() of every payload the parent receives back
    child_length: int  # len() of every payload as the child receives it
    objects: bool  # the child must use its object calls (see child.ChildProtocol)


def random_bytes(size: int, seed: int = 0) -> bytes:
    """Random: no transport can pass by luck on content that repeats a simple pattern."""
    return random.Random(seed).randbytes(size)


def make_channel(endpoint, kind: str, size: int, seed: int = 0) -> Channel:
    if kind == "bytes":
        payload = random_bytes(size, seed)
        return Channel(endpoint.send, endpoint.recv, payload, size, size, objects=False)
    if kind == "numpy":
        return _numpy_channel(endpoint, size, seed)
    if kind == "pickle":
        payload = make_records(size, seed)
        send, recv = object_calls(endpoint)
        return Channel(send, recv, payload, len(payload), len(payload), objects=True)
    raise ValueError(f"unknown payload kind {kind!r}")


def object_calls(endpoint):
    """(send_object, recv_object): the endpoint's own object API, or pickle over bytes."""
    send_object = getattr(endpoint, "send_object", None)
    if send_object is not None:
        return send_object, endpoint.recv_object
    send, recv, dumps, loads = endpoint.send, endpoint.recv, pickle.dumps, pickle.loads

    def send_pickled(obj) -> None:
        send(dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    def recv_pickled():
        return loads(recv())

    return send_pickled, recv_pickled


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

    raw = random_bytes(size, seed)
    # float64 is what arrays usually hold; sizes that are not a multiple of 8 use bytes.
    dtype = numpy.float64 if size % 8 == 0 else numpy.uint8
    array = numpy.frombuffer(raw, dtype=dtype).copy()
    recv, frombuffer = endpoint.recv, numpy.frombuffer
    view = memoryview(array).cast("B")  # what goes over the wire: the array's own memory

    def recv_array():
        return frombuffer(recv(), dtype=dtype)

    return Channel(endpoint.send, recv_array, view, len(array), size, objects=False)
