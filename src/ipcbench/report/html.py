"""`report`: result files -> one self-contained HTML page (jinja2 template, embedded PNGs).

Everything the page shows is in the file: figures as base64 data URIs, styles and the table
sorter inline. It fetches nothing, so it opens the same from a laptop, a CI artifact or a mail.
"""

import datetime
import io
import shlex
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from ipcbench.compare import Inputs, compare, load_inputs
from ipcbench.errors import UsageError
from ipcbench.output import write_atomically
from ipcbench.report import answer, findings, significance
from ipcbench.sizes import format_size, parse_size
from ipcbench.tables import axis_applies, cell_sort_key, missing, noise_warning

DEFAULT_OUTPUT = Path("reports") / "index.html"
TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Plot:
    """One figure on the page, with the command that draws it alone."""

    anchor: str
    title: str
    caption: str
    image: str  # data URI
    command: str
    # The figure's numbers as tables where a reader needs them (the start-method heatmap):
    # (title, headers, rows of (text, CSS class) cells).
    tables: list = field(default_factory=list)


@dataclass
class Block:
    """One file's part of a pattern's section: the finding in a sentence, and the table."""

    machine: str
    finding: str | None
    table: findings.Table


@dataclass
class Section:
    """A pattern beyond pingpong and stream: what it measures, per file a table, the figures."""

    anchor: str
    title: str
    intro: str
    blocks: list[Block]
    plots: list[Plot]


# The sections of the other patterns, in page order: (pattern, anchor, title, figure, intro).
PATTERN_SECTIONS = (
    (
        "startup",
        "startup",
        "Process start-up",
        "startup",
        "What a fresh child costs before it does any work. Both figures time a process's whole "
        "life, from creating it until it is joined. A do-nothing process: create, start and join "
        "it (exec: a fresh `python -c` through subprocess). Beside it each transport's channel: "
        "open it (which starts the child and any helper), one round trip, close it (child "
        'joined, helpers shut down); "first message alone" is the first round trip after open() '
        "returned (lazy imports, feeder threads and connection set-up land there). A worker's "
        "first start is an untimed warm-up, recorded as first_start: under forkserver it "
        "includes starting the fork server, which preloads the child's modules (ipcbench.child, "
        "payloads, the transport's module), so the timed starts import nothing.",
    ),
    (
        "fanin",
        "fanin",
        "Fan-in: several producers, one consumer",
        "fanin",
        "P producer processes send to one consumer over one shared channel: messages per "
        "second (and MB/s) for all producers together. The scaling factor is the rate with the "
        "most producers divided by the rate with the fewest: above 1 the transport takes more "
        "from more writers; at or below 1 its single reader, a lock or the CPUs are the limit.",
    ),
    (
        "pool",
        "pool",
        "multiprocessing.Pool: time per task",
        "pool",
        "Each task echoes its payload back from a pool worker. apply: one apply_async(...).get() "
        "at a time (a task's round trip); map and imap: many tasks per call, handed to the "
        "workers in chunks of `chunksize`. Time per task, in µs (lower is better); the pool is "
        "started and warmed up before the clock.",
    ),
    (
        "counter",
        "counter",
        "Shared counter: speed and lost updates",
        None,
        "P processes each increment one shared counter: value_lock is a multiprocessing.Value "
        "under its get_lock(), manager_lock a Manager().dict() entry under a manager Lock, "
        "unlocked the Value without its lock. Increments per second for all processes together; "
        "lost updates are counted in one extra run: the counter should read P × K and reads less "
        "where two read-modify-write cycles overlapped. An unlocked counter is fast and wrong.",
    ),
)


