"""A crew: child processes that each wait for the parent's word on a control pipe.

fanin's producers and counter's incrementers are started once, before the clock, and told when
to work (`tell`), so that the timed runs hold no process start-up.
"""

from ipcbench.transports.base import stop_processes


class Crew:
    def __init__(self) -> None:
        self.members: list = []  # (process, the parent's end of its control pipe)

    def __len__(self) -> int:
        return len(self.members)

    def start(self, context, target, args: tuple, cpus_of_each: list, name: str) -> None:
        """One child per entry of `cpus_of_each`, running target(control, cpus, number, *args)."""
        for number, cpus in enumerate(cpus_of_each):
            control, child_control = context.Pipe()
            process = context.Process(
                target=target,
                args=(child_control, cpus, number, *args),
                name=f"{name}-{number}",
                daemon=True,
            )
            self.members.append((process, control))
            process.start()
            child_control.close()  # the child holds its end now: EOF reaches it if we go

    def tell(self, command: bytes) -> None:
        for _, control in self.members:
            control.send_bytes(command)

    def replies(self) -> list[bytes]:
        """One reply from each member, in order."""
        return [control.recv_bytes() for _, control in self.members]

    def stop(self) -> None:
        """Tell every member to exit, then join (or terminate) them."""
        for _, control in self.members:
            try:
                control.send_bytes(b"exit")
            except OSError:
                pass  # that member is gone already
            control.close()
        stop_processes([process for process, _ in self.members])
        self.members.clear()
