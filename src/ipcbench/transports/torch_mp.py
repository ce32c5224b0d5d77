"""`torch_mp`: two torch.multiprocessing queues; CPU tensors travel as shared-memory handles.

torch.multiprocessing is multiprocessing with torch's reductions registered in its pickler
(ForkingPickler): a Queue of its context is multiprocessing's Queue, and a tensor put into it is
moved to shared memory (once) and sent as a handle, so the receiver maps the sender's memory: no
copy of the data. Bytes travel as through mp_queue. So it carries bytes (the commands, and the
contract's checks) and the `torch` payload kind (array_kinds.py); any other kind would measure
mp_queue again.

Sharing strategy "file_descriptor", Linux's default, set explicitly: a tensor's memory is a POSIX
shared-memory object that torch unlinks as soon as it has mapped it, so /dev/shm holds nothing of
it even while the benchmark runs, and no crash can leave one behind; the handle is a file
descriptor passed to the receiver through multiprocessing's resource sharer (a Unix socket in
the sender's private temp directory, authenticated with the processes' authkey). "file_system"
would leave named files (/dev/shm/torch_*) for its torch_shm_manager daemon to remove, which a
SIGKILL of the whole run can outlive: not used.

torch is an optional extra (`pip install 'ipcbench[torch]'`) and takes over a second to import:
nothing imports it before a channel opens (the registry, `list` and the default run never do).
The child gets it with the parent's memory (fork), or imports it when the first tensor arrives
(spawn, forkserver: unpickling the handle imports torch), keeping the default strategy.
"""

import importlib.util

from ipcbench.transports.base import Transport, start_child
from ipcbench.transports.mp_queue import QueueEndpoint

STRATEGY = "file_descriptor"


class TorchMp(Transport):
    name = "torch_mp"
    summary = "two torch.multiprocessing Queues: CPU tensors as shared-memory handles (zero-copy)"
    # What recv() of bytes hands over: a queue's unpickled copy. A tensor is a view of the
    # sender's shared memory: the torch kind says so (payloads.KIND_RECEIVE).
    receive = "copy"
    kinds = ("bytes", "torch")
    in_default_matrix = False
    # startup would time mp_queue's channel (it sends bytes) plus, under spawn, nothing of torch.
    patterns = ("pingpong", "stream")

    @classmethod
    def unavailable_reason(cls) -> str | None:
        # find_spec, not import: importing torch takes over a second, and `list` and every plan
        # ask every transport.
        if importlib.util.find_spec("torch") is None:
            return "needs torch: pip install 'ipcbench[torch]'"
        return None

    def open(self, ctx, capacity, child_cpus):
        import torch.multiprocessing

        torch.multiprocessing.set_sharing_strategy(STRATEGY)
        # The same context object multiprocessing.get_context(method) returns: torch's
        # reductions are registered in the pickler all its queues use.
        ctx = torch.multiprocessing.get_context(ctx.get_start_method())
        to_child, to_parent = ctx.Queue(), ctx.Queue()
        process = start_child(ctx, QueueEndpoint(to_parent, to_child), child_cpus)
        return QueueEndpoint(to_child, to_parent, process)
