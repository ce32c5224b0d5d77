"""The array payload kinds: one array of N bytes per message, through an object path.

ndarray  an ndarray (float64, or uint8 where N is not a multiple of 8) through the object API,
         pickled in band as Queue.put and Connection.send do (child.object_calls: the
         endpoint's own, else pickle + its byte path); the receiver gets a new array.
pickle5  the same array pickled with protocol 5 and its memory out of band: the small pickle in
         one frame, the array's memory in a frame of its own, never copied into the pickle
         (transports/frames.py); the receiver's array is built over the frame as it arrived (in
         the transport's receive buffer, valid until the next message, as a numpy payload is).
torch    a CPU tensor through torch's reductions of multiprocessing's pickler (the torch_mp
         transport's queues): the tensors are moved to shared memory once, before the clock, so
         a message carries a handle (a file descriptor, passed through multiprocessing's
         resource sharer) and the receiver maps the sender's memory: no copy of the data, hence
         receive mode "view" (payloads.receive_mode).

A message is a (stamp, array) pair, the array one of a ring of distinct arrays that is never
written to once built: a queue pickles in its feeder thread after put() returns, and a shared
tensor is read by the receiver while the sender goes on, so a stamp written into the array
could race. The receiver checks the stamp and the array's length; contents are checked in full
outside the clock (echo_mismatch).
"""

from ipcbench.channel import RING, Channel, paired_channel, random_bytes
from ipcbench.child import object_calls
from ipcbench.transports.frames import oob_object_calls

ARRAY_KINDS = ("ndarray", "pickle5", "torch")
# A pickle of (stamp, array) takes about 140-180 bytes besides the array's memory.
PICKLE_ROOM = 512


def wire_size(kind: str, size: int) -> int:
    """The largest message an array of `size` bytes puts on a byte path."""
    if kind == "ndarray":
        return size + PICKLE_ROOM  # the array inside its pickle
    if kind == "pickle5":
        return max(size, PICKLE_ROOM)  # the pickle and the array's memory: two frames
    return PICKLE_ROOM  # torch: a handle to shared memory


def array_channel(endpoint, kind: str, size: int, seed: int = 0) -> Channel:
    ring = make_arrays(kind, size, [seed + number for number in range(RING)])
    send, recv, mode = _calls(endpoint, kind)
    return paired_channel(send, recv, ring, mode)


def _calls(endpoint, kind: str):
    """(send, recv, the child's word for them: child.OBJECT_MODES)."""
    if kind == "pickle5":
        return (*oob_object_calls(endpoint), b"frames")
    return (*object_calls(endpoint), b"objects")


def make_arrays(kind: str, size: int, seeds) -> list:
    """One array of `size` random bytes per seed: ndarrays, or shared-memory tensors (torch)."""
    import numpy

    # float64 is what arrays usually hold; sizes that are not a multiple of 8 use bytes.
    dtype = numpy.float64 if size % 8 == 0 else numpy.uint8
    arrays = [numpy.frombuffer(random_bytes(size, seed), dtype=dtype).copy() for seed in seeds]
    if kind != "torch":
        return arrays
    import torch

    # Moved to shared memory here, outside the clock, as a producer that reuses its buffers does:
    # a message then moves a handle, not the data.
    return [torch.from_numpy(array).share_memory_() for array in arrays]


def echo_mismatch(endpoint, kind: str, size: int, messages: int) -> str | None:
    """Distinct arrays echoed back through the kind's calls and compared in full with a copy
    taken before sending (a shared tensor comes back as the sender's own memory); None if all
    came back equal, else what differed."""
    send, recv, mode = _calls(endpoint, kind)
    endpoint.send(b"pingpong %d %s" % (messages, mode))
    for number, array in enumerate(make_arrays(kind, size, range(1, messages + 1)), 1):
        expected = _contents(array)
        send((number, array))
        stamp, reply = recv()
        if stamp != number or type(reply) is not type(array) or _contents(reply) != expected:
            return f"{kind} array {number} of {messages} came back different"
    return None


def _contents(array) -> tuple:
    if not hasattr(array, "tobytes"):  # a tensor
        array = array.numpy()
    return (str(array.dtype), array.shape, array.tobytes())
