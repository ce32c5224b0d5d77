"""`thread_queue`: two queue.Queue between the main thread and a serving thread; no process.

The baseline that answers "is a second process worth it?": no copy, no pickling, no system
call of its own, only the GIL handing the messages over. The thread runs the child's own loop
(child.answer), on the child's CPUs.
"""

import os
import queue
import threading

from ipcbench.child import answer
from ipcbench.transports.base import QUEUE_KINDS, Transport

STOP = None  # put by close(): ends the serving thread even if it missed the exit command


class ServingSide:
    """The serving thread's end: the queues the other way round, STOP read as the channel's end.
    Bytes and objects both travel as references here, so one call serves either mode."""

    def __init__(self, inbox: queue.Queue, outbox: queue.Queue) -> None:
        get = inbox.get

        def recv():
            message = get()
            if message is STOP:
                raise EOFError("the main thread closed the channel")
            return message

        self.recv = self.recv_object = recv
        self.send = self.send_object = outbox.put

    def close(self) -> None:
        pass  # the queues are the main thread's


def serve_in_thread(endpoint: ServingSide, cpus) -> None:
    # child.serve's process set-up (signal handlers, parent-death signal) is only allowed in, or
    # meant for, a main thread: its loop serves here alone. Affinity is per thread on Linux.
    if cpus:
        os.sched_setaffinity(0, cpus)
    answer(endpoint)


class ThreadQueueEndpoint:
    def __init__(self, thread: threading.Thread, outbox: queue.Queue, inbox: queue.Queue) -> None:
        self.thread, self.outbox = thread, outbox
        self.recv = self.recv_object = inbox.get
        # Objects pass by reference between threads: no serialisation at all, the point of it.
        self.send_object = outbox.put

    def send(self, data) -> None:
        # Objects pass by reference between threads; a mutable buffer must be copied, since the
        # caller may change it as soon as send returns.
        self.outbox.put(data if type(data) is bytes else bytes(data))

    def close(self) -> None:
        if self.thread is None:
            return
        self.outbox.put(STOP)  # the queue is unbounded: the thread gets it whatever it was doing
        self.thread.join()
        self.thread = None


class ThreadQueue(Transport):
    name = "thread_queue"
    summary = "two queue.Queue between two threads of one process (no IPC: the GIL's cost)"
    receive = "reference"
    kinds = QUEUE_KINDS  # no pickle5: see base.KINDS
    methods = ("none",)
    in_default_matrix = False

    def open(self, ctx, capacity, child_cpus):
        to_thread, to_main = queue.Queue(), queue.Queue()
        thread = threading.Thread(
            target=serve_in_thread,
            args=(ServingSide(to_thread, to_main), child_cpus),
            name="ipcbench-child-thread",
            daemon=True,  # never holds the process at exit, whatever happens
        )
        thread.start()
        return ThreadQueueEndpoint(thread, to_thread, to_main)
