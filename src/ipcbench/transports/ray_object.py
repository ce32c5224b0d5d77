"""`ray_object`: payloads through Ray's object store, `ray.put` on one side, `ray.get` on the other.

Each message is put in the store and its reference handed to the child actor in a call (a
reference inside a list, so that Ray does not resolve it on the way); the actor gets it, and
puts each reply back the same way. Buffers go in as numpy arrays of bytes, which Ray stores out of
band: a `get` on the same node maps the object's memory instead of copying it.

The receiver then copies what it got into bytes it owns, like every `copy` transport: the
figure compares like with like (a transport's in-place reads are ranked apart, see base.py).
"""

from ipcbench.transports.ray_actor import ChildActor, RayActor, RayEndpoint


class ObjectActor(ChildActor):
    def handle(self, boxed) -> list:
        import ray

        return [ray.put(reply) for reply in super().handle(ray.get(boxed[0]))]


class ObjectEndpoint(RayEndpoint):
    def send(self, data) -> None:
        import numpy

        array = numpy.frombuffer(data, dtype=numpy.uint8)  # no copy: Ray's put makes the one
        self._pending.append(self._call([self._ray.put(array)]))

    def send_object(self, obj) -> None:
        self._pending.append(self._call([self._ray.put(obj)]))

    def unbox(self, references):
        # Arrays are mapped from the store: copied out, into bytes the receiver owns.
        replies = self._ray.get(references)
        return [bytes(reply) if hasattr(reply, "tobytes") else reply for reply in replies]


class RayObject(RayActor):
    name = "ray_object"
    summary = "ray.put / ray.get through Ray's object store, references passed in actor calls"
    actor_class = ObjectActor
    endpoint_class = ObjectEndpoint
