"""`manager_queue`: two Manager().Queue() proxies; every message goes through the manager server."""

import secrets
from multiprocessing.managers import SyncManager

from ipcbench import child
from ipcbench.transports.base import QUEUE_KINDS, Transport, start_child
from ipcbench.transports.mp_queue import QueueEndpoint


class ManagerQueueEndpoint(QueueEndpoint):
    def __init__(self, outbox, inbox, process, manager) -> None:
        super().__init__(outbox, inbox, process)
        self.manager = manager

    def close(self) -> None:
        super().close()
        self.manager.shutdown()


class ManagerQueue(Transport):
    name = "manager_queue"
    summary = "two Manager().Queue() proxies, via the manager's server process"
    receive = "copy"
    kinds = QUEUE_KINDS  # no pickle5: see base.KINDS
    helpers = ("manager server",)

    patterns = (*Transport.patterns, "fanin")  # the server serialises the writers

    def open(self, ctx, capacity, child_cpus):
        # The one rule for helpers (Transport.helpers): the server runs on the child's CPUs.
        manager = start_manager(ctx, child_cpus)
        try:
            to_child, to_parent = manager.Queue(), manager.Queue()
            process = start_child(ctx, QueueEndpoint(to_parent, to_child), child_cpus)
        except BaseException:
            manager.shutdown()
            raise
        return ManagerQueueEndpoint(to_child, to_parent, process, manager)

    def open_fanin(self, ctx, capacity, helper_cpus):
        manager = start_manager(ctx, helper_cpus)
        try:
            shared = manager.Queue()
        except BaseException:
            manager.shutdown()
            raise
        return ManagerQueueEndpoint(shared, shared, None, manager)


def start_manager(ctx, cpus) -> SyncManager:
    """A SyncManager whose server runs on `cpus` and dies with this process."""
    # A random authkey per manager: the server listens on a Unix socket that other local users
    # could otherwise connect to.
    manager = SyncManager(address=None, authkey=secrets.token_bytes(32), ctx=ctx)
    manager.start(initializer=child.prepare_child, initargs=(cpus,))
    return manager
