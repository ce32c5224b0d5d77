"""`os_pipe`: two os.pipe() pairs, length-framed, read with readinto and written with writev."""

import fcntl
import os
import select

from ipcbench.transports.base import ChildEndpoint, Transport, start_serving, undo_on_error
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


class PipeEndpoint(ChildEndpoint):
    """The parent's FdStream, with the child at the other end."""

    def __init__(self, stream: FdStream) -> None:
        self.stream, self.rfd, self.wfd, self.capacity = (
            stream,
            stream.rfd,
            stream.wfd,
            stream.capacity,
        )
        self.send, self.recv, self.fixed_calls = stream.send, stream.recv, stream.fixed_calls
        self.send_frames = stream.send_frames

    def close_channel(self) -> None:
        self.stream.close()  # EOF: the child leaves even if it missed the exit command


def pipe(undo) -> tuple[int, int]:
    """os.pipe(), both ends closed by `undo` (an undo_on_error stack) if the open fails later."""
    read_end, write_end = os.pipe()
    undo.callback(os.close, read_end)
    undo.callback(os.close, write_end)
    return read_end, write_end


class OsPipe(Transport):
    name = "os_pipe"
    summary = "two os.pipe() pairs, os.read/os.write with length framing"
    receive = "copy"

    def open(self, ctx, capacity, child_cpus):
        with undo_on_error() as undo:
            to_child_r, to_child_w = pipe(undo)
            to_parent_r, to_parent_w = pipe(undo)
            for fd in (to_child_w, to_parent_w):
                fit_pipe_buffer(fd, capacity)
            parent = PipeEndpoint(FdStream(to_parent_r, to_child_w, capacity))
            child_side = FdStream(to_child_r, to_parent_w, capacity)
        return start_serving(ctx, parent, child_side, child_cpus)

    # Several writers on one pipe: a write of at most PIPE_BUF bytes is atomic, so a message
    # (header + payload, one os.write) arrives whole; larger ones could interleave.
    fanin_max_size = select.PIPE_BUF - HEADER.size

    def open_fanin(self, ctx, capacity, helper_cpus):
        read_end, write_end = os.pipe()
        return FdStream(read_end, write_end, capacity)
