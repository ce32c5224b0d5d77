"""Shared counter: increments per second, and the updates lost without a lock."""

from ipcbench.findings import Table, cells_of, method_order, percent
from ipcbench.units import count, missing, number

LOCKLESS = "unlocked"  # counter's variant that is expected to lose updates


def _counter_cells(frame):
    cells = cells_of(frame, "counter")
    order = {"value_lock": 0, "manager_lock": 1, LOCKLESS: 2}
    return sorted(
        cells.itertuples(),
        key=lambda r: (order.get(r.transport, 3), r.transport, method_order(r.method), r.procs),
    )


def _lost(row) -> tuple[int, int] | None:
    """(lost, updates) of a counter cell, None where its file recorded none."""
    if missing(row.updates):
        return None
    lost = 0 if missing(row.lost_updates) else int(row.lost_updates)
    return lost, int(row.updates)


def table(frame) -> Table | None:
    rows = _counter_cells(frame)
    if not rows:
        return None
    table = Table(
        [
            "variant",
            "start method",
            "processes",
            "increments/s",
            "µs per increment",
            "updates checked",
            "lost updates",
            "share lost",
        ],
        right={2, 3, 4, 5, 6, 7},
    )
    for row in rows:
        lost = _lost(row)
        table.add(
            [
                row.transport,
                row.method,
                str(row.procs),
                count(row.per_second),
                number(row.median * 1e6),
                "—" if lost is None else str(lost[1]),
                "—" if lost is None else str(lost[0]),
                "—" if lost is None else percent(lost[0] / lost[1]),
            ],
            "lost" if lost is not None and lost[0] else "",
        )
    return table


def finding(frame) -> str | None:
    """The correctness finding, e.g. `unlocked: 49% of increments lost with 2 processes (...);
    value_lock and manager_lock lost none.`"""
    rows = [row for row in _counter_cells(frame) if _lost(row) is not None]
    if not rows:
        return None
    variants = list(dict.fromkeys(row.transport for row in rows))
    phrases, clean = [], []
    for variant in variants:
        mine = [row for row in rows if row.transport == variant]
        worst = max(mine, key=lambda r: _lost(r)[0] / _lost(r)[1])
        lost, updates = _lost(worst)
        if lost:
            phrases.append(
                f"{variant}: {percent(lost / updates)} of increments lost with {worst.procs} "
                f"processes ({lost} of {updates}, {worst.method})"
            )
        elif variant == LOCKLESS:
            most = max(row.procs for row in mine)
            phrases.append(
                f"{variant}: no update lost"
                + (
                    " (one process only: nothing to race with)"
                    if most == 1
                    else f" with up to {most} processes in this run (the race needs them to "
                    "increment at the same moment, on two or more CPUs)"
                )
            )
        else:
            clean.append(variant)
    if clean:
        phrases.append(f"{' and '.join(clean)} lost none")
    return "; ".join(phrases) + "."
