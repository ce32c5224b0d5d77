"""`ipcbench run`: the command line, profiles and planning; the pyperf glue.

One pyperf.Runner per process. The same command line runs in two roles:
  manager  (`python -m ipcbench run ...`): plans the cells (selection, --resume, --append), then
           manager.py runs them in passes, one pyperf worker per cell per pass;
  worker   (pyperf re-runs `python -m ipcbench run --worker --worker-task=0 ... --job=FILE`):
           worker.py times one cell once.

Harness speed: each worker process costs about half a second, so a cell spends exactly one per
pass; pyperf's separate calibration worker is replaced by calibrating inside the cell's first
worker with the child already running. Workers import only the standard library, pyperf and
ipcbench's light modules.
"""

import argparse
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ipcbench import cluster_cli, limits, matrix, results
from ipcbench.errors import OneLineParser, UsageError
from ipcbench.manager import Plan, run_passes, save, workers_done
from ipcbench.matrix import Selection
from ipcbench.sizes import parse_sizes

PROGRAM_ARGS = ("-m", "ipcbench", "run")
DEFAULT_CELL_TIMEOUT = 60.0


@dataclass(frozen=True)
class Profile:
    """Per cell: passes (one worker each), values per worker, warm-ups, min time per value.

    The noise lives between workers, not between values (see manager.py): a profile buys
    precision with more passes, each worker taking only a few values.
    """

    passes: int
    values: int
    warmups: int
    min_time: float


PROFILES = {
    "quick": Profile(passes=2, values=3, warmups=1, min_time=0.005),
    "default": Profile(passes=3, values=5, warmups=1, min_time=0.02),
    "rigorous": Profile(passes=8, values=5, warmups=1, min_time=0.05),
}


def main(argv: list[str]) -> int:
    profile_name = _preparse_profile(argv)
    parser = OneLineParser(prog="ipcbench run", conflict_handler="resolve", add_help=True)
    runner = _make_runner(parser, PROFILES[profile_name])
    parser.description = "Run the benchmark matrix under pyperf and write a result file."
    _add_run_options(parser)
    args = runner.parse_args(argv)
    if args.worker:
        from ipcbench.worker import run_worker

        cluster_cli.in_worker(args)

        return run_worker(runner, args)
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
        # results.load checks settings.profile against the profile names.
        return results.load(known.resume).settings.get("profile", "default")
    return "default"


