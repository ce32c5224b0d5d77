"""`ipcbench report FILE...`: one self-contained HTML page, or one of its figures (--figure)."""

import sys
from pathlib import Path

from ipcbench.errors import UsageError
from ipcbench.report.figures import CHARTS

SUMMARY = "one self-contained HTML report (plots, tables) from result files"
DEFAULT_OUTPUT = Path("reports") / "index.html"


def add_arguments(parser) -> None:
    parser.description = (
        "Write one self-contained HTML file (images embedded, no network access needed): machine "
        "facts, the fastest transport per pattern and size, latency and throughput plots, the "
        "start-method heatmap, a section for each other pattern the files hold, a "
        "cross-machine heatmap for several files, and the full table."
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="result files")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="the HTML file, overwritten if it exists (default: reports/index.html, creating "
        "reports/); with --figure, a .png or .svg file",
    )
    parser.add_argument(
        "--baseline",
        metavar="FILE",
        help="the reference for the cross-machine heatmap (default: the first FILE)",
    )
    parser.add_argument(
        "--heatmap-size",
        metavar="SIZE",
        help="payload size of the start-method heatmap, e.g. 4KiB (default: the largest size "
        "of at most 64KiB in the results, or the smallest size if all are larger)",
    )
    parser.add_argument(
        "--figure",
        choices=tuple(CHARTS),
        help="write just this figure (as in the report) to -o FILE.png/.svg instead of the HTML",
    )


def run(args) -> int:
    """Check everything, render, then write the one output file."""
    from ipcbench.loader import load_inputs
    from ipcbench.output import refuse_overwriting_inputs, write_atomically

    refuse_overwriting_inputs(args.output or DEFAULT_OUTPUT, args.files)
    paths = args.files
    if args.baseline is not None:
        baseline = Path(args.baseline).resolve()
        paths = [args.baseline, *[p for p in paths if Path(p).resolve() != baseline]]
    size = _size_option(args.heatmap_size)
    if args.figure is not None:
        _check_figure_target(args.figure, args.output, paths)
        inputs = load_inputs(paths)
        _check_heatmap_size(inputs, size)
        from ipcbench.report.figures import write_one

        write_one(inputs, args.output, args.figure, size)
        return 0
    target = _html_target(args.output)
    inputs = load_inputs(paths)
    _check_heatmap_size(inputs, size)
    from ipcbench.report.page import render_report

    page = render_report(inputs, heatmap_size=size, command_paths=paths)
    if args.output is None:
        target.parent.mkdir(exist_ok=True)
    write_atomically(target, page)
    print(f"ipcbench: report of {len(paths)} file(s) in {target}", file=sys.stderr)
    return 0


def _size_option(text: str | None) -> int | None:
    from ipcbench.sizes import parse_size

    if text is None:
        return None
    try:
        return parse_size(text)
    except ValueError as error:
        raise UsageError(f"--heatmap-size: {error}") from None


def _check_heatmap_size(inputs, size: int | None) -> None:
    from ipcbench.sizes import format_size

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


def _check_figure_target(name: str, output: str | None, paths: list[str]) -> None:
    if output is None or Path(output).suffix.lower() not in (".png", ".svg"):
        raise UsageError("--figure needs -o FILE ending in .png or .svg")
    target = Path(output)
    if not target.parent.is_dir():
        raise UsageError(f"{target}: directory {target.parent} does not exist")
    across = CHARTS[name].across_files
    if across and len(paths) < 2:
        raise UsageError(f"--figure {name} compares files: give two or more")
    if not across and len(paths) != 1:
        raise UsageError(f"--figure {name} draws one file's results: give exactly one FILE")
