"""`os_pipe`: two os.pipe() pairs, length-framed, read with readinto and written with writev."""

import os

from ipcbench.transports.base import Transport, start_child, stop_process
from ipcbench.transports.framing import FdStream


class PipeParent(FdStream):
    def __init__(self, rfd: int, wfd: int, capacity: int, process) -> None:
        super().__init__(rfd, wfd, capacity)
        self.process = process

    def close(self) -> None:
        super().close()  # the child sees EOF and leaves even if it missed the exit command
        if self.process is not None:
            stop_process(self.process)
            self.process = None


class OsPipe(Transport):
    name = "os_pipe"
    summary = "two os.pipe() pairs, os.read/os.write with length framing"

    def open(self, ctx, capacity, child_cpus):
        to_child_r, to_child_w = os.pipe()
        to_parent_r, to_parent_w = os.pipe()
        child_side = FdStream(to_child_r, to_parent_w, capacity)
        try:
            process = start_child(ctx, child_side, child_cpus)
        finally:
            # The child holds its own copies now (inherited or passed): drop the parent's.
            child_side.close()
        return PipeParent(to_parent_r, to_child_w, capacity, process)
