"""Plain-text tables for the terminal: one spelling of figures for show, run and compare."""

import math

# The headline figure of each pattern, and what it means (the legend under `show`).
PATTERN_LEGEND = {
    "pingpong": "round-trip latency in µs (lower is better)",
    "stream": "throughput in MB/s = 10^6 bytes/s (higher is better)",
    "startup": "ms to create, start and join a do-nothing process (process), or to open a "
    "transport's channel, take its child's first reply and close it (lower is better)",
    "fanin": "messages/s into one consumer from all producers together (higher is better)",
    "pool": "µs per task on a multiprocessing.Pool (lower is better)",
    "counter": "increments/s of one shared counter by all processes together (higher is "
    "better, if no update is lost)",
}


def format_figure(pattern: str, size_bytes: int, median: float, mad: float) -> str:
    """The pattern's headline figure from pyperf's median and MAD (seconds), MAD in its unit:
    `41.3 µs ± 0.8` (pingpong), `1523 MB/s ± 12` (stream), `3.80 ms ± 0.03` (startup),
    `845k msg/s ± 12k` (fanin), `298 µs/task ± 9.2` (pool), `718k incr/s ± 5.1k` (counter).

    Rates are inverses of the time, so their spread is rate x MAD / median.
    """
    if pattern == "stream":
        rate = size_bytes / median / 1e6
        return f"{number(rate)} MB/s ± {number(rate * mad / median)}"
    if pattern in ("fanin", "counter"):
        rate = 1 / median
        unit = "msg/s" if pattern == "fanin" else "incr/s"
        return f"{count(rate)} {unit} ± {count(rate * mad / median)}"
    if pattern == "startup":
        return f"{number(median * 1e3)} ms ± {number(mad * 1e3)}"
    unit = "µs/task" if pattern == "pool" else "µs"
    return f"{number(median * 1e6)} {unit} ± {number(mad * 1e6)}"


def figure_of(pattern: str, size_bytes: int, seconds: float) -> str:
    """The headline figure alone, in the pattern's unit: `41.3 µs`, `1523 MB/s`."""
    return format_figure(pattern, size_bytes, seconds, 0.0).split(" ± ")[0]


def format_interval(pattern: str, size_bytes: int, low, high) -> str:
    """The 95% interval of a cell's figure in the figure's unit, without it: `19.5–20.8`;
    `—` where the cell has one worker (no interval). Rates invert the times, so the slow end
    of the time interval is the low end of the rate's."""
    if missing(low) or missing(high):
        return "—"
    ends = [figure_of(pattern, size_bytes, seconds).split()[0] for seconds in (low, high)]
    if pattern in ("stream", "fanin", "counter"):
        ends.reverse()
    return "–".join(ends)


# A run is noisy above this 1-minute load average per CPU, or this share of CPU time stolen by
# the hypervisor: the benchmark shared its CPUs, so figures are slower and spread wider.
def noise_warning(run_conditions: dict) -> str | None:
    """One sentence when the machine was busy over the run (conditions.warnings), else None."""
    from ipcbench import conditions

    found = conditions.warnings(run_conditions, during="during this run")
    return "; ".join(found) if found else None


