"""`ipcbench run`: the pyperf glue.

One pyperf.Runner per process, one bench_time_func per cell. The same command line runs in two
roles:
  manager  (`python -m ipcbench run ...`): builds the matrix, asks pyperf for each cell in turn
           (pyperf starts the worker processes), saves the result file after every cell, shows
           progress;
  worker   (pyperf re-runs `python -m ipcbench run --worker --worker-task=N ... --cells=...`):
           opens cell N's channel, finds its loop count in-process, then lets pyperf time it.

Harness speed: each worker process costs about half a second, so a cell spends exactly
`processes` of them; pyperf's separate calibration worker is replaced by calibrating inside the
worker with the child already running (the calibration runs are also the warm-up).
Workers import only the standard library, pyperf and ipcbench's light modules.
"""

import argparse
import contextlib
import io
import os
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ipcbench import matrix, results
from ipcbench.errors import OneLineParser, UsageError
from ipcbench.matrix import Cell, Selection
from ipcbench.progress import Progress
from ipcbench.sizes import parse_sizes
from ipcbench.stopping import (
    ManagerStop,
    held,
    held_while_starting_children,
    stop_worker_once,
)

PROGRAM_ARGS = ("-m", "ipcbench", "run")
DEFAULT_CELL_TIMEOUT = 60.0


@dataclass(frozen=True)
class Profile:
    """pyperf settings per cell: worker processes, values per worker, warm-ups, min time/value."""

    processes: int
    values: int
    warmups: int
    min_time: float


PROFILES = {
    "quick": Profile(processes=1, values=5, warmups=0, min_time=0.005),
    "default": Profile(processes=2, values=10, warmups=1, min_time=0.02),
    "rigorous": Profile(processes=6, values=10, warmups=1, min_time=0.1),
}


class CellTimeout(Exception):
    pass


def main(argv: list[str]) -> int:
    profile_name = _preparse_profile(argv)
    parser = OneLineParser(prog="ipcbench run", conflict_handler="resolve", add_help=True)
    runner = _make_runner(parser, PROFILES[profile_name])
    parser.description = "Run the benchmark matrix under pyperf and write a result file."
    _add_run_options(parser)
    args = runner.parse_args(argv)
    if args.worker:
        return _run_worker(runner, args)
    return _run_manager(runner, args, profile_name)


# -- command line ------------------------------------------------------------------------------


def _preparse_profile(argv: list[str]) -> str:
    """The profile sets pyperf's defaults, so it must be known before the Runner exists."""
    pre = OneLineParser(add_help=False)
    pre.add_argument("--quick", dest="run_profile", action="store_const", const="quick")
    pre.add_argument("--rigorous", dest="run_profile", action="store_const", const="rigorous")
    pre.add_argument("--suite")
    pre.add_argument("--resume")
    known, _ = pre.parse_known_args(argv)
    if known.run_profile:
        return known.run_profile
    if known.suite:
        from ipcbench.suites import read_suite

        profile = read_suite(known.suite).get("profile")
        if profile:
            return profile
    if known.resume and os.path.exists(known.resume):
        return results.load(known.resume).settings.get("profile", "default")
    return "default"


def _make_runner(parser, profile: Profile):
    import pyperf

    runner = pyperf.Runner(
        processes=profile.processes,
        values=profile.values,
        warmups=profile.warmups,
        min_time=profile.min_time,
        metadata=results.run_metadata(),
        program_args=PROGRAM_ARGS,
        add_cmdline_args=_worker_arguments,
        _argparser=parser,
    )
    # Options of ours that take over pyperf's short flags (-p, -t, -m, -o) or names (--append,
    # --rigorous) remove pyperf's actions; pyperf still reads these attributes.
    parser.set_defaults(output=None, append=None, rigorous=False)
    return runner


