"""`mp_pipe_simplex`: two multiprocessing.Pipe(duplex=False), one per direction.

On POSIX a simplex Pipe is an os.pipe() where a duplex one is a socketpair: same Connection
framing (send_bytes/recv_bytes_into), a different kernel object underneath.
"""

from ipcbench.transports.base import ChildEndpoint, Transport, start_serving, undo_on_error


class SimplexEndpoint(ChildEndpoint):
    """Whole messages out through one Connection and in through another, into a reused buffer."""

    def __init__(self, reader, writer, capacity: int, process=None) -> None:
        self.reader, self.writer, self.capacity, self.process = reader, writer, capacity, process
        buffer = bytearray(capacity)
        view, recv_bytes_into = memoryview(buffer), reader.recv_bytes_into
        self.send = writer.send_bytes
        # Connection.send/recv pickle objects themselves: the object API.
        self.send_object, self.recv_object = writer.send, reader.recv

        def recv() -> memoryview:
            return view[: recv_bytes_into(buffer)]

        self.recv = recv

    def close_channel(self) -> None:
        self.reader.close()  # idempotent; the child sees EOF even if it missed the exit command
        self.writer.close()

    def child_args(self) -> tuple:
        return self.reader, self.writer, self.capacity


class MpPipeSimplex(Transport):
    name = "mp_pipe_simplex"
    summary = "two multiprocessing.Pipe(duplex=False) (os.pipe), send_bytes/recv_bytes_into"
    receive = "copy"
    in_default_matrix = False

    def open(self, ctx, capacity, child_cpus):
        with undo_on_error() as undo:
            to_child_r, to_child_w = pipe(ctx, undo)
            to_parent_r, to_parent_w = pipe(ctx, undo)
            parent = SimplexEndpoint(to_parent_r, to_child_w, capacity)
            child_side = SimplexEndpoint(to_child_r, to_parent_w, capacity)
        return start_serving(ctx, parent, child_side, child_cpus)


def pipe(ctx, undo):
    """ctx.Pipe(duplex=False), both ends closed by `undo` if the open fails later."""
    reader, writer = ctx.Pipe(duplex=False)
    undo.callback(reader.close)
    undo.callback(writer.close)
    return reader, writer
