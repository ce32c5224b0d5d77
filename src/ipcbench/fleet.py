"""Fleet runs: `run --cluster ADDRESS --each-node -o DIR` (or `--nodes A,B`).

The same selection runs on every node, each as an ordinary `python -m ipcbench run` on that node,
started by one Ray task that reserves all the node's CPUs (nothing else Ray schedules runs there
meanwhile) and streams the run's progress lines back as they come. Each node's result file comes
back at the end and is written here as DIR/<node address>.json, its suite metadata naming the
node (`node`), its machine named after it too unless the command line gives `--name`. pyperf
keeps one machine per file: the files are then compared, not merged.

A node that dies mid-run loses its file, not the others'; the run says so and exits 1.
"""

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from ipcbench import cluster
from ipcbench.errors import UsageError

# Stands for the node's result file in the lines it streams (the driver names the real one).
RESULT = "{result}"
# Options of the fleet run itself, not of each node's run: (flag, takes a value).
FLEET_OPTIONS = {
    "--cluster": True,
    "--each-node": False,
    "--nodes": True,
    "-o": True,
    "--output": True,
    "--suite": True,
}


def run(args, argv: list[str], check_selection) -> int:
    """Run the selection on the chosen nodes; returns the exit status."""
    from ipcbench import cluster_cli, matrix
    from ipcbench.transports import registry

    directory = _output_directory(args.output_path)
    # Fail here, with one line, on a selection that no node could run.
    try:
        matrix.build_cells(check_selection(), registry(), len(os.sched_getaffinity(0)))
    except matrix.SelectionError as error:
        raise UsageError(str(error)) from None
    addresses = cluster_cli.node_list(args.nodes, "--nodes") if args.nodes else None
    nodes = [
        n for n in cluster.nodes() if n.alive and (addresses is None or n.address in addresses)
    ]
    outputs = {node.address: directory / f"{node.address}.json" for node in nodes}
    taken = [str(path) for path in outputs.values() if path.exists()]
    if taken:
        raise UsageError(f"{taken[0]} already exists: choose another -o DIR")
    suite = Path(args.suite).read_text(encoding="utf-8") if args.suite else None
    node_argv = node_arguments(argv)
    print(
        f"ipcbench: fleet run on {len(nodes)} node(s): {', '.join(outputs)} -> {directory}",
        file=sys.stderr,
    )
    outcomes: dict[str, str] = {}
    threads = [
        threading.Thread(target=_follow, args=(node, node_argv, suite, outputs, outcomes))
        for node in nodes
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return _summarize(outcomes, outputs)


def node_arguments(argv: list[str]) -> list[str]:
    """The run's command line without the fleet's own options (each node writes its own file)."""
    if argv[:1] == ["run"]:  # sys.argv[1:] of `python -m ipcbench run ...`
        argv = argv[1:]
    kept, skip = [], False
    for word in argv:
        if skip:
            skip = False
            continue
        flag = word.split("=", 1)[0]
        if flag in FLEET_OPTIONS:
            skip = FLEET_OPTIONS[flag] and "=" not in word
            continue
        kept.append(word)
    return kept


def _output_directory(path: str | None) -> Path:
    if not path:
        raise UsageError("a fleet run writes one file per node: give -o DIR")
    directory = Path(path)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"-o {directory}: a fleet run needs a directory (one file per node)")
    directory.mkdir(parents=True, exist_ok=True)
    if not os.access(directory, os.W_OK):
        raise UsageError(f"-o {directory}: directory is not writable")
    return directory


def _follow(node, node_argv, suite, outputs: dict, outcomes: dict) -> None:
    """Start the node's run, print its lines as they come, write its file (in a thread)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from ipcbench import results

    ray = cluster.session()
    task = ray.remote(run_on_node).options(
        num_cpus=node.cpus,
        scheduling_strategy=NodeAffinitySchedulingStrategy(node.node_id, soft=False),
        max_retries=0,
    )
    if not any(word.split("=", 1)[0] == "--name" for word in node_argv):
        node_argv = [*node_argv, "--name", node.address]  # every host may call itself `vm`
    code, text = None, None
    try:
        for reference in task.remote(node_argv, suite):
            kind, *rest = ray.get(reference)
            if kind == "line":
                line = rest[0].replace(RESULT, str(outputs[node.address]))
                print(f"{node.address}: {line}", file=sys.stderr, flush=True)
            else:
                code, text = rest
    except Exception as error:  # the node died, or Ray lost it
        outcomes[node.address] = f"failed: {cluster.first_line(error)}"
        return
    if text is None:
        outcomes[node.address] = f"failed: its run exited {code} without a result file"
        return
    path = outputs[node.address]
    try:
        path.write_text(results.with_suite_metadata(text, node=node.address), encoding="utf-8")
        results.load(path)  # what came back is checked like any result file
    except (OSError, ValueError, results.ResultFileError) as error:
        outcomes[node.address] = f"failed: {error}"
        return
    outcomes[node.address] = "done" if code == 0 else f"done, its run exited {code}"


def run_on_node(node_argv: list[str], suite: str | None):
    """The Ray task on one node: `python -m ipcbench run` there, its lines, then its file."""
    with tempfile.TemporaryDirectory(prefix="ipcbench-fleet-") as directory:
        argv = list(node_argv)
        if suite is not None:
            suite_path = os.path.join(directory, "suite.toml")
            Path(suite_path).write_text(suite, encoding="utf-8")
            argv += ["--suite", suite_path]
        output = os.path.join(directory, "result.json")
        process = subprocess.Popen(
            [sys.executable, "-m", "ipcbench.fleet_node", "run", *argv, "-o", output],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        try:
            for line in process.stdout:  # the file's name here means nothing to the user
                yield ("line", line.rstrip("\n").replace(output, RESULT))
            code = process.wait()
        finally:
            if process.poll() is None:  # the task was cancelled: the run goes with it
                process.terminate()
                process.wait()
        text = Path(output).read_text(encoding="utf-8") if os.path.exists(output) else None
        yield ("done", code, text)


def _summarize(outcomes: dict, outputs: dict) -> int:
    for address in outputs:
        outcome = outcomes.setdefault(address, "failed: no outcome")
        print(f"ipcbench: node {address}: {outcome}", file=sys.stderr)
    written = [str(path) for a, path in outputs.items() if outcomes[a].startswith("done")]
    if written:
        print(f"compare them with: python -m ipcbench compare {' '.join(written)}", file=sys.stderr)
    return 0 if all(outcome == "done" for outcome in outcomes.values()) else 1
