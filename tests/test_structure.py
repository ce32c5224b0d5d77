"""The package's shape stays as the design says (static checks: nothing runs, a second or two).

bench/structure.py measures; these hold the line: no import cycle (imports inside functions
count), each layer importing only from itself and the layers below (README, "Architecture"), no
module over 400 lines, a pattern named in at most five modules, the run's modules never reaching
the analysis's libraries, and no test module importing another.
"""

import ast
import importlib.util
from pathlib import Path

import pytest

from ipcbench import benches

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "ipcbench"
MAX_LINES = 400
MAX_MODULES_NAMING_A_PATTERN = 5
# What benchmark workers and children must never import (worker start-up is in every cell's
# cost): the analysis's and the report's libraries.
HEAVY = ("pandas", "matplotlib", "scipy", "jinja2")
# Top to bottom: a module imports from its own layer or the ones below (a module is in the
# layer of the longest prefix of its name listed; modules not listed are not checked).
LAYERS = (
    ("ipcbench", "ipcbench.cli", "ipcbench.commands", "ipcbench.__main__", "ipcbench.fleet_node"),
    ("ipcbench.report",),
    ("ipcbench.loader", "ipcbench.stats", "ipcbench.comparison", "ipcbench.compare_output",
     "ipcbench.show", "ipcbench.findings", "ipcbench.tables"),
    ("ipcbench.runner", "ipcbench.planning", "ipcbench.manager", "ipcbench.launch",
     "ipcbench.worker", "ipcbench.pyperf_runs", "ipcbench.matrix", "ipcbench.limits",
     "ipcbench.kind_rules", "ipcbench.suites", "ipcbench.progress", "ipcbench.check",
     "ipcbench.peers", "ipcbench.cluster_cli", "ipcbench.fleet"),
    ("ipcbench.benches", "ipcbench.payloads", "ipcbench.array_kinds", "ipcbench.channel"),
    ("ipcbench.transports", "ipcbench.remote_child"),
    ("ipcbench.children", "ipcbench.child", "ipcbench.stopping", "ipcbench.lifeline",
     "ipcbench.transports.frames", "ipcbench.transports.framing", "ipcbench.peer_child",
     "ipcbench.cluster", "ipcbench.cputime"),
    ("ipcbench.cell", "ipcbench.results", "ipcbench.redact", "ipcbench.machine",
     "ipcbench.units", "ipcbench.sizes", "ipcbench.errors", "ipcbench.arguments",
     "ipcbench.output", "ipcbench.conditions", "ipcbench.version"),
)  # fmt: skip
# The modules a worker or a child runs: the run's worker side, the patterns, the transports.
RUN_SIDE = ("ipcbench.worker", "ipcbench.child", "ipcbench.benches", "ipcbench.transports")


def _structure():
    spec = importlib.util.spec_from_file_location("structure", ROOT / "bench" / "structure.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


structure = _structure()
GRAPH = structure.graph(SRC)


def test_no_import_cycle_even_through_imports_inside_functions():
    assert structure.cycles(GRAPH) == []


def _layer(module: str) -> int | None:
    """The index of a module's layer (0 is the top), or None where none lists it."""
    found = [
        (len(prefix), index)
        for index, prefixes in enumerate(LAYERS)
        for prefix in prefixes
        if module == prefix or (prefix != "ipcbench" and module.startswith(prefix + "."))
    ]
    return max(found)[1] if found else None


def test_each_layer_imports_only_from_itself_and_the_layers_below():
    upward = [
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if None not in (_layer(module), _layer(target)) and _layer(target) < _layer(module)
    ]
    assert upward == []
    assert _layer("ipcbench.benches.fanin") > _layer("ipcbench.report.figures")  # it can fail


def test_no_module_is_longer_than_400_lines():
    long = {path: lines for path, lines in structure.line_counts(SRC).items() if lines > MAX_LINES}
    assert long == {}


def test_a_pattern_is_named_in_its_module_the_registry_and_a_few_presenters():
    assert structure.PATTERNS == benches.PATTERNS  # the measure knows every pattern
    named = structure.pattern_modules(SRC)
    assert "ipcbench/benches/__init__.py" in named["fanin"]  # the measure finds names
    crowded = {p: files for p, files in named.items() if len(files) > MAX_MODULES_NAMING_A_PATTERN}
    assert crowded == {}


def test_workers_and_children_never_reach_the_analysis_libraries():
    reached, todo = set(), [m for m in GRAPH if m.startswith(RUN_SIDE)]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(GRAPH[module])
    heavy = {
        module: sorted(_imported_names(module) & set(HEAVY))
        for module in reached
        if _imported_names(module) & set(HEAVY)
    }
    assert heavy == {}


def _imported_names(module: str) -> set[str]:
    """Top-level package names a module imports, anywhere in its file."""
    path = structure.modules(SRC)[module]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "tests").glob("*.py")), ids=lambda p: p.name)
def test_test_modules_share_helpers_through_conftest_only(path):
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    assert {name for name in imported if name.startswith("test_")} == set()
