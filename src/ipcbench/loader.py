"""Result files in, one validated tidy frame out: what show, compare, export and report read.

`load_inputs` reads and checks every file before anything is computed (a bad file fails the
command first), labels each file, and builds the frame: one row per cell per file, raw values
kept, times in seconds as pyperf stores them, figures derived by each pattern's declaration
(benches/). `load_results` is the same frame for Python users (`ipcbench.load_results`).
pandas is imported here, lazily: benchmark workers never import this module.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ipcbench import benches, machine
from ipcbench.cell import LOCAL, METHODS, Cell
from ipcbench.results import RENAMED, ResultFile, ResultFileError, load
from ipcbench.units import LATENCY

if TYPE_CHECKING:
    import pandas


@dataclass
class Inputs:
    """Loaded result files, each with a short unique label, plus their cells as one frame."""

    paths: list[Path]
    labels: list[str]
    results: list[ResultFile]
    frame: object  # pandas.DataFrame as load_results makes it, with `machine` = the label
    machines: list = field(default_factory=list)  # who measured each file (machine.Machine)


def load_inputs(paths, empty_ok: bool = False) -> Inputs:
    """Load and check every file first, so a bad file fails the command before any output.

    A file without a single result (every cell failed) is refused unless `empty_ok` (`show`
    lists what failed).
    """
    paths = [Path(p) for p in paths]
    results = [load(path) for path in paths]
    for path, result in zip(paths, results, strict=True):
        if not result.benchmarks and not empty_ok:
            why = f"all {len(result.failed)} cells failed" if result.failed else "empty list"
            raise ResultFileError(f"{path}: holds no results ({why}: no benchmark to read)")
    import pandas as pd  # only now: a bad file should fail fast

    machines = [machine.of_result(result) for result in results]
    labels = machine.labels(machines, paths)
    frames = []
    for path, result, label in zip(paths, results, labels, strict=True):
        frame = frame_of([(path, result)])
        frame["machine"] = label
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    return Inputs(paths, labels, results, frame, machines)


FRAME_COLUMNS = (
    "file",
    "machine",
    "machine_name",
    "fingerprint",
    "hostname",
    "cpu",
    "cpu_count",
    "kernel",
    "python",
    "python_implementation",
    "ipcbench_version",
    "pattern",
    "transport",
    "method",
    "size_bytes",
    "size",
    "placement",
    "kind",
    "procs",
    "chunksize",
    "peer",
    "receive",
    "n",
    "workers",
    "median",
    "ci_low",
    "ci_high",
    "mad",
    "mean",
    "stdev",
    "p5",
    "p95",
    "latency_us",
    "throughput_MBps",
    "per_second",
    "cpu_us_per_message",
    "cpu_warning",
    "first_message_us",
    "first_start_us",
    "updates",
    "lost_updates",
    "unstable",
    "pyperf_warnings",
    "load",
    "steal_pct",
    "worker_medians",
    "values",
)


def load_results(paths):
    """One tidy row per cell per file, raw values kept; times in seconds, as pyperf stores them.

    machine is the file's label (machine.labels: its machine's name, told apart by fingerprint
    or file name where names collide); machine_name and fingerprint are its machine's.

    latency_us is the pingpong round trip's median in microseconds; throughput_MBps is the stream
    and fanin payload rate in MB/s (10**6 bytes per second) at the median time per message;
    per_second is 1 / median: messages, tasks, increments or processes per second.
    first_message_us (startup: the first message's share of the median), updates and lost_updates
    (counter) come from the runs' metadata. receive is what the transport's recv() hands over
    (copy, view or reference: compare like with like). cpu_warning is set where a run's CPU
    figure exceeded usable CPUs x wall time (a harness error); first_start_us (startup) is the
    worker's untimed first start, which under forkserver includes starting the fork server.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ResultFileError("no result files given")
    return frame_of([(path, load(path)) for path in paths])


def frame_of(loaded) -> "pandas.DataFrame":
    """The tidy frame of files already loaded: `loaded` holds (path, ResultFile) pairs."""
    import pandas as pd

    loaded = list(loaded)
    machines = [machine.of_result(result) for _path, result in loaded]
    labels = machine.labels(machines, [path for path, _result in loaded])
    rows = []
    for (path, result), who, label in zip(loaded, machines, labels, strict=True):
        rows.extend(_rows(Path(path), result, who, label))
    frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    return frame.astype(
        {
            "size_bytes": "int64",
            "n": "int64",
            "workers": "int64",
            "cpu_count": "Int64",
            "procs": "int64",
            "chunksize": "int64",
            "updates": "Int64",
            "lost_updates": "Int64",
        }
    )


# What the built-in transports' recv() handed over before cells recorded it (files written before
# issue 11): a fixed piece of history, not the transports' current declarations (shared_memory
# read in place then; it copies out by default now). Plug-ins then are unknown: left empty.
_RECEIVE_BEFORE_RECORDED = {
    **dict.fromkeys(
        (
            "os_pipe mp_pipe mp_queue manager_queue shared_array subprocess_pipe mp_pipe_simplex "
            "mp_simple_queue unix_socket tcp_loopback remote_manager zmq_ipc zmq_tcp"
        ).split(),
        "copy",
    ),
    "null": "reference",
    "thread_queue": "reference",
    "shared_memory": "view",
}


def _run_figures(bench, key: str) -> list:
    """The numbers each worker measured once and stored in its run's metadata under `key`."""
    measured = [run.get_metadata().get(key) for run in bench.get_runs()]
    return [value for value in measured if isinstance(value, int | float)]


def _median_us(bench, key: str) -> float | None:
    """Median over the runs, in µs; None where the file has none (older files, other patterns)."""
    import statistics

    measured = _run_figures(bench, key)
    return statistics.median(measured) * 1e6 if measured else None


def _cpu_us_per_message(bench, median: float) -> float | None:
    """CPU µs per message at the cell's figure: the runs' median CPU share (CPU seconds per
    second on the clock, over each run's timed values) times the figure.

    Each run measures its CPU time over its own timed values. The median of the runs' CPU per
    message, set beside a median wall time from other runs, could claim more CPU than the CPUs
    could give (4.04 µs of CPU per 2.01 µs message on 2 CPUs, seen); the share cannot.
    """
    import statistics

    shares = []
    for run in bench.get_runs():
        cpu = run.get_metadata().get("cpu_per_message")
        if isinstance(cpu, int | float) and run.values:
            shares.append(cpu / statistics.fmean(run.values))
    return statistics.median(shares) * median * 1e6 if shares else None


def _first_message_us(bench, median: float) -> float | None:
    """startup: the first message's share of start-to-first-reply, applied to the median."""
    import statistics

    shares = _run_figures(bench, "first_message_share")
    return statistics.median(shares) * median * 1e6 if shares else None


def _first_warning(bench) -> str | None:
    """A run's CPU figure that cannot be (more than usable CPUs x wall time): a harness error."""
    warnings = [run.get_metadata().get("cpu_warning") for run in bench.get_runs()]
    return next((warning for warning in warnings if isinstance(warning, str)), None)


def _total(bench, key: str) -> int | None:
    measured = _run_figures(bench, key)
    return int(sum(measured)) if measured else None


def _rows(path: Path, result: ResultFile, who, label: str):
    import statistics

    from ipcbench import stats
    from ipcbench.sizes import format_size

    conditions = result.conditions
    for bench in result.benchmarks:
        meta = bench.get_metadata()
        pattern = benches.pattern_or_plain(meta["pattern"])
        values = bench.get_values()
        medians = stats.worker_medians(bench)
        summary = stats.summarize(medians)
        median = summary.median
        size = int(meta["size_bytes"])
        yield {
            "file": str(path),
            "machine": label,
            "machine_name": who.name,
            "fingerprint": who.fingerprint,
            "hostname": meta.get("hostname"),
            "cpu": meta.get("cpu_model_name"),
            "cpu_count": meta.get("cpu_count"),
            "kernel": meta.get("platform"),
            "python": meta.get("python_version"),
            "python_implementation": meta.get("python_implementation"),
            "ipcbench_version": meta.get("ipcbench_version"),
            "pattern": meta["pattern"],
            "transport": RENAMED.get(meta["transport"], meta["transport"]),
            "method": meta["method"],
            "size_bytes": size,
            "size": format_size(size),
            "placement": meta["placement"],
            "kind": meta.get("kind", "bytes"),  # files from before the axis hold bytes
            "procs": meta.get("procs", 1),
            "chunksize": meta.get("chunksize", 1),
            "peer": meta.get("peer", LOCAL),  # files from before the axis ran locally
            "receive": meta.get("receive") or _RECEIVE_BEFORE_RECORDED.get(meta["transport"], ""),
            "n": len(values),
            "workers": summary.workers,
            "median": median,
            "ci_low": summary.low,
            "ci_high": summary.high,
            "mad": bench.median_abs_dev(),
            "mean": statistics.fmean(values),
            "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
            "p5": bench.percentile(5),
            "p95": bench.percentile(95),
            "latency_us": median * 1e6 if pattern.unit.reading == LATENCY else None,
            "throughput_MBps": size / median / 1e6 if pattern.one_way else None,
            "per_second": 1 / median,
            "cpu_us_per_message": _cpu_us_per_message(bench, median),
            "cpu_warning": _first_warning(bench),
            "first_message_us": _first_message_us(bench, median),
            "first_start_us": _median_us(bench, "first_start"),
            "updates": _total(bench, "updates"),
            "lost_updates": _total(bench, "lost_updates"),
            "unstable": stats.instability(stats.worker_values(bench)),
            "pyperf_warnings": "; ".join(stats.pyperf_warnings(list(values))),
            "load": conditions.get("load"),
            "steal_pct": conditions.get("steal_pct"),
            "worker_medians": medians,
            "values": list(values),
        }


def cell_order(cell: Cell) -> tuple:
    """A cell's place in every table: patterns in the registry's order, start methods in
    theirs, then the other axes."""
    known = benches.PATTERNS
    return (
        known.index(cell.pattern) if cell.pattern in known else len(known),
        cell.pattern,
        cell.transport,
        METHODS.index(cell.method) if cell.method in METHODS else len(METHODS),
        cell.method,
        cell.size,
        cell.placement,
        cell.kind,
        cell.procs,
        cell.chunksize,
        cell.peer,
    )
