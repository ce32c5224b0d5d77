"""`fifo`: two named pipes (os.mkfifo) in a private directory, length-framed like os_pipe.

What sets a FIFO apart from os.pipe is the rendezvous by path: the child opens both by name.
The names live only while the two sides meet: the parent removes them (and the directory) once
the child has both ends open, which the child says with one READY byte before any framing.
Nothing is left in the file system after open(), even if both processes are SIGKILLed later.

Opening a FIFO blocks until the other side opens it; neither side may wait on a peer that could
die first. So the parent holds the to-child FIFO open read-write (on Linux this never blocks, and
it lets the child's read-open return at once) and its to-parent read end non-blocking, until the
child's READY shows that the child holds its ends; then it opens its real write end.
"""

import os
import select
import shutil
import tempfile

from ipcbench.children import kill_process
from ipcbench.transports.base import Transport, start_child, undo_on_error
from ipcbench.transports.connect_in_child import ConnectInChild
from ipcbench.transports.framing import FdStream
from ipcbench.transports.os_pipe import PipeEndpoint

READY = b"R"
POLL_SECONDS = 0.1  # how often the parent looks whether the child died before it was READY


def _connect(to_child: str, to_parent: str, capacity: int) -> FdStream:
    """In the child: open both FIFOs by name, then tell the parent.

    Non-blocking opens: if the parent died while this child was starting, a blocking open would
    wait for it forever; now the write end fails (ENXIO) or the first read sees EOF instead.
    """
    rfd = os.open(to_child, os.O_RDONLY | os.O_NONBLOCK)
    wfd = os.open(to_parent, os.O_WRONLY | os.O_NONBLOCK)
    for fd in (rfd, wfd):
        os.set_blocking(fd, True)
    os.write(wfd, READY)
    return FdStream(rfd, wfd, capacity)


class Fifo(Transport):
    name = "fifo"
    summary = "two os.mkfifo FIFOs in a private directory, opened by name, length-framed"
    # recv returns a fresh bytes object for small messages and, like os_pipe, a view of its
    # reused buffer for large ones; either way the data was copied out of the kernel's pipe.
    receive = "copy"
    in_default_matrix = False

    def open(self, ctx, capacity, child_cpus):
        directory = tempfile.mkdtemp(prefix="ipcbench-fifo-")  # mode 0700: only this user
        to_child, to_parent = (os.path.join(directory, name) for name in ("to-child", "to-parent"))
        try:
            with undo_on_error() as undo:
                os.mkfifo(to_child, 0o600)
                os.mkfifo(to_parent, 0o600)
                placeholder = _open(to_child, os.O_RDWR, undo)
                rfd = _open(to_parent, os.O_RDONLY | os.O_NONBLOCK, undo)
                child_side = ConnectInChild(_connect, to_child, to_parent, capacity)
                process = start_child(ctx, child_side, child_cpus)
                undo.callback(kill_process, process)  # nothing to wait for: it never served
                _await_ready(rfd, process)
                wfd = _open(to_child, os.O_WRONLY, undo)  # the child reads it: returns at once
        finally:
            shutil.rmtree(directory, ignore_errors=True)  # the names have served their purpose
        os.close(placeholder)  # the child still sees a writer (wfd): no early EOF
        os.set_blocking(rfd, True)
        endpoint = PipeEndpoint(FdStream(rfd, wfd, capacity))
        endpoint.process = process
        return endpoint


def _open(path: str, flags: int, undo) -> int:
    fd = os.open(path, flags)
    undo.callback(os.close, fd)
    return fd


def _await_ready(rfd: int, process) -> None:
    while not select.select([rfd], [], [], POLL_SECONDS)[0]:
        if not process.is_alive():
            raise EOFError(f"the child exited (code {process.exitcode}) before opening the FIFOs")
    if os.read(rfd, 1) != READY:
        raise EOFError("the child closed the FIFO before it was ready")
