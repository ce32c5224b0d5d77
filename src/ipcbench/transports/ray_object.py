"""`ray_object`: payloads through Ray's object store, `ray.put` on one side, `ray.get` on the other.

Each message is put in the store and its reference handed to the child actor in a call (a
reference inside a list, so that Ray does not resolve it on the way); the actor gets it, and
puts each reply back the same way. Buffers go in as numpy arrays of bytes, which Ray stores out of
band: a `get` on the same node maps the object's memory instead of copying it.

`ray_object` then copies what it received into bytes the receiver owns, like every `copy`
transport; `ray_object_inplace` hands over the read-only array mapped from the store itself (a
view, valid while referenced): Ray's zero-copy path, labelled and ranked apart.
"""

from ipcbench.transports.ray_actor import ChildActor, RayActor, RayEndpoint


class ObjectActor(ChildActor):
    def handle(self, boxed) -> list:
        import ray

        return [ray.put(reply) for reply in super().handle(ray.get(boxed[0]))]


class ObjectEndpoint(RayEndpoint):
    copy_out = True

    def send(self, data) -> None:
        import numpy

        array = numpy.frombuffer(data, dtype=numpy.uint8)  # no copy: Ray's put makes the one
        self._pending.append(self._call([self._ray.put(array)]))

    def send_object(self, obj) -> None:
        self._pending.append(self._call([self._ray.put(obj)]))

    def unbox(self, references):
        replies = self._ray.get(references)
        if not self.copy_out:
            return replies
        return [bytes(reply) if hasattr(reply, "tobytes") else reply for reply in replies]


class InplaceEndpoint(ObjectEndpoint):
    copy_out = False


class RayObject(RayActor):
    name = "ray_object"
    summary = "ray.put / ray.get through Ray's object store, references passed in actor calls"
    actor_class = ObjectActor
    endpoint_class = ObjectEndpoint


class RayObjectInplace(RayObject):
    name = "ray_object_inplace"
    summary = "ray_object, the receiver reading the store's zero-copy array in place"
    receive = "view"
    endpoint_class = InplaceEndpoint
