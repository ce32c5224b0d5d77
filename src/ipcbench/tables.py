"""Plain-text tables for the terminal: one spelling of figures for show, run and compare."""


def format_figure(pattern: str, size_bytes: int, median: float, mad: float) -> str:
    """`41.3 µs ± 0.8` for a round trip, `1523 MB/s ± 12` for a stream (MAD in the same unit)."""
    if pattern == "stream":
        rate = size_bytes / median / 1e6
        return f"{_number(rate)} MB/s ± {_number(rate * mad / median)}"
    return f"{_number(median * 1e6)} µs ± {_number(mad * 1e6)}"


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _cpu(micros) -> str:
    return "-" if micros is None or micros != micros else _number(micros)  # NaN: not measured


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


def show(paths) -> str:
    """The `show` command: per file, machine facts then one line per cell."""
    from pathlib import Path

    from ipcbench import results

    blocks = []
    for path in paths:
        result = results.load(path)
        frame = results.load_results([path]) if result.benchmarks else None
        blocks.append(_show_one(Path(path), result, frame))
    return "\n\n".join(blocks)


def _show_one(path, result, frame) -> str:
    lines = [f"{path}"]
    if frame is not None and len(frame):
        first = frame.iloc[0]
        lines.append(
            f"  {first.hostname}: {first.cpu} ({first.cpu_count} CPUs), {first.kernel}, "
            f"Python {first.python} ({first.python_implementation}), "
            f"ipcbench {first.ipcbench_version}"
        )
        rows = []
        order = ["pattern", "transport", "method", "size_bytes", "placement", "kind"]
        for row in frame.sort_values(order).itertuples():
            figure, spread = format_figure(row.pattern, row.size_bytes, row.median, row.mad).split(
                " ± "
            )
            rows.append(
                [
                    row.pattern,
                    row.transport,
                    row.method,
                    row.size,
                    row.placement,
                    row.kind,
                    figure,
                    "± " + spread,
                    _cpu(row.cpu_us_per_message),
                    str(row.n),
                ]
            )
        headers = [
            "pattern",
            "transport",
            "method",
            "size",
            "placement",
            "kind",
            "median",
            "± MAD",
            "CPU µs/msg",
            "n",
        ]
        lines.append(render(headers, rows, right={6, 7, 8, 9}))
        lines.append(
            "  pingpong: round-trip latency in µs (lower is better); "
            "stream: throughput in MB/s = 10^6 bytes/s (higher is better); CPU µs/msg: CPU "
            "time (user + system) of parent and child per round trip or message"
        )
    for name, reason in result.failed.items():
        lines.append(f"  FAILED {name}: {reason}")
    missing = [n for n in result.missing() if n not in result.failed]
    if missing:
        lines.append(f"  not run: {len(missing)} planned cells (finish with --resume {path})")
    for note in result.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)
