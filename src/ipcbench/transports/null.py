"""`null`: no second process; the child's protocol runs in-process behind a loopback endpoint.

Its figure is the harness's own floor: the pattern loop, the endpoint calls and the child's
message handling, with no IPC at all. Subtract it mentally from any other figure.
"""

from collections import deque

from ipcbench.child import ChildProtocol, StopServing
from ipcbench.transports.base import QUEUE_KINDS, Transport


class LoopbackEndpoint:
    def __init__(self) -> None:
        self._protocol = ChildProtocol()
        self._replies = deque()
        self.recv = self.recv_object = self._replies.popleft

    def send(self, data) -> None:
        try:
            self._replies.extend(self._protocol.handle(data))
        except StopServing:
            pass  # the in-process "child" has nothing to clean up

    # In one process, objects are handed over as they are: no serialisation is the floor.
    send_object = send

    def close(self) -> None:
        self._replies.clear()


class Null(Transport):
    name = "null"
    summary = "no IPC: the same loop against an in-process loopback (the harness's floor)"
    receive = "reference"
    kinds = QUEUE_KINDS  # no pickle5: see base.KINDS
    methods = ("none",)

    def open(self, ctx, capacity, child_cpus):
        return LoopbackEndpoint()
