"""`unix_socket`: a socket.socketpair(AF_UNIX), length-framed, raw sendall/recv_into.

The same kind of socket as multiprocessing.Pipe(duplex=True), without the Connection layer:
the floor under mp_pipe.
"""

import socket

from ipcbench.transports.base import Transport, start_child
from ipcbench.transports.socket_stream import SocketStream


class UnixSocket(Transport):
    name = "unix_socket"
    summary = "socket.socketpair(AF_UNIX), length framing, sendall/recv_into"
    in_default_matrix = False

    def open(self, ctx, capacity, child_cpus):
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            process = start_child(ctx, SocketStream(child_sock, capacity), child_cpus)
        except BaseException:
            parent_sock.close()
            raise
        finally:
            child_sock.close()  # the child holds its own copy now (inherited or passed)
        return SocketStream(parent_sock, capacity, process)
