"""What the start-up, fan-in, pool and counter cells say: tables and sentences from the frame.

Each function takes one file's cells (the tidy frame of results.load_results) and returns plain
data: a `Table` of formatted strings, or a sentence computed from the figures, or None when the
file has no such cells. html.py puts them on the page; `show` prints the counter's finding.
Only pandas here: `show` imports this module, and must not pay for matplotlib.
"""

from dataclasses import dataclass, field

from ipcbench.cell import METHODS
from ipcbench.sizes import format_size
from ipcbench.tables import count, milliseconds, missing, number

BARE_PROCESS = "process"  # startup's variant: a do-nothing process, no transport
POOL_STARTUPS = ("mp_pool", "executor")  # startup's variants: a pool of P processes
LOCKLESS = "unlocked"  # counter's variant that is expected to lose updates


@dataclass
class Table:
    """Headers, rows of display strings, the right-aligned (numeric) columns, a class per row."""

    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    right: set[int] = field(default_factory=set)
    classes: list[str] = field(default_factory=list)

    def add(self, cells: list[str], css_class: str = "") -> None:
        self.rows.append(cells)
        self.classes.append(css_class)


def _method_order(method: str) -> int:
    return METHODS.index(method) if method in METHODS else len(METHODS)


def _of(frame, pattern: str):
    """The pattern's cells at one CPU placement: two placements are two different costs."""
    cells = frame[frame["pattern"] == pattern]
    if cells.empty:
        return cells
    placements = list(cells["placement"])
    placement = "split" if "split" in placements else placements[0]
    return cells[cells["placement"] == placement]


def _ratio(value: float) -> str:
    return f"{number(value)}×"


def _percent(share: float) -> str:
    return f"{share:.0%}" if share >= 0.01 or share == 0 else f"{share:.1%}"


# -- startup -------------------------------------------------------------------------------------


def startup_table(frame) -> Table | None:
    cells = _of(frame, "startup")
    if cells.empty:
        return None
    table = Table(
        [
            "what starts",
            "start method",
            "median (ms)",
            "MAD (ms)",
            "first message alone (ms)",
            "vs fork",
        ],
        right={2, 3, 4, 5},
    )
    # Pools start P processes: each (variant, P) is its own line, set against fork's.
    fork = {
        (row.transport, row.procs): row.median
        for row in cells[cells["method"] == "fork"].itertuples()
    }
    rows = sorted(
        cells.itertuples(),
        key=lambda r: (r.transport != BARE_PROCESS, r.transport, r.procs, _method_order(r.method)),
    )
    for row in rows:
        first = row.first_message_us
        base = fork.get((row.transport, row.procs))
        table.add(
            [
                _what_starts(row),
                row.method,
                number(row.median * 1e3),
                number(row.mad * 1e3),
                "—" if missing(first) else number(first / 1e3),
                "—" if base is None else _ratio(row.median / base),
            ]
        )
    return table


def _what_starts(row) -> str:
    if row.transport == BARE_PROCESS:
        return "a do-nothing process (create, start, join)"
    if row.transport in POOL_STARTUPS:
        return f"{row.transport} of {row.procs}: create, first result, shut down"
    return f"{row.transport}: open, first reply, close ({row.size})"


def startup_finding(frame) -> str | None:
    """The bare process's cost per start method, as ratios to fork, e.g. `spawn costs 20.7×
    fork here (60.3 ms vs 2.91 ms)`; then the quickest channel to a first reply per method."""
    cells = _of(frame, "startup")
    if cells.empty:
        return None
    sentences = []
    bare = cells[cells["transport"] == BARE_PROCESS].groupby("method")["median"].median()
    methods = sorted(bare.index, key=_method_order)
    if "fork" in bare:
        fork = bare["fork"]
        sentence = "A process that does nothing (create, start, join) costs "
        sentence += f"{milliseconds(fork)} with fork"
        others = [m for m in methods if m != "fork"]
        phrases = [
            f"{method} costs {_ratio(bare[method] / fork)} fork here "
            f"({milliseconds(bare[method])} vs {milliseconds(fork)})"
            if index == 0
            else f"{method} {_ratio(bare[method] / fork)} fork ({milliseconds(bare[method])})"
            for index, method in enumerate(others)
        ]
        if phrases:
            sentence += "; " + ", ".join(phrases[:-1]) + (" and " if len(phrases) > 1 else "")
            sentence += phrases[-1]
        sentences.append(sentence + ".")
    elif methods:
        listed = ", ".join(f"{milliseconds(bare[m])} with {m}" for m in methods)
        sentences.append(
            f"A process that does nothing (create, start, join) costs {listed}; fork not measured."
        )
    channels = cells[cells["transport"] != BARE_PROCESS]
    quickest = [
        f"{best.transport} with {method} ({milliseconds(best.median)})"
        for method, group in sorted(channels.groupby("method"), key=lambda g: _method_order(g[0]))
        for best in [next(group.sort_values("median").itertuples())]
    ]
    if quickest:
        sentences.append(
            "From opening a channel through its child's first reply to closing it, the quickest "
            "transport is " + ", ".join(quickest) + "."
        )
    return " ".join(sentences) or None


# -- fanin ---------------------------------------------------------------------------------------