def run_report(
    paths: list[str],
    output: str | None = None,
    baseline: str | None = None,
    heatmap_size: str | None = None,
    figure: str | None = None,
) -> None:
    """The `report` command: check everything, render, then write the one output file."""
    if baseline is not None:
        paths = [baseline, *[p for p in paths if Path(p).resolve() != Path(baseline).resolve()]]
    size = _parse_size_option(heatmap_size)
    if figure is not None:
        _write_one_figure(paths, output, figure, size)
        return
    target = _html_target(output)
    inputs = load_inputs(paths)
    _check_heatmap_size(inputs, size)
    page = render_report(inputs, heatmap_size=size, command_paths=paths)
    if output is None:
        target.parent.mkdir(exist_ok=True)
    write_atomically(target, page)
    print(f"ipcbench: report of {len(paths)} file(s) in {target}", file=sys.stderr)


def _parse_size_option(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_size(text)
    except ValueError as error:
        raise UsageError(f"--heatmap-size: {error}") from None


def _check_heatmap_size(inputs: Inputs, size: int | None) -> None:
    sizes = sorted(set(inputs.frame["size_bytes"]))
    if size is not None and size not in sizes:
        raise UsageError(
            f"--heatmap-size {format_size(size)}: no cell of that size in the results "
            f"(sizes: {', '.join(format_size(int(s)) for s in sizes)})"
        )


def _html_target(output: str | None) -> Path:
    if output is None:
        return DEFAULT_OUTPUT  # its directory is made when there is a page to write
    target = Path(output)
    if not target.parent.is_dir():
        raise UsageError(f"{target}: directory {target.parent} does not exist")
    if target.is_dir():
        raise UsageError(f"{target}: is a directory; give the HTML file's name")
    return target


def kind_rows(inputs: Inputs) -> list[dict]:
    """Cells measured with several payload kinds: the median per kind, in µs, side by side, and
    the serialisation share 1 − bytes / pickle where the worker-level test (corrected over the
    table) tells the two apart; a share within noise says so instead of a number."""
    from ipcbench import stats

    frame = inputs.frame
    frame = frame[frame["pattern"].isin(("pingpong", "stream"))]  # the patterns with kinds
    axes = ["machine", "pattern", "transport", "method", "size_bytes", "placement"]
    if frame["kind"].nunique() < 2:
        return []
    # Records once, grouped in Python: a to_dict per group cost seconds on a full sweep.
    groups: dict[tuple, dict[str, dict]] = {}
    for record in frame.to_dict("records"):
        groups.setdefault(tuple(record[axis] for axis in axes), {})[record["kind"]] = record
    rows, tests = [], []
    for (machine, pattern, transport, method, size, _placement), by_kind in groups.items():
        if len(by_kind) < 2:
            continue  # only cells with something to compare
        micro = {kind: by_kind[kind]["median"] * 1e6 for kind in by_kind}
        row = {
            "machine": machine,
            "pattern": pattern,
            "transport": transport,
            "method": method,
            "size": format_size(int(size)),
            "share": None,
            "share_text": "—",
            "medians": micro,  # µs by kind
        }
        if "bytes" in micro and "pickle" in micro:
            row["share"] = 1 - micro["bytes"] / micro["pickle"]
            pair = (
                list(by_kind["pickle"]["worker_medians"]),
                list(by_kind["bytes"]["worker_medians"]),
            )
            tests.append((row, pair))
        rows.append(row)
    decisions = stats.decide([pair for _row, pair in tests])
    for (row, _pair), decision in zip(tests, decisions, strict=True):
        verdict = decision.verdict
        if verdict in ("faster", "slower"):
            row["share_text"] = f"{100 * row['share']:.0f}%"
        elif verdict == "same":
            row["share_text"] = "within noise"
        else:
            row["share_text"] = f"{100 * row['share']:.0f}% (untested: one worker)"
    return rows


def kind_columns(frame) -> list[str]:
    """The payload kinds measured, in the order of payloads.KINDS (others after, by name)."""
    from ipcbench.payloads import KINDS

    present = set(frame["kind"])
    return [k for k in KINDS if k in present] + sorted(present - set(KINDS))


def _kinds_as_transports(inputs: Inputs) -> Inputs:
    """Payload kinds other than bytes get lines and rows of their own: `mp_queue [numpy]`."""
    frame = inputs.frame
    if (frame["kind"] == "bytes").all():
        return inputs
    labelled = frame["transport"] + " [" + frame["kind"] + "]"
    return replace(
        inputs,
        frame=frame.assign(transport=frame["transport"].where(frame["kind"] == "bytes", labelled)),
    )


def _peers_as_transports(inputs: Inputs) -> Inputs:
    """Cross-host cells get lines and rows of their own too: `tcp → 10.0.0.2`."""
    frame = inputs.frame
    remote = frame["peer"] != "local"
    if not remote.any():
        return inputs
    labelled = frame["transport"] + " → " + frame["peer"]
    return replace(
        inputs, frame=frame.assign(transport=frame["transport"].where(~remote, labelled))
    )


def render_report(inputs: Inputs, heatmap_size: int | None = None, command_paths=None) -> str:
    """The whole page as a string; `command_paths` are the paths as the user typed them."""
    import jinja2

    command_paths = [str(p) for p in (command_paths or inputs.paths)]
    inputs = _peers_as_transports(inputs)
    kinds = kind_rows(inputs)
    # Before the kinds become labels: the answer ranks within one kind, in-process cells apart.
    answers = answer.answer_rows(inputs.frame, inputs.labels)
    inputs = _kinds_as_transports(inputs)
    comparison = compare(inputs) if len(inputs.paths) > 1 else None
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    template = environment.get_template("report.html")
    return template.render(
        generated=datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        command=_command(["report", *command_paths]),
        machines=_machines(inputs, command_paths),
        comparison=comparison,
        answers=answers,
        kinds=kinds,
        kind_columns=kind_columns(inputs.frame),
        several=len(inputs.paths) > 1,
        popular=answer.POPULAR,
        in_process=answer.IN_PROCESS_TRANSPORTS,
        plots=_plots(inputs, heatmap_size, command_paths, comparison),
        sections=pattern_sections(inputs, command_paths),
        headlines=headlines(inputs),
        table=table_rows(inputs),
        axes=[
            axis
            for axis in ("procs", "chunksize")
            if (inputs.frame[axis] != 1).any()
            or any(axis_applies(p, t, axis) for p, t in _subjects(inputs.frame))
        ],
        patterns=list(dict.fromkeys(inputs.frame["pattern"])),
        failed=[
            (label, name, reason)
            for label, result in zip(inputs.labels, inputs.results, strict=True)
            for name, reason in result.failed.items()
        ],
    )


def _subjects(frame) -> set[tuple[str, str]]:
    return set(zip(frame["pattern"], frame["transport"], strict=True))


def pattern_sections(inputs: Inputs, command_paths: list[str]) -> list[Section]:
    """A section per pattern beyond pingpong and stream that the files hold."""
    from ipcbench.report import plots

    colours = plots.transport_colours(inputs.frame["transport"])
    sections = []
    for pattern, anchor, title, figure_name, intro in PATTERN_SECTIONS:
        if not (inputs.frame["pattern"] == pattern).any():
            continue
        table_of = getattr(findings, f"{pattern}_table")
        finding_of = getattr(findings, f"{pattern}_finding")
        section = Section(anchor, title, intro, [], [])
        for label, path in zip(inputs.labels, command_paths, strict=True):
            cells = inputs.frame[inputs.frame["machine"] == label]
            table = table_of(cells)
            if table is None:
                continue
            section.blocks.append(Block(label, finding_of(cells), table))
            if figure_name is None:
                continue
            suffix = f" — {label}" if len(inputs.labels) > 1 else ""
            figure = draw_pattern(figure_name, cells, colours, FIGURE_TITLES[figure_name] + suffix)
            if figure is not None:
                slug = f"{figure_name}-{_slug(label)}"
                section.plots.append(
                    Plot(
                        anchor=slug,
                        title=FIGURE_TITLES[figure_name] + suffix,
                        caption=_SWEEP_CAPTIONS[figure_name],
                        image=plots.png_data_uri(figure),
                        command=_command(
                            ["report", path, "--figure", figure_name, "-o", f"{slug}.png"]
                        ),
                    )
                )
        sections.append(section)
    return sections


def headlines(inputs: Inputs) -> list[tuple[str, str, str]]:
    """(anchor, machine, sentence): the start-up ratio and the lost updates, which the page
    states at the top beside the answer; the counter's is a correctness finding."""
    found = []
    for anchor, finding_of in (
        ("startup", findings.startup_finding),
        ("counter", findings.counter_finding),
    ):
        for label in inputs.labels:
            sentence = finding_of(inputs.frame[inputs.frame["machine"] == label])
            if sentence:
                found.append((anchor, label, sentence))
    return found


def _command(args: list[str]) -> str:
    return "python -m ipcbench " + shlex.join(args)


def _machines(inputs: Inputs, command_paths: list[str]) -> list[dict]:
    """Facts plus each run's settings, in the order of the files."""
    from ipcbench.compare import machine_facts

    machines = []
    for facts, result, path in zip(
        machine_facts(inputs), inputs.results, command_paths, strict=True
    ):
        argv = result.settings.get("argv")
        machines.append(
            {
                **facts,
                "file": path,
                "profile": result.settings.get("profile", "?"),
                "run_command": _command(argv) if isinstance(argv, list) else None,
                "cells": len(result.benchmarks),
                "failed": len(result.failed),
                "not_run": len([n for n in result.missing() if n not in result.failed]),
                "notes": result.notes,
                "noise": noise_warning(result.conditions),
            }
        )
    return machines


def table_rows(inputs: Inputs) -> list[dict]:
    """The full table: every cell of every file, figures in spelled-out units."""
    frame = inputs.frame
    rows = []
    for row in frame.itertuples():
        rows.append(
            {
                "machine": row.machine,
                "pattern": row.pattern,
                "transport": row.transport,
                "method": row.method,
                "size": row.size,
                "size_bytes": int(row.size_bytes),
                "placement": row.placement,
                "median_us": row.median * 1e6,
                "ci_low_us": None if missing(row.ci_low) else row.ci_low * 1e6,
                "ci_high_us": None if missing(row.ci_high) else row.ci_high * 1e6,
                "workers": int(row.workers),
                "unstable": row.unstable,
                "mad_us": row.mad * 1e6,
                "p5_us": row.p5 * 1e6,
                "p95_us": row.p95 * 1e6,
                "procs": int(row.procs),
                "chunksize": int(row.chunksize),
                "per_second": row.per_second,
                "throughput": None if missing(row.throughput_MBps) else row.throughput_MBps,
                "cpu_us": None if missing(row.cpu_us_per_message) else row.cpu_us_per_message,
                "n": int(row.n),
                "key": (
                    inputs.labels.index(row.machine),
                    cell_sort_key(
                        (row.pattern, row.transport, row.method, row.size_bytes, "", row.kind)
                        + (row.procs, row.chunksize)
                    ),
                ),
            }
        )
    return sorted(rows, key=lambda r: r["key"])


# -- figures -------------------------------------------------------------------------------------


def _plots(inputs: Inputs, heatmap_size, command_paths, comparison) -> list[Plot]:
    from ipcbench.report import plots

    colours = plots.transport_colours(inputs.frame["transport"])
    found = []
    for label, path in zip(inputs.labels, command_paths, strict=True):
        cells = inputs.frame[inputs.frame["machine"] == label]
        suffix = f" — {label}" if len(inputs.labels) > 1 else ""
        slug = _slug(label)
        for name, pattern, title in (
            ("latency", "pingpong", "Round-trip latency vs payload size"),
            ("throughput", "stream", "Throughput vs payload size"),
        ):
            figure = plots.size_sweep(cells, pattern, colours, title + suffix)
            if figure is not None:
                found.append(
                    Plot(
                        anchor=f"{name}-{slug}",
                        title=title + suffix,
                        caption=_SWEEP_CAPTIONS[name],
                        image=plots.png_data_uri(figure),
                        command=_command(
                            ["report", path, "--figure", name, "-o", f"{name}-{slug}.png"]
                        ),
                    )
                )
        figure = plots.cpu_vs_wall(cells, colours, "CPU cost per message" + suffix)
        if figure is not None:
            found.append(
                Plot(
                    anchor=f"cpu-{slug}",
                    title="CPU cost per message" + suffix,
                    caption=_SWEEP_CAPTIONS["cpu"],
                    image=plots.png_data_uri(figure),
                    command=_command(["report", path, "--figure", "cpu", "-o", f"cpu-{slug}.png"]),
                )
            )
        size = heatmap_size if heatmap_size is not None else plots.pick_heatmap_size(cells)
        grids = significance.method_grids(cells, size)
        figure = plots.method_heatmap(cells, size, "Start methods" + suffix, grids=grids)
        if figure is not None:
            found.append(
                Plot(
                    anchor=f"methods-{slug}",
                    title=f"Start-method effect at {format_size(size)}{suffix}",
                    caption="Each transport's median time with spawn or forkserver divided by "
                    "its time with fork, at one payload size (above 1: slower than fork). "
                    "Coloured only where the difference is significant: a t-test on the "
                    "workers' medians, Benjamini-Hochberg corrected over the heatmap, q < 0.05 "
                    "and at least 5% apart; grey ratios are not (or, with one worker per cell, "
                    "cannot be) told apart from fork. Transports without fork (exec, none) "
                    "have no ratio.",
                    image=plots.png_data_uri(figure),
                    command=_command(
                        [
                            "report",
                            path,
                            "--figure",
                            "methods",
                            "--heatmap-size",
                            format_size(size),
                            "-o",
                            f"methods-{slug}.png",
                        ]
                    ),
                    tables=[_grid_table(grid) for grid in grids if len(grid.methods) > 1],
                )
            )
    if comparison is not None:
        figure = plots.machines_heatmap(comparison)
        if figure is not None:
            base = comparison.labels[comparison.baseline]
            found.append(
                Plot(
                    anchor="across-machines",
                    title=f"Across machines, relative to {base}",
                    caption=f"Each cell's median time on each machine divided by {base}'s "
                    "(above 1: slower). * marks a significant difference: a t-test on "
                    "the workers' medians, Benjamini-Hochberg corrected over all cells, "
                    "q < 0.05 and at least 5% apart; grey ratios are not significant; ? marks "
                    "cells with one worker on a side, which cannot be tested.",
                    image=plots.png_data_uri(figure),
                    command=_command(
                        ["report", *command_paths, "--figure", "machines", "-o", "machines.png"]
                    ),
                )
            )
    return found


def _grid_table(grid) -> tuple[str, list[str], list[list[tuple[str, str]]]]:
    """A start-method grid as a table: the ratio and its verdict, the verdict as CSS class."""
    rows = []
    for transport, ratios, verdicts in zip(
        grid.transports, grid.ratios, grid.verdicts, strict=True
    ):
        cells = [(transport, "")]
        for method, ratio, verdict in zip(grid.methods, ratios, verdicts, strict=True):
            if method == "fork":
                continue
            if ratio is None:
                cells.append(("—", "num"))
                continue
            label = {"same": "not significant", "too few runs": "untested"}.get(verdict, verdict)
            css = significance.VERDICT_CLASSES.get(verdict, "")
            cells.append((f"{ratio:.2f} ({label})", f"num {css}"))
        rows.append(cells)
    headers = ["transport", *(f"{m} / fork" for m in grid.methods if m != "fork")]
    return (f"{grid.pattern}: time / fork's time", headers, rows)


_SWEEP_CAPTIONS = {
    "cpu": "CPU time (user + system) of every process doing the work (parent, child and helpers "
    "such as a manager's server) per round trip (pingpong) or per message (stream), read around "
    "each timed value of each worker, against the median wall time. On the dotted line the "
    "processes are together busy exactly as long as the message takes; far above it, a "
    "transport burns CPU that its latency hides. Helpers run on the child's CPUs.",
    "startup": "Median time per start method, log scale: a do-nothing process from creation to "
    "join, and each transport's channel from open through one round trip to closed; the black "
    "tick is the first message alone (the part of the bar after open() returned). Lower is "
    "better.",
    "fanin": "Messages per second into one consumer from all producers together, against the "
    "number of producer processes, one line per transport (one line style per start method), "
    "one panel per payload size; log-log. A line that rises scales with writers; a flat or "
    "falling one is limited by its reader or a lock. Higher is better.",
    "pool": "Median time per task against the payload size (log-log), one line per call: "
    "apply_async().get() one task at a time, map and imap by chunksize; one panel per start "
    "method, one row per number of pool workers. Lower is better.",
    "latency": "Median round-trip time (the full payload there and back) in microseconds, one "
    "line per transport, one panel per start method; log-log; the band spans the 5th to 95th "
    "percentile. Lower is better.",
    "throughput": "Payload throughput one way in MB/s (10⁶ bytes per second) at the median "
    "time per message, one line per transport, one panel per start method; log-log; the band "
    "spans the 5th to 95th percentile. Higher is better.",
}


FIGURE_TITLES = {
    "startup": "Process start-up per start method",
    "fanin": "Fan-in: messages/s vs producers",
    "pool": "Pool: time per task vs payload size",
}


def draw_pattern(name: str, cells, colours: dict[str, str], title: str):
    """The figure of a pattern's section (see FIGURE_TITLES), or None without its cells."""
    from ipcbench.report import plots

    if name == "startup":
        return plots.startup_bars(cells, title)
    if name == "fanin":
        return plots.fanin_scaling(cells, colours, title)
    return plots.pool_sweep(cells, title)


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in label).strip("-") or "file"


