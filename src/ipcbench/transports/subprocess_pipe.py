"""`subprocess_pipe`: `python -m ipcbench.child` via subprocess.Popen, framed over stdin/stdout."""

import subprocess
import sys

from ipcbench.transports.base import Transport
from ipcbench.transports.framing import FdStream
from ipcbench.transports.os_pipe import fit_pipe_buffer


class PopenEndpoint(FdStream):
    def __init__(self, popen: subprocess.Popen, capacity: int) -> None:
        super().__init__(popen.stdout.fileno(), popen.stdin.fileno(), capacity)
        self.popen = popen

    def close(self) -> None:
        self._reader.close()
        self.popen.stdin.close()  # EOF: the child leaves even if it missed the exit command
        self.popen.stdout.close()
        try:
            self.popen.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


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
        for pipe in (popen.stdin, popen.stdout):
            fit_pipe_buffer(pipe.fileno(), capacity)
        return PopenEndpoint(popen, capacity)
