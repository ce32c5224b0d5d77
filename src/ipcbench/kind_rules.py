"""Which payload kinds a cell carries, and the plan's notes on the kinds it skipped.

Payload kinds are a question for pingpong and stream; the other patterns send bytes. A transport
carries the kinds it declares (Transport.kinds: every kind but pickle5 for queues and in-process
hand-overs; bytes and torch for torch_mp), and a kind whose message is larger than its payload
(an ndarray inside its pickle) must still fit the transport's message size limit.
"""

from ipcbench.array_kinds import ARRAY_KINDS, wire_size
from ipcbench.sizes import format_size

KIND_PATTERNS = ("pingpong", "stream")
# Why a transport does not carry a kind, where the kind itself is the reason.
WHY_NOT = {
    "pickle5": "needs a byte path that moves its frames as they are (a queue pickles them "
    "again; an in-process transport moves no bytes)",
    "torch": "moves shared-memory tensors through torch.multiprocessing's queues (torch_mp)",
}


def carried(pattern: str, subject, size: int, kinds: tuple[str, ...]) -> tuple[str, ...]:
    """The kinds of `kinds` that a cell of `pattern` on `subject` (a transport class or a
    pattern's variant) at payload `size` carries."""
    if pattern not in KIND_PATTERNS or not hasattr(subject, "kinds"):
        return ("bytes",)
    limit = subject.size_limit(pattern)
    return tuple(
        kind
        for kind in kinds
        if kind in subject.kinds and (limit is None or message_size(kind, size) <= limit)
    )


def message_size(kind: str, size: int) -> int:
    """The largest message a payload of `size` bytes of `kind` puts on a byte path."""
    return wire_size(kind, size) if kind in ARRAY_KINDS else size


def notes(patterns, kinds, sizes, transports, registry) -> list[str]:
    """What the selected kinds skipped, and why: patterns that send bytes only, transports that
    do not carry a kind, messages that outgrow a transport's size limit."""
    found = []
    extra = [kind for kind in kinds if kind != "bytes"]
    newer = [pattern for pattern in patterns if pattern not in KIND_PATTERNS]
    if extra and newer:
        found.append(f"{', '.join(newer)} send bytes only: kind {', '.join(extra)} skipped")
    if not any(pattern in KIND_PATTERNS for pattern in patterns):
        return found
    for kind in kinds:
        without = [t for t in transports if kind not in t.kinds]
        if without and kind in WHY_NOT:
            names = ", ".join(t.name for t in without)
            found.append(f"kind {kind} {WHY_NOT[kind]}: skipped for {names}")
        if kind in WHY_NOT and not any(kind in t.kinds for t in transports):
            found += _unavailable_carriers(kind, registry)
    for transport in transports:
        others = [kind for kind in kinds if kind not in transport.kinds and kind not in WHY_NOT]
        if others:
            found.append(
                f"{transport.name} carries only {', '.join(transport.kinds)}: "
                f"kind {', '.join(others)} skipped"
            )
        limit = transport.max_size
        for kind in [kind for kind in kinds if kind in transport.kinds and limit]:
            grown = [s for s in sizes if s <= limit < message_size(kind, s)]
            if grown:
                found.append(
                    f"{transport.name} holds at most {format_size(limit)} per message: {kind} "
                    f"skipped at {', '.join(map(format_size, grown))} (the pickle around it)"
                )
    return found


def _unavailable_carriers(kind: str, registry) -> list[str]:
    return [
        f"kind {kind}: {transport.name} is unavailable here: {transport.unavailable_reason()}"
        for transport in registry
        if kind in transport.kinds and transport.unavailable_reason()
    ]
