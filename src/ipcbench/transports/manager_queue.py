"""`manager_queue`: two Manager().Queue() proxies; every message goes through the manager server."""

from ipcbench.children import start_manager
from ipcbench.transports.base import QUEUE_KINDS, Transport, start_serving, undo_on_error
from ipcbench.transports.mp_queue import QueueEndpoint


class ManagerQueueEndpoint(QueueEndpoint):
    """Queue proxies and the manager server that holds the queues: the server is the channel,
    shut down with it (a child still waiting on a proxy then reads EOF and leaves)."""

    # What producers and children get: the proxies alone (the manager stays here).
    child_type = QueueEndpoint

    def __init__(self, outbox, inbox, manager) -> None:
        super().__init__(outbox, inbox)
        self.manager = manager

    def close_channel(self) -> None:
        super().close_channel()  # proxies first, or they outlive the server
        manager, self.manager = self.manager, None
        if manager is not None:
            manager.shutdown()


class ManagerQueue(Transport):
    name = "manager_queue"
    summary = "two Manager().Queue() proxies, via the manager's server process"
    receive = "copy"
    kinds = QUEUE_KINDS  # no pickle5: see base.KINDS
    helpers = ("manager server",)

    def open(self, ctx, capacity, child_cpus):
        # The one rule for helpers (Transport.helpers): the server runs on the child's CPUs.
        manager = start_manager(ctx, child_cpus)
        with undo_on_error() as undo:
            undo.callback(manager.shutdown)
            to_child, to_parent = manager.Queue(), manager.Queue()
        parent = ManagerQueueEndpoint(to_child, to_parent, manager)
        return start_serving(ctx, parent, QueueEndpoint(to_parent, to_child), child_cpus)

    def open_fanin(self, ctx, capacity, helper_cpus):
        manager = start_manager(ctx, helper_cpus)  # the server serialises the writers
        with undo_on_error() as undo:
            undo.callback(manager.shutdown)
            shared = manager.Queue()
        return ManagerQueueEndpoint(shared, shared, manager)
