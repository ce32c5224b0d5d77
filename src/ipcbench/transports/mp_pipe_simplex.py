"""`mp_pipe_simplex`: two multiprocessing.Pipe(duplex=False), one per direction.

On POSIX a simplex Pipe is an os.pipe() where a duplex one is a socketpair: same Connection
framing (send_bytes/recv_bytes_into), a different kernel object underneath.
"""

from ipcbench.transports.base import Transport, start_child, stop_process


class SimplexEndpoint:
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

    def close(self) -> None:
        self.reader.close()  # idempotent; the child sees EOF even if it missed the exit command
        self.writer.close()
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def __reduce__(self):
        # Only the connections travel to the child (the process handle stays with the parent).
        return SimplexEndpoint, (self.reader, self.writer, self.capacity)


class MpPipeSimplex(Transport):
    name = "mp_pipe_simplex"
    summary = "two multiprocessing.Pipe(duplex=False) (os.pipe), send_bytes/recv_bytes_into"
    receive = "copy"
    in_default_matrix = False

    def open(self, ctx, capacity, child_cpus):
        to_child_r, to_child_w = ctx.Pipe(duplex=False)
        to_parent_r, to_parent_w = ctx.Pipe(duplex=False)
        try:
            child_side = SimplexEndpoint(to_child_r, to_parent_w, capacity)
            process = start_child(ctx, child_side, child_cpus)
        except BaseException:
            for connection in (to_child_w, to_parent_r):
                connection.close()
            raise
        finally:
            # The child holds its own copies now (inherited or passed): drop the parent's.
            to_child_r.close()
            to_parent_w.close()
        return SimplexEndpoint(to_parent_r, to_child_w, capacity, process)
