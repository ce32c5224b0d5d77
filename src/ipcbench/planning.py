"""What a run does, from its command line or file: the cells, the output, the workers each
cell already has (`--resume`, `--append`); every file and flag checked before anything runs."""

import os
import socket
import sys
import time
from pathlib import Path

from ipcbench import benches, cluster_cli, limits, matrix, results
from ipcbench.errors import UsageError
from ipcbench.manager import Plan, save, workers_done
from ipcbench.matrix import Selection
from ipcbench.sizes import parse_sizes


def make_plan(args, registry, profile_name: str, passes: int) -> Plan:
    if args.resume and args.append_path:
        raise UsageError("--resume and --append cannot be combined")
    if args.append_path and args.machine_name:
        raise UsageError("--append adds runs of the machine FILE names: drop --name")
    if args.resume:
        return _plan_resume(args, registry)
    selection = read_selection(args)
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


def read_selection(args) -> Selection:
    """The selection of the command line, over its suite file's."""
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
        selection.patterns = benches.PATTERNS
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