def number(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def count(value: float) -> str:
    """A rate or a count, short: `845k`, `7.18M`, `4103`."""
    if value >= 1e6:
        return f"{number(value / 1e6)}M"
    if value >= 1e4:
        return f"{number(value / 1e3)}k"
    return number(value) if value < 100 else f"{value:.0f}"


def milliseconds(seconds: float) -> str:
    return f"{number(seconds * 1e3)} ms"


def missing(value) -> bool:
    """None, NaN or pandas' NA: a figure this cell does not have (a column of the frame is all
    None where no cell of the file has that figure)."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) == "<NA>"


def _cpu(micros) -> str:
    return "-" if missing(micros) else number(micros)


def cell_sort_key(key: tuple):
    """Display order of a cell key (compare.KEY): patterns and methods in their own order."""
    from ipcbench.matrix import METHODS, PATTERNS

    pattern, transport, method, size, placement, kind, *axes = key
    return (
        PATTERNS.index(pattern) if pattern in PATTERNS else len(PATTERNS),
        pattern,
        transport,
        METHODS.index(method) if method in METHODS else len(METHODS),
        method,
        size,
        placement,
        kind,
        *axes,
    )


def axis_applies(pattern: str, transport: str, axis: str) -> bool:
    """Whether the procs or chunksize axis means something for this pattern and subject."""
    from ipcbench.matrix import PATTERN_SPECS, VARIANTS

    spec = PATTERN_SPECS.get(pattern)
    if spec is None:
        return False
    variant = VARIANTS.get(transport)
    if axis == "procs":
        return spec.multi_process or (variant in spec.variants and variant.multi_process)
    return variant is not None and variant in spec.variants and variant.chunked


def render(headers: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:
    """Align columns; `right` holds the indexes of right-aligned (numeric) columns."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells):
        return "  ".join(
            str(cell).rjust(width) if index in right else str(cell).ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def show(paths, verbose: bool = False) -> str:
    """The `show` command: per file, machine facts then one line per cell; `verbose` lists the
    cells pyperf warns about."""
    from pathlib import Path

    from ipcbench import results

    blocks = []
    for path in paths:
        result = results.load(path)
        frame = results.load_results([path]) if result.benchmarks else None
        blocks.append(_show_one(Path(path), result, frame, verbose))
    return "\n\n".join(blocks)


def detail(row) -> str:
    """What a cell has beside its headline figure: fan-in MB/s, the first message after a
    start, a counter's lost updates."""
    if row.pattern == "fanin":
        return f"{number(row.throughput_MBps)} MB/s"
    if row.pattern == "startup" and not missing(row.first_message_us):
        return f"first message {milliseconds(row.first_message_us / 1e6)}"
    if row.pattern == "counter" and not missing(row.updates):
        lost = 0 if missing(row.lost_updates) else int(row.lost_updates)
        text = f"lost {lost} of {int(row.updates)} updates"
        return text + f" ({lost / row.updates:.0%})" if lost else text
    return ""


def _show_one(path, result, frame, verbose: bool = False) -> str:
    from ipcbench import machine

    lines = [f"{path}", f"  machine: {machine.describe(machine.of_result(result))}"]
    if frame is not None and len(frame):
        lines[-1] += f", ipcbench {frame.iloc[0].ipcbench_version}"
        warning = noise_warning(result.conditions)
        if warning:
            lines.append(f"  WARNING: {warning}")
        lines += _cell_table(frame)
        lines += _stability_notes(frame, verbose)
    for name, reason in result.failed.items():
        lines.append(f"  FAILED {name}: {reason}")
    missing = [n for n in result.missing() if n not in result.failed]
    if missing:
        lines.append(f"  not run: {len(missing)} planned cells (finish with --resume {path})")
    for note in result.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def _cell_table(frame) -> list[str]:
    """The table of one file's cells, its legend, and the findings worth a line of their own.

    The procs, chunksize and detail columns appear only where a cell has them, so a file of
    pingpong and stream cells reads as it always did.
    """
    from ipcbench.report.findings import counter_finding

    rows = sorted(
        frame.itertuples(),
        key=lambda r: cell_sort_key(
            (r.pattern, r.transport, r.method, r.size_bytes, r.placement, r.kind)
            + (r.procs, r.chunksize, r.peer)
        ),
    )
    axes = [
        axis
        for axis in ("procs", "chunksize")
        if any(axis_applies(r.pattern, r.transport, axis) or getattr(r, axis) != 1 for r in rows)
    ]
    details = [detail(r) for r in rows]
    flagged = any(r.unstable for r in rows)
    # Cross-host cells (run --peer) say where their child ran; local-only files read as before.
    peers = any(r.peer != "local" for r in rows)
    axes += ["peer"] if peers else []
    headers = ["pattern", "transport", "method", "size", "placement", "kind", *axes]
    headers += ["median", "95% interval", *(["!"] if flagged else []), "workers", "CPU µs/msg"]
    receive = "receive" in frame.columns and any(not missing(r.receive) for r in rows)
    headers += (["detail"] if any(details) else []) + (["receive"] if receive else []) + ["n"]
    table = []
    for row, extra in zip(rows, details, strict=True):
        shown_axes = [
            str(getattr(row, axis))
            if axis == "peer"
            or axis_applies(row.pattern, row.transport, axis)
            or getattr(row, axis) != 1
            else "-"
            for axis in axes
        ]
        cells = [row.pattern, row.transport, row.method, row.size, row.placement, row.kind]
        cells += [*shown_axes, figure_of(row.pattern, row.size_bytes, row.median)]
        cells.append(format_interval(row.pattern, row.size_bytes, row.ci_low, row.ci_high))
        cells += ["!" if row.unstable else ""] if flagged else []
        cells += [str(row.workers), _cpu(row.cpu_us_per_message)]
        cells += [extra] if any(details) else []
        cells += [row.receive if not missing(row.receive) else "-"] if receive else []
        table.append(cells + [str(row.n)])
    numeric = 6 + len(axes)
    right = set(range(numeric, numeric + 4 + flagged)) | {len(headers) - 1}
    lines = [render(headers, table, right=right)]
    patterns = [p for p in PATTERN_LEGEND if p in set(frame["pattern"])]
    legend = [f"{p}: {PATTERN_LEGEND[p]}" for p in patterns]
    legend.append(
        "95% interval: of the median over workers (fresh processes, the level where the "
        "machine's drift shows; — with one worker)"
    )
    if {"pingpong", "stream"} & set(patterns):  # the patterns CPU time is measured for
        legend.append(
            "CPU µs/msg: CPU time (user + system) of parent, child and helpers per round trip "
            "or message"
        )
    lines += [f"  {text}" for text in legend]
    finding = counter_finding(frame)
    if finding:
        lines.append(f"  counter: {finding}")
    return lines


def _stability_notes(frame, verbose: bool) -> list[str]:
    """Footnotes under the table: each unstable cell (`!`) with its reasons, and how many cells
    pyperf's own checks warn about (listed with --verbose)."""
    from ipcbench.matrix import Cell

    def name(row) -> str:
        return Cell(
            row.pattern, row.transport, row.method, int(row.size_bytes), row.placement,
            row.kind, int(row.procs), int(row.chunksize), row.peer,
        ).name  # fmt: skip

    lines = [
        f"  ! unstable {name(row)}: {row.unstable}" for row in frame.itertuples() if row.unstable
    ]
    warned = [row for row in frame.itertuples() if row.pyperf_warnings]
    if warned:
        lines.append(
            f"  pyperf warns about {len(warned)} of {len(frame)} cells (values spread widely)"
            + ("; --verbose lists them" if not verbose else ":")
        )
        if verbose:
            lines += [f"    {name(row)}: {row.pyperf_warnings}" for row in warned]
    return lines
