"""`mp_queue`: two multiprocessing.Queue, one per direction (pickled bytes, a feeder thread)."""

from ipcbench.transports.base import QUEUE_KINDS, Transport, start_child, stop_process


class QueueEndpoint:
    """Whole messages over a pair of queue-like objects (multiprocessing or manager queues)."""

    def __init__(self, outbox, inbox, process=None) -> None:
        self.outbox, self.inbox, self.process = outbox, inbox, process
        self.recv = self.recv_object = inbox.get
        self.send_object = outbox.put  # queues carry objects: their natural API

    def send(self, data) -> None:
        # Queues pickle what they carry, and a memoryview cannot be pickled.
        self.outbox.put(data if type(data) is bytes else bytes(data))

    def close(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        for queue in (self.outbox, self.inbox):
            if hasattr(queue, "cancel_join_thread"):
                # Whatever is still buffered is of no use once the child is gone; do not let the
                # feeder thread hold the process at exit.
                queue.cancel_join_thread()
                queue.close()
        # Dropping the queues lets their named semaphores be unlinked now, not at exit.
        self.outbox = self.inbox = self.recv = self.recv_object = self.send_object = None

    def __reduce__(self):
        return QueueEndpoint, (self.outbox, self.inbox)


class MpQueue(Transport):
    name = "mp_queue"
    summary = "two multiprocessing.Queue (pickling, feeder thread), put/get"
    receive = "copy"
    kinds = QUEUE_KINDS  # no pickle5: see base.KINDS

    def open(self, ctx, capacity, child_cpus):
        to_child, to_parent = ctx.Queue(), ctx.Queue()
        process = start_child(ctx, QueueEndpoint(to_parent, to_child), child_cpus)
        return QueueEndpoint(to_child, to_parent, process)

    patterns = (*Transport.patterns, "fanin")  # a Queue takes many writers: it has a lock

    def open_fanin(self, ctx, capacity, helper_cpus):
        shared = ctx.Queue()
        return QueueEndpoint(shared, shared)