def _add_run_options(parser) -> None:
    sel = parser.add_argument_group("what to run (flags override the suite file)")
    sel.add_argument("-t", "--transports", help="comma-separated transports (default: all)")
    sel.add_argument("-m", "--methods", help="start methods: fork,spawn,forkserver,exec,none")
    sel.add_argument(
        "-s", "--sizes", help="payload sizes, e.g. 64,4KiB,1MiB (default: 64B,4KiB,64KiB,1MiB)"
    )
    sel.add_argument(
        "-p",
        "--patterns",
        help="pingpong,stream,startup,fanin,pool,counter or all (default: pingpong,stream)",
    )
    sel.add_argument(
        "--placement",
        help="split,same,free: CPU placement of parent and child "
        "(default: split where there are 2+ CPUs)",
    )
    sel.add_argument("-k", "--kinds", help="payload kinds: bytes,pickle,numpy (default: bytes)")
    sel.add_argument(
        "--procs",
        help="process counts for fanin producers, pool workers, counter incrementers "
        "(default: 1,2,4)",
    )
    sel.add_argument("--chunksizes", help="chunksize values for pool map and imap (default: 1,16)")
    sel.add_argument("--suite", metavar="TOML", help="a suite file, e.g. bench/smoke.toml")

    out = parser.add_argument_group("output")
    out.add_argument(
        "-o",
        "--output",
        dest="output_path",
        metavar="FILE",
        help="result file (default: results/<host>-<timestamp>.json)",
    )
    out.add_argument("--resume", metavar="FILE", help="run only the cells missing from FILE")
    out.add_argument(
        "--append",
        dest="append_path",
        metavar="FILE",
        help="run the selection and add its runs to FILE",
    )

    prof = parser.add_argument_group(
        "profile (pyperf's own options, e.g. --processes, "
        "--values, --min-time, --affinity, stay available)"
    )
    prof.add_argument(
        "--quick",
        dest="run_profile",
        action="store_const",
        const="quick",
        help="1 worker per cell: the rough picture, fast",
    )
    prof.add_argument(
        "--rigorous",
        dest="run_profile",
        action="store_const",
        const="rigorous",
        help="6 workers per cell, longer values: for figures you publish",
    )
    prof.add_argument(
        "--cell-timeout",
        type=float,
        default=DEFAULT_CELL_TIMEOUT,
        metavar="S",
        help=f"seconds a worker may take before its cell fails (default {DEFAULT_CELL_TIMEOUT:g})",
    )

    # Manager -> worker plumbing; not for users.
    parser.add_argument("--cells", help=argparse.SUPPRESS)
    parser.add_argument("--failure-file", help=argparse.SUPPRESS)
    parser.add_argument("--auto-loops", action="store_true", help=argparse.SUPPRESS)


# The manager's per-cell state, read by pyperf when it builds a worker's command line.
_worker_state: dict = {}


def _worker_arguments(cmd: list[str], args) -> None:
    cmd.append("--cells=" + ",".join(_worker_state["cells"]))
    cmd.append(f"--failure-file={_worker_state['failure_file']}")
    cmd.append(f"--cell-timeout={args.cell_timeout}")
    if _worker_state["auto_loops"]:
        cmd.append("--auto-loops")


# -- manager -----------------------------------------------------------------------------------


@dataclass
class Plan:
    cells: list[Cell]
    output: Path
    result: results.ResultFile


def _run_manager(runner, args, profile_name: str) -> int:
    from ipcbench.transports import registry

    for option in ("in_process", "compare_to"):
        if getattr(args, option):
            raise UsageError(f"pyperf's --{option.replace('_', '-')} is not supported by ipcbench")
    plan = _plan(args, registry(), profile_name)
    auto_loops = not runner.args.loops
    if auto_loops:
        runner.args.loops = 1  # a placeholder: the worker finds the real count (see module doc)
    pyperf_args = runner.args
    print(
        f"ipcbench: {len(plan.cells)} cells, profile {profile_name} "
        f"({pyperf_args.processes} worker(s) x {pyperf_args.values} values per cell) "
        f"-> {plan.output}",
        file=sys.stderr,
    )
    for note in plan.result.notes:
        print(f"ipcbench: note: {note}", file=sys.stderr)

    progress = Progress(len(plan.cells))
    stop = ManagerStop()
    with tempfile.TemporaryDirectory(prefix="ipcbench-") as scratch:
        _worker_state.update(cells=[cell.name for cell in plan.cells], auto_loops=auto_loops)
        for index, cell in enumerate(plan.cells):
            if stop.requested:
                break
            failure_file = os.path.join(scratch, f"{index}.failure")
            _worker_state["failure_file"] = failure_file
            progress.begin(cell.name)
            captured = io.StringIO()
            try:
                with held(), contextlib.redirect_stdout(captured):
                    bench = runner.bench_time_func(cell.name, _time_in_worker_only)
            except BaseException:
                # pyperf raises RuntimeError for a failed worker and exits on its own --timeout.
                # An interrupted cell is not a failed one: it is left for --resume.
                if stop.requested:
                    break
                _record_failure(runner, plan, cell, failure_file, captured, progress)
            else:
                plan.result.add(bench)
                progress.end(cell.name, _describe(bench))
            _save(plan)
    progress.close()
    return _summarize(plan, stop.requested)