def fanin_table(frame) -> Table | None:
    cells = _of(frame, "fanin")
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
        key=lambda g: (g[0][2], g[0][0], _method_order(g[0][1])),
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
                *([_ratio(scaling) if scaling is not None else "—"] if scaled else []),
            ]
        )
    return table


def fanin_finding(frame) -> str | None:
    """How each transport's messages/s changes from the fewest to the most producers, at the
    smallest payload and the first start method measured."""
    cells = _of(frame, "fanin")
    if cells.empty or cells["procs"].nunique() < 2:
        return None
    method = min(set(cells["method"]), key=_method_order)
    size = int(cells["size_bytes"].min())
    subset = cells[(cells["method"] == method) & (cells["size_bytes"] == size)]
    fewest, most = int(subset["procs"].min()), int(subset["procs"].max())
    phrases = []
    for transport, line in sorted(subset.groupby("transport")):
        rates = line.groupby("procs")["per_second"].median()
        if fewest in rates and most in rates:
            phrases.append(
                f"{transport} {_ratio(rates[most] / rates[fewest])} "
                f"({count(rates[fewest])} → {count(rates[most])} msg/s)"
            )
    if not phrases:
        return None
    return (
        f"With {most} producers instead of {fewest} ({format_size(size)}, {method}), the messages "
        f"per second into one consumer change by: {', '.join(phrases)}. Above 1× a transport "
        "takes more from more writers; at or below 1× its single reader (or a lock) is the limit."
    )


# -- pool ----------------------------------------------------------------------------------------


def _pool_label(variant: str, chunksize: int, chunked: bool) -> str:
    return f"{variant}, chunksize {chunksize}" if chunked else variant


def pool_lines(cells) -> list[tuple[str, str, int]]:
    """(label, variant, chunksize) of each pool call measured: apply, then map and imap by
    chunksize; the report's figure and table share this order and these labels."""
    from ipcbench.tables import axis_applies

    order = {"apply": 0, "map": 1, "imap": 2}
    found = {
        (row.transport, int(row.chunksize), axis_applies("pool", row.transport, "chunksize"))
        for row in cells.itertuples()
    }
    return [
        (_pool_label(variant, chunksize, chunked), variant, chunksize)
        for variant, chunksize, chunked in sorted(
            found, key=lambda f: (order.get(f[0], 3), f[0], f[1])
        )
    ]


def pool_table(frame) -> Table | None:
    cells = _of(frame, "pool")
    if cells.empty:
        return None
    lines = pool_lines(cells)
    table = Table(
        [
            "start method",
            "workers",
            "payload size",
            *(f"{label} (µs/task)" for label, _v, _c in lines),
            "most tasks/s",
        ],
        right=set(range(1, 4 + len(lines))),
    )
    for (method, procs, size), group in sorted(
        cells.groupby(["method", "procs", "size_bytes"]),
        key=lambda g: (_method_order(g[0][0]), g[0][1], g[0][2]),
    ):
        medians = group.groupby(["transport", "chunksize"])["median"].median()
        table.add(
            [
                method,
                str(procs),
                format_size(int(size)),
                *(
                    number(medians[(variant, chunksize)] * 1e6)
                    if (variant, chunksize) in medians
                    else "—"
                    for _label, variant, chunksize in lines
                ),
                count(1 / medians.min()),
            ]
        )
    return table


def pool_finding(frame) -> str | None:
    """The fastest way through the pool per task, against apply_async().get() on the same pool."""
    cells = _of(frame, "pool")
    if cells.empty:
        return None
    from ipcbench.tables import axis_applies

    best = next(cells.sort_values("median").itertuples())
    chunked = axis_applies("pool", best.transport, "chunksize")
    label = _pool_label(best.transport, int(best.chunksize), chunked)
    where = f"{best.size}, {best.method}, {best.procs} worker{'s' if best.procs > 1 else ''}"
    sentence = (
        f"Per task, {label} is the fastest call measured: {number(best.median * 1e6)} µs "
        f"({count(1 / best.median)} tasks/s; {where})"
    )
    same_pool = cells[
        (cells["transport"] == "apply")
        & (cells["method"] == best.method)
        & (cells["procs"] == best.procs)
        & (cells["size_bytes"] == best.size_bytes)
    ]
    if best.transport != "apply" and not same_pool.empty:
        apply = same_pool["median"].median()
        sentence += (
            f", {_ratio(apply / best.median)} faster than one apply_async().get() at a time "
            f"({number(apply * 1e6)} µs) on the same pool"
        )
    return sentence + "."


# -- counter -------------------------------------------------------------------------------------


def _counter_cells(frame):
    cells = _of(frame, "counter")
    order = {"value_lock": 0, "manager_lock": 1, LOCKLESS: 2}
    return sorted(
        cells.itertuples(),
        key=lambda r: (order.get(r.transport, 3), r.transport, _method_order(r.method), r.procs),
    )


def _lost(row) -> tuple[int, int] | None:
    """(lost, updates) of a counter cell, None where its file recorded none."""
    if missing(row.updates):
        return None
    lost = 0 if missing(row.lost_updates) else int(row.lost_updates)
    return lost, int(row.updates)


def counter_table(frame) -> Table | None:
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
                "—" if lost is None else _percent(lost[0] / lost[1]),
            ],
            "lost" if lost is not None and lost[0] else "",
        )
    return table


def counter_finding(frame) -> str | None:
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
                f"{variant}: {_percent(lost / updates)} of increments lost with {worst.procs} "
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
