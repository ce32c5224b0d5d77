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
from ipcbench.payloads import RING_MASK, Channel
from ipcbench.units import MEGABYTES_PER_SECOND

# One value of a stream carries several messages: a single 16 MiB message per value would time
# one message's latency, not a throughput.
STREAM_MIN_MESSAGES = 8


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
