"""Pool: time per task of each way through a multiprocessing.Pool or executor."""

from ipcbench import benches
from ipcbench.findings import Table, cells_of, method_order, ratio
from ipcbench.sizes import format_size
from ipcbench.units import count, number

POOL = benches.pattern("pool")


def _pool_label(variant: str, chunksize: int, chunked: bool) -> str:
    return f"{variant}, chunksize {chunksize}" if chunked else variant


def pool_lines(cells) -> list[tuple[str, str, int]]:
    """(label, variant, chunksize) of each pool call measured: apply, then map and imap by
    chunksize; the report's figure and table share this order and these labels."""
    order = {"apply": 0, "map": 1, "imap": 2}
    found = {
        (row.transport, int(row.chunksize), POOL.chunksize_applies(row.transport))
        for row in cells.itertuples()
    }
    return [
        (_pool_label(variant, chunksize, chunked), variant, chunksize)
        for variant, chunksize, chunked in sorted(
            found, key=lambda f: (order.get(f[0], 3), f[0], f[1])
        )
    ]


def table(frame) -> Table | None:
    cells = cells_of(frame, "pool")
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
        key=lambda g: (method_order(g[0][0]), g[0][1], g[0][2]),
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


def finding(frame) -> str | None:
    """The fastest way through the pool per task, against apply_async().get() on the same pool."""
    cells = cells_of(frame, "pool")
    if cells.empty:
        return None
    best = next(cells.sort_values("median").itertuples())
    chunked = POOL.chunksize_applies(best.transport)
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
            f", {ratio(apply / best.median)} faster than one apply_async().get() at a time "
            f"({number(apply * 1e6)} µs) on the same pool"
        )
    return sentence + "."
