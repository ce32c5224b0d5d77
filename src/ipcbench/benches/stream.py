"""stream: N payloads one way, then the child's small ack; the value is one payload's share.

The child checks every streamed message's length and stamp (the next in sequence), and its ack
carries the number of messages and the sum of their stamps, which the parent checks; a stream
that lost messages ends at the last stamp with an error instead of hanging. The rest of the
checks, and the bench, are pingpong's (pingpong.py).
"""

from time import perf_counter

from ipcbench.benches.base import DataError
from ipcbench.benches.pingpong import NO_METER, Session, command
from ipcbench.benches.spec import Pattern
from ipcbench.child import stream_ack
from ipcbench.payloads import RING, RING_MASK, Channel
from ipcbench.units import MEGABYTES_PER_SECOND

# One value of a stream carries several messages: a single 16 MiB message per value would time
# one message's latency, not a throughput.
STREAM_MIN_MESSAGES = 8

assert RING == 2, "_stream_ring is unrolled over a ring of two payloads"


def stream(endpoint, channel: Channel, loops: int, meter=NO_METER) -> float:
    send, payload = channel.send, channel.payload
    first = channel.take(loops)
    command(endpoint, channel, b"stream %d %d %d" % (loops, channel.child_length, first))
    cpu = meter.start()
    if channel.ring is not None:  # bytes: the same steps as below, inline (see Channel.ring)
        start = _stream_ring(send, channel.ring, channel.stamps, first, loops)
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


def _stream_ring(send, ring: list, stamps: list, first: int, loops: int) -> float:
    """Send messages first .. first + loops - 1 from the two-payload ring (message n from slot
    n & 1), each stamped with its number just before it goes; return the clock's start.

    Unrolled over the ring, each payload and its stamp's view in a local: indexing the ring per
    message cost ~25 ns, and a slower sender wakes its reader more often. 64-byte pipe streams
    measured 1.05-1.13x a raw loop with the ring indexed, 0.99-1.02x unrolled
    (bench/stamp_cost.py).
    """
    slot = first & RING_MASK
    payload, other = ring[slot], ring[slot ^ 1]
    stamp, other_stamp = stamps[slot], stamps[slot ^ 1]
    last = first + loops - 1
    start = perf_counter()
    for n in range(first, last, 2):
        stamp[0] = n
        send(payload)
        other_stamp[0] = n + 1
        send(other)
    if loops & 1:  # an odd count: the last message takes the first payload again
        stamp[0] = last
        send(payload)
    return start


class Stream(Session):
    timed_loop = staticmethod(stream)
    min_loops = STREAM_MIN_MESSAGES


PATTERN = Pattern(
    "stream",
    "one-way throughput: N payloads, then one ack",
    unit=MEGABYTES_PER_SECOND,
    legend="throughput in MB/s = 10^6 bytes/s (higher is better)",
    per="one message",
    bench=Stream,
    default=True,
    message_loop=True,
    one_way=True,
    answer_note="one-way throughput",
)
