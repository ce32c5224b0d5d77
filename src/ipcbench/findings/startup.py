"""Process start-up: what a fresh process, a channel and a pool cost before any work."""

from ipcbench.findings import Table, cells_of, method_order, ratio
from ipcbench.units import milliseconds, missing, number

BARE_PROCESS = "process"  # startup's variant: a do-nothing process, no transport
POOL_STARTUPS = ("mp_pool", "executor")  # startup's variants: a pool of P processes


def table(frame) -> Table | None:
    cells = cells_of(frame, "startup")
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
        key=lambda r: (r.transport != BARE_PROCESS, r.transport, r.procs, method_order(r.method)),
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
                "—" if base is None else ratio(row.median / base),
            ]
        )
    return table


def _what_starts(row) -> str:
    if row.transport == BARE_PROCESS:
        return "a do-nothing process (create, start, join)"
    if row.transport in POOL_STARTUPS:
        return f"{row.transport} of {row.procs}: create, first result, shut down"
    return f"{row.transport}: open, first reply, close ({row.size})"


def finding(frame) -> str | None:
    """The bare process's cost per start method, as ratios to fork, e.g. `spawn costs 20.7×
    fork here (60.3 ms vs 2.91 ms)`; then the quickest channel to a first reply per method."""
    cells = cells_of(frame, "startup")
    if cells.empty:
        return None
    sentences = []
    bare = cells[cells["transport"] == BARE_PROCESS].groupby("method")["median"].median()
    methods = sorted(bare.index, key=method_order)
    if "fork" in bare:
        fork = bare["fork"]
        sentence = "A process that does nothing (create, start, join) costs "
        sentence += f"{milliseconds(fork)} with fork"
        others = [m for m in methods if m != "fork"]
        phrases = [
            f"{method} costs {ratio(bare[method] / fork)} fork here "
            f"({milliseconds(bare[method])} vs {milliseconds(fork)})"
            if index == 0
            else f"{method} {ratio(bare[method] / fork)} fork ({milliseconds(bare[method])})"
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
        for method, group in sorted(channels.groupby("method"), key=lambda g: method_order(g[0]))
        for best in [next(group.sort_values("median").itertuples())]
    ]
    if quickest:
        sentences.append(
            "From opening a channel through its child's first reply to closing it, the quickest "
            "transport is " + ", ".join(quickest) + "."
        )
    return " ".join(sentences) or None
