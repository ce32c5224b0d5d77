"""`mp_queue`: two multiprocessing.Queue, one per direction (pickled bytes, a feeder thread).

QueueEndpoint serves every queue-like pair: multiprocessing's Queue and SimpleQueue, manager
proxies, faster_fifo's queues aside (they wait in rounds).
"""

from ipcbench.transports.base import QUEUE_KINDS, ChildEndpoint, Transport, start_serving


class QueueEndpoint(ChildEndpoint):
    """Whole messages over a pair of queue-like objects (put/get). The child's side shares this
    process's queues: they are closed with the parent's side, never by letting go of the child's.
    """

    # Queues are pipes and named semaphores that a spawned child attaches to as it starts.
    child_first = True
    # A queue pickles whatever it carries: a timed loop's bytes go as (stamp, bytes) objects
    # (payloads._queued_bytes_channel).
    pickles_bytes = True

    def __init__(self, outbox, inbox, process=None) -> None:
        self.outbox, self.inbox, self.process = outbox, inbox, process
        self.recv = self.recv_object = inbox.get
        self.send_object = outbox.put  # queues carry objects: their natural API

    def send(self, data) -> None:
        # Queues pickle what they carry, and a memoryview cannot be pickled.
        self.outbox.put(data if type(data) is bytes else bytes(data))

    def close_channel(self) -> None:
        if self.inbox is None:
            return
        for queue in {id(queue): queue for queue in (self.outbox, self.inbox)}.values():
            if hasattr(queue, "cancel_join_thread"):
                # Whatever is still buffered is of no use once the channel closes; do not let
                # the feeder thread hold the process at exit.
                queue.cancel_join_thread()
            if hasattr(queue, "close"):  # a SimpleQueue's child sees EOF; proxies have none
                queue.close()
        # Dropping the queues lets their named semaphores be unlinked now, not at exit.
        self.outbox = self.inbox = self.recv = self.recv_object = self.send_object = None

    def let_go(self) -> None:
        pass  # the queues are the parent's too

    def child_args(self) -> tuple:
        return self.outbox, self.inbox


class MpQueue(Transport):
    name = "mp_queue"
    summary = "two multiprocessing.Queue (pickling, feeder thread), put/get"
    receive = "copy"
    kinds = QUEUE_KINDS  # no pickle5: see base.KINDS

    def open(self, ctx, capacity, child_cpus):
        to_child, to_parent = ctx.Queue(), ctx.Queue()
        parent, child_side = QueueEndpoint(to_child, to_parent), QueueEndpoint(to_parent, to_child)
        return start_serving(ctx, parent, child_side, child_cpus)

    def open_fanin(self, ctx, capacity, helper_cpus):
        shared = ctx.Queue()  # a Queue takes many writers: it has a lock
        return QueueEndpoint(shared, shared)
