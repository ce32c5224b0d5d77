"""`remote_manager`: the "distributed process" pattern of multiprocessing.managers.

A BaseManager server registers two queues and listens on 127.0.0.1 (as it would on a network
interface to serve other hosts), protected by a random authkey. The child does not receive
proxies: it connects by address and authkey, as a process on another host would, and asks the
server for the queues by name. Every message is a round trip to the server and back.

Across hosts (`run --peer NODE`) the server stays on this host and listens on its address facing
the peer, and the child connects from the peer node, as in the documentation's example.
"""

import queue
import secrets
from multiprocessing.managers import BaseManager

from ipcbench.children import start_manager
from ipcbench.transports.base import QUEUE_KINDS, Transport, start_serving, undo_on_error
from ipcbench.transports.connect_in_child import ConnectInChild
from ipcbench.transports.manager_queue import ManagerQueueEndpoint
from ipcbench.transports.mp_queue import QueueEndpoint

TO_CHILD, TO_PARENT = "to_child", "to_parent"
# How long the child on a peer node may take to start, connect and say hello.
PEER_HELLO_TIMEOUT = 30.0
HELLO = b"hello"

_queues: dict[str, queue.Queue] = {}  # in the server process only


def _queue(direction: str) -> queue.Queue:
    # Runs in the server, once per client asking; both clients must get the same queue.
    return _queues.setdefault(direction, queue.Queue())


class QueueServer(BaseManager):
    """The server (and the clients' view of it): `queue(direction)` returns a queue's proxy."""


QueueServer.register("queue", callable=_queue)


def _connect(address, authkey: bytes) -> QueueEndpoint:
    """In the child: connect to the server by address and authkey, then fetch the two queues."""
    client = QueueServer(address=address, authkey=authkey)
    client.connect()
    return QueueEndpoint(client.queue(TO_PARENT), client.queue(TO_CHILD))


def _connect_and_greet(address, authkey: bytes) -> QueueEndpoint:
    """On a peer node: connect, then say so (the parent waits for it, with a timeout)."""
    endpoint = _connect(address, authkey)
    endpoint.send(HELLO)
    return endpoint


class RemoteManager(Transport):
    name = "remote_manager"
    summary = (
        "BaseManager server with two queues (on 127.0.0.1 or facing the peer), by address+authkey"
    )
    receive = "copy"
    kinds = QUEUE_KINDS  # no pickle5: see base.KINDS
    helpers = ("manager server",)
    in_default_matrix = False
    crosses_hosts = True

    def open(self, ctx, capacity, child_cpus):
        # A random authkey per channel: anyone who can reach the port and knows the key can make
        # the server unpickle (run) anything. The server runs with the child's CPU placement.
        authkey = secrets.token_bytes(32)
        server = start_manager(ctx, child_cpus, QueueServer, ("127.0.0.1", 0), authkey)
        with undo_on_error() as undo:
            undo.callback(server.shutdown)
            to_child, to_parent = server.queue(TO_CHILD), server.queue(TO_PARENT)
        parent = ManagerQueueEndpoint(to_child, to_parent, server)
        # server.address is the bound address, with the port the system chose.
        child_side = ConnectInChild(_connect, server.address, authkey)
        return start_serving(ctx, parent, child_side, child_cpus)

    def open_peer(self, peer, capacity):
        """The server on this host, listening only on its address facing the peer; the child on
        the peer node connects to it there, as the seed's distributed-process example does."""
        import multiprocessing

        authkey = secrets.token_bytes(32)
        # spawn: this process runs Ray's threads now, which a fork would copy mid-flight. The
        # server takes the CPU the placement gives a child on this host (helpers' rule).
        spawn = multiprocessing.get_context("spawn")
        address = (peer.local_address, 0)
        server = start_manager(spawn, peer.local_cpus, QueueServer, address, authkey)
        with undo_on_error() as undo:
            undo.callback(server.shutdown)
            to_child, to_parent = server.queue(TO_CHILD), server.queue(TO_PARENT)
            process = peer.start_child(_connect_and_greet, server.address, authkey)
            with peer.connecting(process):
                try:
                    to_parent.get(timeout=PEER_HELLO_TIMEOUT)  # the child's hello: connected
                except queue.Empty:
                    raise ConnectionError(
                        f"remote_manager: the child on {peer.address} did not connect within "
                        f"{PEER_HELLO_TIMEOUT:g} s"
                    ) from None
        endpoint = ManagerQueueEndpoint(to_child, to_parent, server)
        endpoint.process = process
        return peer.attach(endpoint)
