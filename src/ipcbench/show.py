"""`ipcbench show`'s text: per file, the machine, one line per cell, the findings worth a line.

Each cell's headline figure is written in its pattern's unit (units.py, chosen by the pattern's
declaration), with its 95% interval over workers; the axes a file has (procs, chunksize) and a
detail column appear only where some cell has them.
"""

from ipcbench import benches, machine
from ipcbench.cell import LOCAL, Cell
from ipcbench.conditions import noise_warning
from ipcbench.findings import presenter
from ipcbench.loader import cell_order, load_inputs
from ipcbench.tables import render
from ipcbench.units import RATE, figure, interval, milliseconds, missing, number


def show(paths, verbose: bool = False) -> str:
    """The `show` command: per file, machine facts then one line per cell; `verbose` lists the
    cells pyperf warns about."""
    inputs = load_inputs(paths, empty_ok=True)
    blocks = []
    for path, label, result in zip(inputs.paths, inputs.labels, inputs.results, strict=True):
        frame = inputs.frame[inputs.frame["machine"] == label]
        blocks.append(_show_one(path, result, frame, verbose))
    return "\n\n".join(blocks)


def detail(row) -> str:
    """What a cell has beside its headline figure: a rate's data rate where its payloads flow
    one way (fan-in's MB/s), the first message after a start, a counter's lost updates."""
    unit = _declaration(row.pattern).unit
    if unit.reading == RATE and not missing(row.throughput_MBps):
        return f"{number(row.throughput_MBps)} MB/s"
    if not missing(row.first_message_us):
        return f"first message {milliseconds(row.first_message_us / 1e6)}"
    if not missing(row.updates):
        lost = 0 if missing(row.lost_updates) else int(row.lost_updates)
        text = f"lost {lost} of {int(row.updates)} updates"
        return text + f" ({lost / row.updates:.0%})" if lost else text
    return ""


def _show_one(path, result, frame, verbose: bool = False) -> str:
    lines = [f"{path}", f"  machine: {machine.describe(machine.of_result(result))}"]
    if len(frame):
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
    message-loop cells reads as it always did.
    """
    rows = sorted(frame.itertuples(), key=lambda r: cell_order(Cell.from_metadata(r._asdict())))
    axes = [
        axis
        for axis in ("procs", "chunksize")
        if any(_axis_applies(r, axis) or getattr(r, axis) != 1 for r in rows)
    ]
    details = [detail(r) for r in rows]
    flagged = any(r.unstable for r in rows)
    # Cross-host cells (run --peer) say where their child ran; local-only files read as before.
    axes += ["peer"] if any(r.peer != LOCAL for r in rows) else []
    headers = ["pattern", "transport", "method", "size", "placement", "kind", *axes]
    headers += ["median", "95% interval", *(["!"] if flagged else []), "workers", "CPU µs/msg"]
    receive = "receive" in frame.columns and any(not missing(r.receive) for r in rows)
    headers += (["detail"] if any(details) else []) + (["receive"] if receive else []) + ["n"]
    table = []
    for row, extra in zip(rows, details, strict=True):
        shown_axes = [
            str(getattr(row, axis))
            if axis == "peer" or _axis_applies(row, axis) or getattr(row, axis) != 1
            else "-"
            for axis in axes
        ]
        unit = _declaration(row.pattern).unit
        cells = [row.pattern, row.transport, row.method, row.size, row.placement, row.kind]
        cells += [*shown_axes, str(figure(unit, row.median, row.size_bytes))]
        cells.append(interval(unit, row.size_bytes, row.ci_low, row.ci_high))
        cells += ["!" if row.unstable else ""] if flagged else []
        cells += [str(row.workers), _cpu(row.cpu_us_per_message)]
        cells += [extra] if any(details) else []
        cells += [row.receive if not missing(row.receive) else "-"] if receive else []
        table.append(cells + [str(row.n)])
    numeric = 6 + len(axes)
    right = set(range(numeric, numeric + 4 + flagged)) | {len(headers) - 1}
    lines = [render(headers, table, right=right)]
    present = set(frame["pattern"])
    patterns = [p for name, p in benches.patterns().items() if name in present]
    legend = [f"{p.name}: {p.legend}" for p in patterns]
    legend.append(
        "95% interval: of the median over workers (fresh processes, the level where the "
        "machine's drift shows; — with one worker)"
    )
    if any(p.message_loop for p in patterns):  # the patterns CPU time is measured for
        legend.append(
            "CPU µs/msg: CPU time (user + system) of parent, child and helpers per round trip "
            "or message"
        )
    lines += [f"  {text}" for text in legend]
    for pattern in patterns:  # a correctness finding is worth a line of its own
        if pattern.section is not None and pattern.section.warning:
            finding = presenter(pattern.name).finding(frame)
            if finding:
                lines.append(f"  {pattern.name}: {finding}")
    return lines


def _stability_notes(frame, verbose: bool) -> list[str]:
    """Footnotes under the table: each unstable cell (`!`) with its reasons, and how many cells
    pyperf's own checks warn about (listed with --verbose)."""

    def name(row) -> str:
        return Cell.from_metadata(row._asdict()).name

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


def _declaration(pattern: str):
    return benches.pattern_or_plain(pattern)


def _axis_applies(row, axis: str) -> bool:
    """Whether the procs or chunksize axis means something for this row's pattern and subject."""
    pattern = _declaration(row.pattern)
    if axis == "procs":
        return pattern.procs_apply(row.transport)
    return pattern.chunksize_applies(row.transport)


def _cpu(micros) -> str:
    return "-" if missing(micros) else number(micros)