def _make_runner(parser, profile: Profile):
    import pyperf

    runner = pyperf.Runner(
        processes=profile.passes,
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
    sel.add_argument(
        "-k",
        "--kinds",
        help="payload kinds: bytes,pickle,numpy,ndarray,pickle5,torch (default: bytes)",
    )
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
    out.add_argument(
        "--name",
        dest="machine_name",
        metavar="NAME",
        help="the machine's name in the result file, as compare and report label it "
        "(default: the host name)",
    )
    out.add_argument(
        "--redact",
        action="store_true",
        help="write the result file without host names, user names and local paths "
        "(see `python -m ipcbench redact --help`)",
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
        help=f"{PROFILES['quick'].passes} passes (workers per cell): the rough picture, fast",
    )
    prof.add_argument(
        "--rigorous",
        dest="run_profile",
        action="store_const",
        const="rigorous",
        help=f"{PROFILES['rigorous'].passes} passes (workers per cell), longer values: "
        "for figures you publish",
    )
    prof.add_argument(
        "--cell-timeout",
        type=float,
        default=DEFAULT_CELL_TIMEOUT,
        metavar="S",
        help=f"seconds a worker may take before its cell fails (default {DEFAULT_CELL_TIMEOUT:g})",
    )
    prof.add_argument(
        "--max-cells",
        type=limits.max_cells_flag,
        default=limits.DEFAULT_MAX_CELLS,
        metavar="N",
        help=f"refuse a selection of more cells (default {limits.DEFAULT_MAX_CELLS})",
    )

    cluster_cli.add_arguments(parser)

    # Manager -> worker plumbing; not for users.
    parser.add_argument("--job", help=argparse.SUPPRESS)


# The job file of the worker pyperf starts next (set by manager.run_passes).
_next_job: dict = {}


def _worker_arguments(cmd: list[str], args) -> None:
    cmd.append(f"--job={_next_job['path']}")
    cmd.append(f"--cell-timeout={args.cell_timeout}")
    cluster_cli.worker_arguments(cmd, args)


# -- manager -----------------------------------------------------------------------------------


def _run_manager(runner, args, profile_name: str) -> int:
    from ipcbench.transports import registry

    for option in ("in_process", "compare_to"):
        if getattr(args, option):
            raise UsageError(f"pyperf's --{option.replace('_', '-')} is not supported by ipcbench")
    cluster_cli.check(args)
    if cluster_cli.is_fleet(args):
        from ipcbench import fleet

        return fleet.run(args, sys.argv[1:], lambda: _selection(args))
    plan = _plan(args, registry(), profile_name, passes=runner.args.processes)
    pyperf_args = runner.args
    print(
        f"ipcbench: {len(plan.cells)} cells x {plan.passes} passes, profile {profile_name} "
        f"({pyperf_args.values} values per worker) -> {plan.output}",
        file=sys.stderr,
    )
    for note in plan.result.notes:
        print(f"ipcbench: note: {note}", file=sys.stderr)
    return run_passes(runner, plan, _next_job)


def _plan(args, registry, profile_name: str, passes: int) -> Plan:
    if args.resume and args.append_path:
        raise UsageError("--resume and --append cannot be combined")
    if args.append_path and args.machine_name:
        raise UsageError("--append adds runs of the machine FILE names: drop --name")
    if args.resume:
        return _plan_resume(args, registry)
    selection = _selection(args)
    cells = matrix.build_cells(selection, registry, len(os.sched_getaffinity(0)))
    if args.affinity and any(cell.placement != "free" for cell in cells):
        raise UsageError("pyperf's --affinity pins the parent itself: use it with --placement free")
    settings = {"profile": profile_name, "argv": sys.argv[1:], "passes": passes}
    if args.append_path:
        output = Path(args.append_path)
        result = _redacted_if_asked(args, results.load(output))
        result.planned = list(dict.fromkeys(result.planned + [c.name for c in cells]))
        # Every selected cell gets `passes` more workers; pyperf merges the runs (same machine).
        workers = workers_done(result)
        return Plan(
            cells, output, result, passes, base={c.name: workers.get(c.name, 0) for c in cells}
        )
    output = Path(args.output_path) if args.output_path else _default_output()
    _check_new_output(output)
    result = results.ResultFile(
        planned=[cell.name for cell in cells],
        notes=list(selection.notes),
        settings=settings,
        machine=_this_machine(args.machine_name),
    )
    plan = Plan(cells, output, _redacted_if_asked(args, result), passes)
    save(plan)  # fail now, not after the first cell, if it cannot be written
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
            "machine_name",
        )
    ):
        raise UsageError(
            "--resume takes the selection, output and machine name from the file; "
            "drop the selection, -o and --name flags"
        )
    output = Path(args.resume)
    result = _redacted_if_asked(args, results.load(output))
    # Files from before passes: a cell with any worker is done.
    passes = result.settings.get("passes", 1)
    workers = workers_done(result)
    incomplete = [name for name in result.planned if workers.get(name, 0) < passes]
    # Every planned cell is checked exactly as if it had been selected on the command line.
    try:
        cells = matrix.cells_of_names(
            incomplete, registry, len(os.sched_getaffinity(0)), args.max_cells
        )
    except matrix.SelectionError as error:
        raise UsageError(f"{output}: {error}") from None
    if not cells:
        raise UsageError(f"{output}: every planned cell is done; nothing to resume")
    cluster_cli.check_resume(cells, args)
    for cell in cells:
        result.failed.pop(cell.name, None)  # tried again
    return Plan(cells, output, result, passes)


def _this_machine(name: str | None) -> dict:
    from ipcbench import machine

    try:
        return machine.local(name).to_json()
    except ValueError as error:
        raise UsageError(str(error)) from None


def _redacted_if_asked(args, result: results.ResultFile) -> results.ResultFile:
    """With --redact, or a file that was redacted: every save is redacted (redact.py)."""
    if not (args.redact or result.settings.get("redacted")):
        return result
    from ipcbench.redact import redacted

    return redacted(result)


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

    selection = Selection(max_cells=args.max_cells)
    selection.peers = cluster_cli.peers(args) or selection.peers
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
    try:
        for item in items:
            limits.check_count(key, int(item) if item.isdigit() else item)
    except limits.LimitError as error:
        raise UsageError(str(error)) from None
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