def _save(plan: Plan) -> None:
    try:
        results.save(plan.output, plan.result)
    except OSError as error:
        # The write is atomic: the file still holds every cell saved before this one.
        raise UsageError(
            f"cannot write {plan.output}: {error.strerror or error}; it keeps the cells saved "
            f"before; free space, then: python -m ipcbench run --resume {plan.output}"
        ) from None


def _time_in_worker_only(loops):
    raise AssertionError("pyperf timed a cell in the manager process")


def _record_failure(runner, plan: Plan, cell: Cell, failure_file: str, captured, progress):
    # pyperf counts a task only when it completes; keep worker-task indices aligned with cells.
    runner._worker_task += 1
    reason = _read_failure(failure_file) or captured.getvalue().strip() or "worker failed"
    plan.result.failed[cell.name] = reason
    progress.end(cell.name, f"FAILED: {reason}")


def _read_failure(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read().strip()
    except OSError:
        return ""


def _describe(bench) -> str:
    from ipcbench.tables import format_figure

    return format_figure(
        bench.get_metadata()["pattern"],
        bench.get_metadata()["size_bytes"],
        bench.median(),
        bench.median_abs_dev(),
    )


def _summarize(plan: Plan, interrupted: bool) -> int:
    result = plan.result
    failed = len(result.failed)
    not_run = len(result.missing()) - failed
    print(
        f"ipcbench: {len(result.done())} of {len(result.planned)} cells done, {failed} failed, "
        f"{not_run} not run -> {plan.output}",
        file=sys.stderr,
    )
    for name, reason in result.failed.items():
        print(f"ipcbench: FAILED {name}: {reason}", file=sys.stderr)
    if interrupted:
        print(
            f"ipcbench: interrupted; finished cells are saved. Run the rest with: "
            f"python -m ipcbench run --resume {plan.output}",
            file=sys.stderr,
        )
        return 130
    print(f"show it with: python -m ipcbench show {plan.output}", file=sys.stderr)
    return 1 if failed else 0


def _plan(args, registry, profile_name: str) -> Plan:
    if args.resume and args.append_path:
        raise UsageError("--resume and --append cannot be combined")
    if args.resume:
        return _plan_resume(args, registry)
    selection = _selection(args)
    cells = matrix.build_cells(selection, registry, len(os.sched_getaffinity(0)))
    if args.affinity and any(cell.placement != "free" for cell in cells):
        raise UsageError("pyperf's --affinity pins the parent itself: use it with --placement free")
    settings = {"profile": profile_name, "argv": sys.argv[1:]}
    if args.append_path:
        output = Path(args.append_path)
        result = results.load(output)
        result.planned = list(dict.fromkeys(result.planned + [c.name for c in cells]))
        # Every selected cell runs again; pyperf merges the runs (same machine only).
        return Plan(cells, output, result)
    output = Path(args.output_path) if args.output_path else _default_output()
    _check_new_output(output)
    result = results.ResultFile(
        planned=[cell.name for cell in cells], notes=list(selection.notes), settings=settings
    )
    plan = Plan(cells, output, result)
    _save(plan)  # fail now, not after the first cell, if it cannot be written
    return plan


def _plan_resume(args, registry) -> Plan:
    if any(
        getattr(args, name)
        for name in (
            "transports",
            "methods",
            "sizes",
            "patterns",
            "placement",
            "kinds",
            "procs",
            "chunksizes",
            "suite",
            "output_path",
        )
    ):
        raise UsageError(
            "--resume takes the selection and output from the file; drop the selection and -o flags"
        )
    output = Path(args.resume)
    result = results.load(output)
    cells = []
    for name in result.missing():
        cell = Cell.from_name(name)
        if cell.pattern not in matrix.PATTERNS:
            raise UsageError(f"{output}: cell {name} has pattern {cell.pattern!r}, unknown here")
        if cell.transport not in registry and cell.transport not in matrix.VARIANTS:
            raise UsageError(
                f"{output}: cell {name} needs transport {cell.transport!r}, which is not installed"
            )
        cells.append(cell)
    if not cells:
        raise UsageError(f"{output}: every planned cell is done; nothing to resume")
    return Plan(cells, output, result)


def _selection(args) -> Selection:
    from ipcbench.suites import read_suite

    suite = read_suite(args.suite) if args.suite else {}

    def axis(flag_value, key):
        value = flag_value if flag_value is not None else suite.get(key)
        if value is None:
            return None
        items = [item.strip() for item in value.split(",") if item.strip()]
        if not items:
            raise UsageError(f"empty list for {key}")
        return tuple(dict.fromkeys(items))

    selection = Selection()
    for key, flag in (
        ("transports", args.transports),
        ("methods", args.methods),
        ("patterns", args.patterns),
        ("placements", args.placement),
        ("kinds", args.kinds),
    ):
        value = axis(flag, key)
        if value is not None:
            setattr(selection, key, value)
    if selection.patterns == ("all",):
        selection.patterns = matrix.PATTERNS
    for key, flag in (("procs", args.procs), ("chunksizes", args.chunksizes)):
        value = axis(flag, key)
        if value is not None:
            setattr(selection, key, _counts(key, value))
    sizes = args.sizes if args.sizes is not None else suite.get("sizes")
    if sizes is not None:
        try:
            selection.sizes = tuple(parse_sizes(sizes))
        except ValueError as error:
            raise UsageError(str(error)) from None
    return selection


def _counts(key: str, items: tuple[str, ...]) -> tuple[int, ...]:
    if not all(item.isdigit() and 1 <= int(item) <= 1024 for item in items):
        raise UsageError(f"{key} must be whole numbers from 1 to 1024, got {','.join(items)}")
    return tuple(dict.fromkeys(int(item) for item in items))


def _default_output() -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("results") / f"{socket.gethostname()}-{stamp}.json"


def _check_new_output(output: Path) -> None:
    if output.exists():
        raise UsageError(
            f"{output} already exists: choose another -o, or use --resume {output} "
            f"(run the missing cells) or --append {output} (add runs)"
        )
    if output == Path("results") / output.name:
        output.parent.mkdir(exist_ok=True)
    if not output.parent.is_dir():
        raise UsageError(f"cannot write {output}: directory {output.parent} does not exist")
    if not os.access(output.parent, os.W_OK):
        raise UsageError(f"cannot write {output}: directory {output.parent} is not writable")


# -- worker ------------------------------------------------------------------------------------


def _run_worker(runner, args) -> int:
    from ipcbench import pyperf_runs
    from ipcbench.session import open_bench
    from ipcbench.transports import registry

    cells = [Cell.from_name(name) for name in args.cells.split(",")]
    index = runner.args.worker_task
    cell = cells[index]

    _start_watchdog(args.cell_timeout, args.failure_file)
    try:
        stop_worker_once()
        with contextlib.ExitStack() as stack:
            with held_while_starting_children(cell.method):
                bench = stack.enter_context(open_bench(cell, registry()))
            if args.auto_loops:
                runner.args.loops = bench.calibrate(runner.args.min_time)
            metadata = dict(
                cell.metadata(),
                placement_cpus=bench.describe_placement(),
                **bench.extra_metadata(runner.args.loops),
            )
            # pyperf runs the task whose position matches --worker-task: register in order.
            for each in cells[:index]:
                runner.bench_time_func(each.name, _time_in_worker_only)
            # Hook (issue 11): like runner.bench_time_func, plus figures measured over the run's
            # timed values (CPU time per message) in the run's metadata; see pyperf_runs.py.
            pyperf_runs.bench_time_func(runner, cell.name, bench, metadata)
    except BaseException as error:
        reason = _failure_reason(error)
        with open(args.failure_file, "w", encoding="utf-8") as stream:
            stream.write(reason)
        if isinstance(error, SystemExit):
            raise
        return 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return 0


# After the timeout, cleanup gets this long before the worker ends itself outright.
CLEANUP_GRACE = 10.0


def _start_watchdog(seconds: float, failure_file: str) -> None:
    """Fail the cell after `seconds`; if cleanup then hangs too, end the worker.

    The first alarm raises CellTimeout, which unwinds through the session's cleanup (children
    stopped, channels closed). A second alarm means cleanup itself is stuck: the worker exits at
    once, and its children follow (they die with their parent, see child.prepare_child).
    """
    expired = []

    def alarm(signum, frame):
        if expired:
            with open(failure_file, "w", encoding="utf-8") as stream:
                stream.write(f"CellTimeout: no result within {seconds:g} s, and cleanup hung")
            os._exit(1)
        expired.append(True)
        raise CellTimeout(f"no result within {seconds:g} s (--cell-timeout)")

    signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, CLEANUP_GRACE)


def _failure_reason(error: BaseException) -> str:
    if isinstance(error, CellTimeout) and error.__context__ is not None:
        # The time ran out while cleaning up after the real failure: report that one.
        return _failure_reason(error.__context__) + " (and cleanup then timed out)"
    if isinstance(error, KeyboardInterrupt | SystemExit):
        return "interrupted"
    text = str(error).splitlines()[0] if str(error) else ""
    if isinstance(error, EOFError | ConnectionError):
        return f"{type(error).__name__}: {text or 'the channel closed early'} (did the child die?)"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
