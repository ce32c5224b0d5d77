"""`mp_simple_queue`: two multiprocessing.SimpleQueue, one per direction.

A SimpleQueue is a pipe and a lock with the pickling done in the caller's thread: no feeder
thread and no buffer, unlike multiprocessing.Queue.
"""

from ipcbench.transports.base import QUEUE_KINDS, Transport, start_child, stop_process


class SimpleQueueEndpoint:
    def __init__(self, outbox, inbox, process=None) -> None:
        self.outbox, self.inbox, self.process = outbox, inbox, process
        self.recv = self.recv_object = inbox.get
        self.send_object = outbox.put  # queues carry objects: their natural API

    def send(self, data) -> None:
        # Queues pickle what they carry, and a memoryview cannot be pickled.
        self.outbox.put(data if type(data) is bytes else bytes(data))

    def close(self) -> None:
        if self.inbox is None:
            return
        for queue in (self.outbox, self.inbox):
            queue.close()  # the child sees EOF even if it missed the exit command
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        # Dropping the queues lets their named semaphores be unlinked now, not at exit.
        self.outbox = self.inbox = self.recv = self.recv_object = self.send_object = None

    def __reduce__(self):
        return SimpleQueueEndpoint, (self.outbox, self.inbox)


class MpSimpleQueue(Transport):
    name = "mp_simple_queue"
    summary = "two multiprocessing.SimpleQueue (pickling, no feeder thread), put/get"
    receive = "copy"
    kinds = QUEUE_KINDS  # no pickle5: see base.KINDS
    in_default_matrix = False

    def open(self, ctx, capacity, child_cpus):
        to_child, to_parent = ctx.SimpleQueue(), ctx.SimpleQueue()
        process = start_child(ctx, SimpleQueueEndpoint(to_parent, to_child), child_cpus)
        return SimpleQueueEndpoint(to_child, to_parent, process)

    patterns = (*Transport.patterns, "fanin")  # writers share the queue's lock

    def open_fanin(self, ctx, capacity, helper_cpus):
        shared = ctx.SimpleQueue()
        return SimpleQueueEndpoint(shared, shared)