def _write_one_figure(paths, output, name: str, size: int | None) -> None:
    """`report --figure NAME -o FILE.png`: the figure exactly as the report draws it."""
    from ipcbench.report import plots

    if output is None or Path(output).suffix.lower() not in (".png", ".svg"):
        raise UsageError("--figure needs -o FILE ending in .png or .svg")
    target = Path(output)
    if not target.parent.is_dir():
        raise UsageError(f"{target}: directory {target.parent} does not exist")
    if name == "machines" and len(paths) < 2:
        raise UsageError("--figure machines compares files: give two or more")
    if name != "machines" and len(paths) != 1:
        raise UsageError(f"--figure {name} draws one file's results: give exactly one FILE")
    inputs = load_inputs(paths)
    _check_heatmap_size(inputs, size)
    colours = plots.transport_colours(inputs.frame["transport"])
    if name == "machines":
        comparison = compare(inputs)
        figure = plots.machines_heatmap(comparison)
    elif name == "cpu":
        figure = plots.cpu_vs_wall(inputs.frame, colours, "CPU cost per message")
    elif name == "methods":
        if size is None:
            size = plots.pick_heatmap_size(inputs.frame)
        figure = plots.method_heatmap(inputs.frame, size, "Start methods")
    elif name in FIGURE_TITLES:
        figure = draw_pattern(name, inputs.frame, colours, FIGURE_TITLES[name])
    else:
        pattern = "pingpong" if name == "latency" else "stream"
        title = "Round-trip latency" if name == "latency" else "Throughput"
        figure = plots.size_sweep(inputs.frame, pattern, colours, f"{title} vs payload size")
    if figure is None:
        raise UsageError(f"{paths[0]}: no cells for the {name} figure")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=target.suffix.lower()[1:], dpi=plots.DPI)
    write_atomically(target, buffer.getvalue())
    print(f"ipcbench: {name} figure in {target}", file=sys.stderr)
