"""`os_pipe`: two os.pipe() pairs, length-framed, read with readinto and written with writev."""

import fcntl
import os
import select

from ipcbench.transports.base import Transport, start_child, stop_process
from ipcbench.transports.framing import HEADER, FdStream


def fit_pipe_buffer(fd: int, capacity: int) -> None:
    """Let the pipe of `fd` hold one whole message, header included, where the system allows.

    A pipe holds 64 KiB by default: a 64 KiB payload plus its 4-byte header would not fit, and
    every such message would cost the reader an extra wake-up for its last 4 bytes.
    """
    try:
        with open("/proc/sys/fs/pipe-max-size") as stream:
            limit = int(stream.read())
        wanted = min(HEADER.size + capacity, limit)
        if wanted > fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ):
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, wanted)
    except (OSError, ValueError, AttributeError):
        pass  # not Linux, or over the user's pipe quota: the default buffer still works


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
        for fd in (to_child_w, to_parent_w):
            fit_pipe_buffer(fd, capacity)
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
