"""`unix_socket`: a socket.socketpair(AF_UNIX), length-framed, raw sendall/recv_into.

The same kind of socket as multiprocessing.Pipe(duplex=True), without the Connection layer:
the floor under mp_pipe.
"""

import socket

from ipcbench.transports.base import Transport
from ipcbench.transports.socket_stream import open_socket_pair


class UnixSocket(Transport):
    name = "unix_socket"
    summary = "socket.socketpair(AF_UNIX), length framing, sendall/recv_into"
    receive = "copy"
    in_default_matrix = False

    def open(self, ctx, capacity, child_cpus):
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        return open_socket_pair(ctx, capacity, child_cpus, parent_sock, child_sock)
