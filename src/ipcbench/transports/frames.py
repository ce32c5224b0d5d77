"""Several frames as one message, and objects pickled with out-of-band buffers over them.

An endpoint may have `send_frames(frames)` / `recv_frames()`: a list of bytes-like frames sent
and received as one message (a pickle and its out-of-band buffers: the `pickle5` payload kind).
Where it has not, `frame_calls` builds both on its byte path (send/recv), one message per frame:

    message 1     COUNT (4 bytes, little-endian: how many frames), then frame 0
    messages 2..  frame 1, frame 2, ... each as it is, no copy into a bigger message

An endpoint that can gather several buffers in one system call (os.writev, socket.sendmsg)
has a `send_frames` of its own that puts the same bytes on the wire in one call; the receiving
side is the same either way, so both ends of a channel need not agree on having it.

Imported by every child process (child.serve): standard library only.
"""

import pickle
import struct

COUNT = struct.Struct("<I")
PROTOCOL = 5  # the first with out-of-band buffers (PEP 574)


def frame_calls(endpoint):
    """(send_frames, recv_frames): the endpoint's own, or built on its send/recv."""
    send_frames = getattr(endpoint, "send_frames", None)
    if send_frames is None:
        send_frames = _frames_sender(endpoint.send)
    recv_frames = getattr(endpoint, "recv_frames", None)
    if recv_frames is None:
        recv_frames = _frames_receiver(endpoint.recv)
    return send_frames, recv_frames


def _frames_sender(send):
    pack = COUNT.pack

    def send_frames(frames) -> None:
        send(pack(len(frames)) + frames[0])  # frame 0 is a small pickle: cheap to copy
        for frame in frames[1:]:
            send(frame)

    return send_frames


def _frames_receiver(recv):
    unpack_from, start = COUNT.unpack_from, COUNT.size

    def recv_frames() -> list:
        first = recv()
        (count,) = unpack_from(first)
        if count < 1:
            raise ValueError(f"framing error: a message of {count} frames")
        frames = [bytes(first[start:])]
        for _ in range(count - 1):
            # recv()'s result is valid only until the next recv(): every frame but the last is
            # copied out (the last one stays where the transport put it, as any message does).
            if len(frames) > 1:
                frames[-1] = bytes(frames[-1])
            frames.append(recv())
        return frames

    return recv_frames


def oob_object_calls(endpoint):
    """(send_object, recv_object) with pickle protocol 5: the pickle in frame 0, each
    out-of-band buffer (an ndarray's memory, a PickleBuffer) in a frame of its own, never copied
    into the pickle; the receiver unpickles over the frames as they arrived."""
    send_frames, recv_frames = frame_calls(endpoint)
    dumps, loads = pickle.dumps, pickle.loads

    def send_object(obj) -> None:
        buffers = []
        head = dumps(obj, protocol=PROTOCOL, buffer_callback=buffers.append)
        send_frames([head, *(buffer.raw() for buffer in buffers)])

    def recv_object():
        head, *buffers = recv_frames()
        return loads(head, buffers=buffers)

    return send_object, recv_object


def framed_pieces(frames, header: struct.Struct) -> list:
    """What a gather write (writev, sendmsg) puts on a length-framed byte stream for `frames`:
    each message above behind its length `header`, the same bytes as one send() per message."""
    pack = header.pack
    pieces = [pack(COUNT.size + len(frames[0])), COUNT.pack(len(frames)), frames[0]]
    for frame in frames[1:]:
        pieces += (pack(len(frame)), frame)
    return pieces
