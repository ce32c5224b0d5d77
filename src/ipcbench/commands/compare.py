"""`ipcbench compare FILE FILE...`: ratios to a baseline, significance, regressions."""

import math
import os

from ipcbench.errors import UsageError

SUMMARY = "compare result files cell by cell: ratios, significance, regressions"
FORMATS = ("text", "md", "csv", "json")  # compare_output.FORMATS, without importing it here


def add_arguments(parser) -> None:
    parser.description = (
        "Align cells (pattern, transport, method, size, placement, kind, procs, chunksize) across "
        "result files and show each file's figure (median of its workers' medians) and CPU "
        "time per message, its ratio to the baseline (time / baseline time: above 1 is slower) "
        "with a 95%% interval, and a verdict (faster, slower, same, too few runs) from a "
        "t-test on the log worker medians (moderated by the typical spread), corrected across "
        "all cells (Benjamini-Hochberg, q < 0.05), calling no difference below --min-effect."
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="result files (2 or more)")
    parser.add_argument(
        "--baseline", metavar="FILE", help="the reference file (default: the first FILE)"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default), md (markdown tables), csv (one row per cell per file), json",
    )
    parser.add_argument(
        "--fail-above",
        metavar="PCT",
        help="exit 1 when any cell is significantly slower than the baseline by more than PCT "
        "percent (`10%%` or `10`), listing those cells",
    )
    parser.add_argument(
        "--min-effect",
        metavar="PCT",
        help="the smallest difference ever called faster or slower (default 5%%)",
    )


def run(args) -> int:
    from ipcbench.compare_output import write
    from ipcbench.comparison import compare
    from ipcbench.loader import load_inputs
    from ipcbench.output import printable, spreadsheet_safe_csv
    from ipcbench.stats import DEFAULT_MIN_EFFECT

    paths = args.files
    if args.baseline is not None:
        # The baseline may be named alone or also among the files; either way it comes first.
        baseline = os.path.abspath(args.baseline)
        paths = [args.baseline, *[p for p in paths if os.path.abspath(p) != baseline]]
    if len(paths) < 2:
        raise UsageError("compare needs at least two result files (or FILE plus --baseline)")
    threshold = None if args.fail_above is None else parse_percent(args.fail_above, "--fail-above")
    effect = (
        DEFAULT_MIN_EFFECT
        if args.min_effect is None
        else parse_percent(args.min_effect, "--min-effect") / 100
    )
    comparison = compare(load_inputs(paths), fail_above_pct=threshold, min_effect=effect)
    text = write(comparison, args.format)
    if args.format == "csv":  # headed for a spreadsheet as often as export's
        text = spreadsheet_safe_csv(text)
    print(printable(text))
    return 1 if comparison.regressions else 0


def parse_percent(text: str, option: str) -> float:
    """`10%` or `10` -> 10.0; a UsageError for anything else."""
    number = text.strip().removesuffix("%").strip()
    try:
        value = float(number)
    except ValueError:
        raise UsageError(f"{option}: {text!r} is not a percentage (e.g. 10%)") from None
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"{option}: {text!r} must be a percentage of 0 or more")
    return value
