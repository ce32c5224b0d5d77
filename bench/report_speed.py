"""How long `report` takes on three full result files and `compare` on two (targets 10 s, 3 s).

    python bench/report_speed.py results/a.json results/b.json results/c.json

Each command runs as a user runs it (`python -m ipcbench ...`, a fresh interpreter, imports
included); the best of a few repetitions is reported, since noise only ever adds time.
Make the files with `python -m ipcbench run --quick -o FILE`, one after the other.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"report": 10.0, "compare": 3.0}


def timed(args: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "ipcbench", *args], capture_output=True, text=True
        )
        if done.returncode != 0:
            sys.exit(f"ipcbench {' '.join(args)} failed:\n{done.stderr}")
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs=3, metavar="FILE", help="three full result files")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        output = str(Path(directory) / "index.html")
        figures = {
            "report": timed(["report", *args.files, "-o", output], args.repeat),
            "compare": timed(["compare", *args.files[:2]], args.repeat),
        }
    slow = False
    for name, seconds in figures.items():
        verdict = "ok" if seconds < TARGETS[name] else "SLOWER THAN TARGET"
        slow |= seconds >= TARGETS[name]
        files = 3 if name == "report" else 2
        print(
            f"{name:8} {files} files: {seconds:5.2f} s (best of {args.repeat}; "
            f"target < {TARGETS[name]:g} s) {verdict}"
        )
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
