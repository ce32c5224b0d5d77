"""`ipcbench run`: the command line and the profiles (planning.py plans the cells).

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
import sys
from dataclasses import dataclass

from ipcbench import cluster_cli, limits, planning, results
from ipcbench.arguments import OneLineParser
from ipcbench.cell import METHODS
from ipcbench.errors import UsageError
from ipcbench.manager import run_passes
from ipcbench.payloads import KINDS

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


# The machine's speed drifts over seconds (on this 2-CPU VM a pure CPU loop's 5-s medians vary
# by 8%: bench/machine_drift.py), so a cell's values in one worker share one state of the
# machine: more passes of fewer values each buy more precision for the time than the reverse.
# bench/aa_test.py on the default matrix, median change per cell between two runs: 3 passes of
# 5 values (20 ms), 8.1% in 146 s a run; 7 passes of 2 values (15 ms), 5.0-5.7% in 210-238 s;
# 9 passes of 2 values in workers of 32 cells, 4.7% in 208 s (README).
PROFILES = {
    "quick": Profile(passes=2, values=3, warmups=1, min_time=0.005),
    "default": Profile(passes=9, values=2, warmups=1, min_time=0.015),
    "rigorous": Profile(passes=14, values=3, warmups=1, min_time=0.03),
}


def main(argv: list[str]) -> int:
    profile_name = _preparse_profile(argv)
    parser = OneLineParser(prog="ipcbench run", conflict_handler="resolve", add_help=True)
    runner = _make_runner(parser, PROFILES[profile_name])
    parser.description = "Run the benchmark matrix under pyperf and write a result file."
    pyperf_actions = list(parser._actions)
    # The defaults the help states come from the registries; a worker parses this command line
    # too, and must not pay for reading them.
    _add_run_options(parser, _Defaults(read={"-h", "--help"} & set(argv)))
    _arrange_help(parser, pyperf_actions)
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


class _Defaults:
    """What `run --help` says a flag defaults to, read from the registries (unless `read` is
    false: the help will not be shown)."""

    transports = patterns = default_patterns = procs = chunked = "..."

    def __init__(self, read: bool) -> None:
        if not read:
            return
        from ipcbench import benches
        from ipcbench.matrix import default_patterns
        from ipcbench.transports import registry

        declared = benches.patterns().values()
        self.transports = ", ".join(t.name for t in registry() if t.in_default_matrix)
        self.patterns = ",".join(benches.PATTERNS)
        self.default_patterns = ",".join(default_patterns())
        self.procs = ", ".join(f"{p.name} {p.procs_noun}s" for p in declared if p.multi_process)
        self.chunked = ", ".join(
            f"{p.name} {v.name}" for p in declared for v in p.variants if v.chunked
        )


def _add_run_options(parser, known: _Defaults) -> None:
    sel = parser.add_argument_group("what to run (flags override the suite file)")
    sel.add_argument(
        "-t",
        "--transports",
        help=f"comma-separated transports, or all (default: {known.transports}; the others run "
        "when named or with all)",
    )
    sel.add_argument("-m", "--methods", help=f"start methods: {','.join(METHODS)}")
    sel.add_argument(
        "-s", "--sizes", help="payload sizes, e.g. 64,4KiB,1MiB (default: 64B,4KiB,64KiB,1MiB)"
    )
    sel.add_argument(
        "-p",
        "--patterns",
        help=f"{known.patterns} or all (default: {known.default_patterns})",
    )
    sel.add_argument(
        "--placement",
        help="split,same,free: CPU placement of parent and child "
        "(default: split where there are 2+ CPUs)",
    )
    sel.add_argument("-k", "--kinds", help=f"payload kinds: {','.join(KINDS)} (default: bytes)")
    sel.add_argument("--procs", help=f"process counts: {known.procs} (default: 1,2,4)")
    sel.add_argument("--chunksizes", help=f"chunksize values for {known.chunked} (default: 1,16)")
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

    prof = parser.add_argument_group("profile")
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


# pyperf's options that are its own plumbing (a worker's), or that ipcbench refuses.
HIDDEN_PYPERF_OPTIONS = (
    "--worker",
    "--worker-task",
    "--pipe",
    "--in-process",
    "--compare-to",
    "--python-names",
)


def _arrange_help(parser, pyperf_actions: list) -> None:
    """`run --help`: ipcbench's options first, pyperf's in a group of their own after them, its
    plumbing hidden. Only the help's order and text change (argparse keeps them in its private
    `_actions` and `_group_actions` lists); parsing is the same.
    """
    theirs = [a for a in parser._actions if a in pyperf_actions and "-h" not in a.option_strings]
    group = parser.add_argument_group(
        "pyperf's options",
        "passed on to pyperf: --processes sets the passes, --values the values per worker",
    )
    for action in theirs:
        parser._optionals._group_actions.remove(action)
        group._group_actions.append(action)
        if set(action.option_strings) & set(HIDDEN_PYPERF_OPTIONS):
            action.help = argparse.SUPPRESS
    # The usage line lists the actions in this order too.
    parser._actions[:] = [a for a in parser._actions if a not in theirs] + theirs


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

        return fleet.run(args, sys.argv[1:], lambda: planning.read_selection(args))
    plan = planning.make_plan(args, registry(), profile_name, passes=runner.args.processes)
    pyperf_args = runner.args
    print(
        f"ipcbench: {len(plan.cells)} cells x {plan.passes} passes, profile {profile_name} "
        f"({pyperf_args.values} values per worker) -> {plan.output}",
        file=sys.stderr,
    )
    for note in plan.result.notes:
        print(f"ipcbench: note: {note}", file=sys.stderr)
    return run_passes(runner, plan, _next_job)
