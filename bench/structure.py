"""The package's shape, measured statically: import cycles, module sizes, where patterns are named.

    python bench/structure.py [SRC]        (SRC defaults to src/ipcbench beside this script)

Prints
  - every import cycle between ipcbench's modules, counting imports inside functions too (a lazy
    import still ties two modules together);
  - the longest modules (lines);
  - for each pattern, the modules that name it in code: its name as a word in a string literal
    (docstrings and comments aside: those explain, they do not decide) of a .py file, or
    anywhere in a template.

tests/test_structure.py checks the same figures against the limits the project keeps (no cycle,
no module over 400 lines, a pattern named in at most five modules). Standard library only.
"""

import ast
import re
import sys
from pathlib import Path

PACKAGE = "ipcbench"
PATTERNS = ("pingpong", "stream", "startup", "fanin", "pool", "counter")


def modules(src: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package."""
    found = {}
    for path in sorted(src.rglob("*.py")):
        parts = list(path.relative_to(src.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that `name` imports anywhere in its file (functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from ipcbench.report import plots` imports the module report.plots.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph(src: Path) -> dict[str, set[str]]:
    known = modules(src)
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def line_counts(src: Path) -> dict[str, int]:
    return {
        str(path.relative_to(src.parent)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(src.rglob("*.py"))
    }


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def literals(path: Path) -> set[str]:
    """The string literals of a module (docstrings aside), or a template's whole text."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return {text}
    tree = ast.parse(text)
    docstrings = _docstrings(tree)
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    }


def pattern_modules(src: Path, patterns=PATTERNS) -> dict[str, list[str]]:
    """Pattern -> the files that name it in code: as a word of a literal (`"fanin"`,
    `"-p pingpong,stream"`; not `open_fanin`, not `shared-stream`)."""
    files = sorted([*src.rglob("*.py"), *src.rglob("*.html")])
    named = {path: literals(path) for path in files}
    found = {}
    for pattern in patterns:
        word = re.compile(rf"(?<![\w-]){pattern}(?![\w-])")
        found[pattern] = [
            str(path.relative_to(src.parent))
            for path in files
            if any(word.search(text) for text in named[path])
        ]
    return found


def main(argv: list[str]) -> int:
    src = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "src" / PACKAGE
    edges = graph(src)
    found = cycles(edges)
    print(f"import cycles (function-level imports included): {len(found)}")
    for component in found:
        print("  " + " <-> ".join(component))
    counts = line_counts(src)
    print(f"\nmodules: {len(counts)}, lines: {sum(counts.values())}; the longest:")
    for path, lines in sorted(counts.items(), key=lambda item: -item[1])[:8]:
        print(f"  {lines:5d}  {path}")
    print("\nmodules naming each pattern (a word of a string literal; anywhere in a template):")
    for pattern, files in pattern_modules(src).items():
        print(f"  {pattern:<9} {len(files):2d}  {' '.join(files)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:  # `| head`: the reader left
        sys.stderr.close()
