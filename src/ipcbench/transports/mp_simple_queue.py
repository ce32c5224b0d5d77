"""`mp_simple_queue`: two multiprocessing.SimpleQueue, one per direction.

A SimpleQueue is a pipe and a lock with the pickling done in the caller's thread: no feeder
thread and no buffer, unlike multiprocessing.Queue.
"""

from ipcbench.transports.base import QUEUE_KINDS, Transport, start_serving
from ipcbench.transports.mp_queue import QueueEndpoint


class MpSimpleQueue(Transport):
    name = "mp_simple_queue"
    summary = "two multiprocessing.SimpleQueue (pickling, no feeder thread), put/get"
    receive = "copy"
    kinds = QUEUE_KINDS  # no pickle5: see base.KINDS
    in_default_matrix = False

    def open(self, ctx, capacity, child_cpus):
        to_child, to_parent = ctx.SimpleQueue(), ctx.SimpleQueue()
        parent, child_side = QueueEndpoint(to_child, to_parent), QueueEndpoint(to_parent, to_child)
        return start_serving(ctx, parent, child_side, child_cpus)

    def open_fanin(self, ctx, capacity, helper_cpus):
        shared = ctx.SimpleQueue()  # writers share the queue's lock
        return QueueEndpoint(shared, shared)
