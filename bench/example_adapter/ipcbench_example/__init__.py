"""An example third-party transport: socket.socketpair(AF_UNIX), length-framed.

Install with `pip install -e bench/example_adapter`; `python -m ipcbench list` then shows
`example_socketpair`, and `python -m ipcbench run -t example_socketpair` measures it.
"""

import socket
import struct

from ipcbench.transports.base import Transport, start_child, stop_process

HEADER = struct.Struct("<I")


class SocketEndpoint:
    def __init__(self, sock: socket.socket, capacity: int, process=None) -> None:
        self.sock, self.capacity, self.process = sock, capacity, process
        self._buffer = memoryview(bytearray(max(capacity, HEADER.size)))

    def send(self, data) -> None:
        self.sock.sendall(HEADER.pack(len(data)))
        self.sock.sendall(data)

    def recv(self) -> memoryview:
        (length,) = HEADER.unpack(self._read(HEADER.size))
        return self._read(length)

    def _read(self, count: int) -> memoryview:
        view = self._buffer[:count]
        while view:
            received = self.sock.recv_into(view)
            if not received:
                raise EOFError("the other side closed the socket")
            view = view[received:]
        return self._buffer[:count]

    def close(self) -> None:
        self.sock.close()
        if self.process is not None:
            stop_process(self.process)

    def __reduce__(self):
        # multiprocessing knows how to hand a socket to a spawned or forkserver child.
        return SocketEndpoint, (self.sock, self.capacity)


class SocketPair(Transport):
    name = "example_socketpair"
    summary = "socket.socketpair(AF_UNIX), sendall/recv_into (example plug-in)"

    def open(self, ctx, capacity, child_cpus):
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            process = start_child(ctx, SocketEndpoint(child_sock, capacity), child_cpus)
        finally:
            child_sock.close()
        return SocketEndpoint(parent_sock, capacity, process)
