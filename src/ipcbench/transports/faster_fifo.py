"""`faster_fifo`: two faster_fifo.Queue, one per direction (the optional `faster-fifo` package).

A drop-in for multiprocessing.Queue built on a circular buffer in shared memory guarded by a
process-shared pthread mutex, with no feeder thread. Used as people use it: `put`/`get`, which
pickle what they carry, for bytes and objects alike (as mp_queue does). Its README claims about
3x the speed of multiprocessing.Queue for one producer and one consumer: this is the figure to
check that against.

faster_fifo's put/get give up after a timeout (10 s by default) instead of waiting forever; here
they wait in rounds, and between rounds each side checks that the other is still alive, so a dead
child fails the cell with a reason. The package is imported only when a channel is opened, so
that `list` works without it.
"""

import os
from queue import Empty, Full

from ipcbench.transports.base import QUEUE_KINDS, Transport, start_child, stop_process
from ipcbench.transports.peer import check_peer

POLL_SECONDS = 1.0
# The circular buffer must hold a message with its header; room for a few lets a stream run
# ahead of the reader, as with mp_queue (whose pipe holds 64 KiB and whose feeder buffers more).
MESSAGES_IN_FLIGHT = 4
HEADER_ROOM = 1024  # pickle's and faster_fifo's per-message headers


class FasterFifoEndpoint:
    def __init__(self, outbox, inbox, process=None, parent_pid=None) -> None:
        self.outbox, self.inbox, self.process = outbox, inbox, process
        # Made in the parent (the child's side too, before it starts): who the parent is.
        self.parent_pid = parent_pid or os.getpid()
        put, get = outbox.put, inbox.get

        def send_object(obj) -> None:
            while True:
                try:
                    return put(obj, True, POLL_SECONDS)
                except Full:
                    self._check_peer()

        def recv_object():
            while True:
                try:
                    return get(True, POLL_SECONDS)
                except Empty:
                    self._check_peer()

        # Queues carry objects: their natural API, used for the pickle payload kind.
        self.send_object, self.recv_object = send_object, recv_object
        self.recv = recv_object

    def send(self, data) -> None:
        # put pickles what it carries, and a memoryview cannot be pickled.
        self.send_object(data if type(data) is bytes else bytes(data))

    def _check_peer(self) -> None:
        check_peer(self.process, self.parent_pid)

    def close(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        # The buffers are multiprocessing RawArrays: dropping the queues frees them.
        self.outbox = self.inbox = self.send_object = self.recv_object = self.recv = None

    def __reduce__(self):
        return FasterFifoEndpoint, (self.outbox, self.inbox, None, self.parent_pid)


class FasterFifo(Transport):
    name = "faster_fifo"
    summary = "two faster_fifo.Queue (shared-memory ring + pthread mutex, no feeder thread)"
    # get() unpickles a new object out of the queue's buffer: the caller gets its own copy.
    receive = "copy"
    kinds = QUEUE_KINDS  # no pickle5: see base.KINDS
    in_default_matrix = False

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import faster_fifo  # noqa: F401
        except ImportError:
            return "needs faster-fifo: pip install 'ipcbench[faster-fifo]'"
        return None

    def open(self, ctx, capacity, child_cpus):
        from faster_fifo import Queue

        # At least faster_fifo's own default (1 MB), else a few messages' worth.
        buffer_bytes = max(1_000_000, MESSAGES_IN_FLIGHT * (capacity + HEADER_ROOM))
        to_child, to_parent = Queue(buffer_bytes), Queue(buffer_bytes)
        process = start_child(ctx, FasterFifoEndpoint(to_parent, to_child), child_cpus)
        return FasterFifoEndpoint(to_child, to_parent, process)
