"""`os_pipe`: two os.pipe() pairs, length-framed, read with readinto and written with writev."""

import os
import select

from ipcbench.transports.base import Transport, start_child, stop_process
from ipcbench.transports.framing import HEADER, FdStream


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
    receive = "copy"

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

    # Several writers on one pipe: a write of at most PIPE_BUF bytes is atomic, so a message
    # (header + payload, one os.write) arrives whole; larger ones could interleave.
    patterns = (*Transport.patterns, "fanin")
    fanin_max_size = select.PIPE_BUF - HEADER.size

    def open_fanin(self, ctx, capacity, helper_cpus):
        read_end, write_end = os.pipe()
        return FdStream(read_end, write_end, capacity)
