"""`subprocess_pipe`: `python -m ipcbench.child` via subprocess.Popen, framed over stdin/stdout."""

import subprocess
import sys

from ipcbench.transports.base import CHILD_EXIT_GRACE, ChildEndpoint, Transport
from ipcbench.transports.framing import FdStream
from ipcbench.transports.os_pipe import fit_pipe_buffer


class PopenEndpoint(ChildEndpoint):
    """Framed messages over a Popen's stdin and stdout; the Popen is the child (`process`)."""

    def __init__(self, popen: subprocess.Popen, capacity: int) -> None:
        self.popen = self.process = popen
        self.stream = FdStream(popen.stdout.fileno(), popen.stdin.fileno(), capacity)
        self.send, self.recv = self.stream.send, self.stream.recv
        self.fixed_calls, self.send_frames = self.stream.fixed_calls, self.stream.send_frames

    def close_channel(self) -> None:
        # The Popen's own files hold the fds: they close them (not the stream, which would
        # close them a second time). EOF: the child leaves even if it missed the exit command.
        self.stream._reader.close()
        self.popen.stdin.close()
        self.popen.stdout.close()

    def stop_child(self, popen: subprocess.Popen) -> None:
        try:
            popen.wait(timeout=CHILD_EXIT_GRACE)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


class SubprocessPipe(Transport):
    name = "subprocess_pipe"
    summary = "subprocess.Popen([python, -m, ipcbench.child]), framed over stdin/stdout"
    receive = "copy"
    methods = ("exec",)

    def open(self, ctx, capacity, child_cpus):
        command = [sys.executable, "-m", "ipcbench.child", "--stdio", f"--capacity={capacity}"]
        if child_cpus:
            command.append("--cpus=" + ",".join(map(str, sorted(child_cpus))))
        popen = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        endpoint = PopenEndpoint(popen, capacity)
        for pipe in (popen.stdin, popen.stdout):
            fit_pipe_buffer(pipe.fileno(), capacity)
        return endpoint
