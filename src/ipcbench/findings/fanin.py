"""Fan-in: messages per second into one consumer, and how they scale with producers."""

from ipcbench.findings import Table, cells_of, method_order, ratio
from ipcbench.sizes import format_size
from ipcbench.units import count, number


def table(frame) -> Table | None:
    cells = cells_of(frame, "fanin")
    if cells.empty:
        return None
    procs = sorted(set(cells["procs"]))
    fewest, most = procs[0], procs[-1]
    scaled = most > fewest  # one producer count: nothing to scale
    table = Table(
        [
            "transport",
            "start method",
            "payload size",
            *(f"msg/s, {p} producer{'s' if p > 1 else ''}" for p in procs),
            f"MB/s, {most} producers" if most > 1 else "MB/s",
            *([f"scaling (P={most} ÷ P={fewest})"] if scaled else []),
        ],
        right=set(range(3, 5 + len(procs))),
    )
    for (transport, method, size), line in sorted(
        cells.groupby(["transport", "method", "size_bytes"]),
        key=lambda g: (g[0][2], g[0][0], method_order(g[0][1])),
    ):
        rates = line.groupby("procs")["per_second"].median()
        throughput = line.groupby("procs")["throughput_MBps"].median()
        scaling = rates[most] / rates[fewest] if fewest in rates and most in rates else None
        table.add(
            [
                transport,
                method,
                format_size(int(size)),
                *(count(rates[p]) if p in rates else "—" for p in procs),
                number(throughput[most]) if most in throughput else "—",
                *([ratio(scaling) if scaling is not None else "—"] if scaled else []),
            ]
        )
    return table


def finding(frame) -> str | None:
    """How each transport's messages/s changes from the fewest to the most producers, at the
    smallest payload and the first start method measured."""
    cells = cells_of(frame, "fanin")
    if cells.empty or cells["procs"].nunique() < 2:
        return None
    method = min(set(cells["method"]), key=method_order)
    size = int(cells["size_bytes"].min())
    subset = cells[(cells["method"] == method) & (cells["size_bytes"] == size)]
    fewest, most = int(subset["procs"].min()), int(subset["procs"].max())
    phrases = []
    for transport, line in sorted(subset.groupby("transport")):
        rates = line.groupby("procs")["per_second"].median()
        if fewest in rates and most in rates:
            phrases.append(
                f"{transport} {ratio(rates[most] / rates[fewest])} "
                f"({count(rates[fewest])} → {count(rates[most])} msg/s)"
            )
    if not phrases:
        return None
    return (
        f"With {most} producers instead of {fewest} ({format_size(size)}, {method}), the messages "
        f"per second into one consumer change by: {', '.join(phrases)}. Above 1× a transport "
        "takes more from more writers; at or below 1× its single reader (or a lock) is the limit."
    )
