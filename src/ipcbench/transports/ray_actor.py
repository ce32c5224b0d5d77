"""`ray_actor`: a method call round trip on a Ray actor, the payload as argument and result.

The child is a Ray actor running the child's protocol (the state machine of ipcbench.child, as
the in-process `null` transport does): each message the parent sends is one `handle` call, and
the replies come back as its result. A stream is K calls in flight, then the ack; a pingpong,
one call and its result. Ray runs an actor's calls from one caller in order.

With `run --cluster` the actor is placed on this node (or, with `--peer NODE`, on that node) of
the cluster; without, the process starts a private one-node Ray (see ipcbench.cluster), whose
processes then run on the child's CPUs and count in the cell's CPU time. Ray is an optional
extra (`pip install 'ipcbench[ray]'`), imported only when a channel opens.
"""

import os
import time
from collections import deque

from ipcbench import cluster
from ipcbench.child import ChildProtocol, StopServing
from ipcbench.transports.base import CHILD_EXIT_GRACE, QUEUE_KINDS, Transport

# Placing the actor and starting its worker process: generous for a loaded node.
START_TIMEOUT = 60.0


class ChildActor:
    """The actor that plays the child: `handle(message)` returns the child's replies."""

    def __init__(self, cpu_rule) -> None:
        from ipcbench.remote_child import node_cpus

        cpus = node_cpus(cpu_rule)
        if cpus:
            os.sched_setaffinity(0, cpus)
        self.cpus = sorted(cpus or ())
        self.protocol = ChildProtocol()

    def ready(self) -> dict:
        from ipcbench.remote_child import machine_facts

        return {"pid": os.getpid(), "cpus": self.cpus, "facts": machine_facts()}

    def handle(self, message) -> tuple:
        try:
            return tuple(self.protocol.handle(message))
        except StopServing:
            return ()


class RayEndpoint:
    """The parent's side: a call per message sent; its result holds the replies, in order."""

    def __init__(self, ray, actor, local_pid: int | None = None) -> None:
        self._ray, self._actor, self._local_pid = ray, actor, local_pid
        self._call = actor.handle.remote
        self._pending, self._replies = deque(), deque()
        self.metadata: dict = {}

    def send(self, data) -> None:
        # Ray pickles the arguments, and a memoryview cannot be pickled.
        self._pending.append(self._call(data if type(data) is bytes else bytes(data)))

    def send_object(self, obj) -> None:
        self._pending.append(self._call(obj))  # objects travel as Ray serialises them

    def recv(self):
        while not self._replies:
            if not self._pending:
                raise EOFError("ray: a reply was awaited, but no call is pending")
            try:
                self._replies.extend(self.unbox(self._ray.get(self._pending.popleft())))
            except self._ray.exceptions.RayError as error:
                raise EOFError(f"the Ray actor failed: {cluster.first_line(error)}") from None
        return self._replies.popleft()

    recv_object = recv

    def unbox(self, replies):
        return replies

    def close(self) -> None:
        actor, self._actor = self._actor, None
        if actor is None:
            return
        self._pending.clear()
        self._replies.clear()
        self._ray.kill(actor, no_restart=True)
        if self._local_pid is not None:  # ours (a private Ray): joined like any child
            deadline = time.monotonic() + CHILD_EXIT_GRACE
            while os.path.exists(f"/proc/{self._local_pid}") and time.monotonic() < deadline:
                time.sleep(0.01)


class RayActor(Transport):
    name = "ray_actor"
    summary = "a Ray actor method call per message (payload as argument, replies as result)"
    methods = ("exec",)  # the actor is a Ray worker process, started by Ray's raylet
    receive = "copy"
    in_default_matrix = False
    crosses_hosts = True
    helpers = ("Ray's node processes",)
    # No pickle5: Ray serialises what it carries itself (as a queue pickles), see base.KINDS.
    kinds = QUEUE_KINDS
    actor_class = ChildActor
    endpoint_class = RayEndpoint

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return cluster.available()

    def open(self, ctx, capacity, child_cpus):
        ray = cluster.session()
        if cluster.is_private():
            cluster.place_private(child_cpus)  # Ray's processes are this cell's helpers
            return self._open(ray, {}, child_cpus, private=True)
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(cluster.this_node_id(), soft=False)
        endpoint = self._open(ray, {"scheduling_strategy": here}, child_cpus)
        endpoint.metadata["helper_cpus"] = "the cluster's Ray processes: not placed, not counted"
        return endpoint

    def open_peer(self, peer, capacity):
        endpoint = self._open(peer.ray, peer.options, peer.cpu_rule)
        endpoint.metadata["helper_cpus"] = "the cluster's Ray processes: not placed, not counted"
        peer.record(endpoint.facts, endpoint.cpus)
        return peer.attach(endpoint)

    def _open(self, ray, options: dict, cpu_rule, private: bool = False) -> RayEndpoint:
        options = {"num_cpus": 0, "max_restarts": 0, **options}
        actor = ray.remote(self.actor_class).options(**options).remote(cpu_rule)
        try:
            info = ray.get(actor.ready.remote(), timeout=START_TIMEOUT)
        except BaseException as error:
            ray.kill(actor, no_restart=True)
            if isinstance(error, Exception):
                raise ConnectionError(
                    f"{self.name}: the actor did not start: {cluster.first_line(error)}"
                ) from None
            raise
        endpoint = self.endpoint_class(ray, actor, info["pid"] if private else None)
        endpoint.facts, endpoint.cpus = info["facts"], info["cpus"]
        return endpoint
