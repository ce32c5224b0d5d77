"""`thread_queue`: two queue.Queue between the main thread and a serving thread; no process.

The baseline that answers "is a second process worth it?": no copy, no pickling, no system
call of its own, only the GIL handing the messages over. The thread runs the child's protocol
(child.ChildProtocol), on the child's CPUs.
"""

import os
import queue
import threading

from ipcbench.child import ChildProtocol, StopServing
from ipcbench.transports.base import QUEUE_KINDS, Transport

STOP = None  # put by close(): ends the serving thread even if it missed the exit command


def serve_in_thread(inbox: queue.Queue, outbox: queue.Queue, cpus) -> None:
    # child.serve cannot run here: its process set-up (signal handlers, parent-death signal)
    # is only allowed in, or meant for, a main thread. Affinity is per thread on Linux.
    if cpus:
        os.sched_setaffinity(0, cpus)
    # Bytes and objects both travel as references here, so one loop serves either mode.
    protocol, get, put = ChildProtocol(), inbox.get, outbox.put
    try:
        while (message := get()) is not STOP:
            for reply in protocol.handle(message):
                put(reply)
    except StopServing:
        pass


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
            args=(to_thread, to_main, child_cpus),
            name="ipcbench-child-thread",
            daemon=True,  # never holds the process at exit, whatever happens
        )
        thread.start()
        return ThreadQueueEndpoint(thread, to_thread, to_main)
