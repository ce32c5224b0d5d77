"""`ipcbench export FILE...`: the tidy frame of result files as CSV, for pandas, R or a
spreadsheet."""

import sys
from pathlib import Path

from ipcbench.errors import UsageError
from ipcbench.output import refuse_overwriting_inputs, spreadsheet_safe, write_atomically

SUMMARY = "result files as one tidy CSV table"


def add_arguments(parser) -> None:
    parser.description = (
        "Write the tidy table of the result files (one row per cell per file, the columns of "
        "ipcbench.load_results) as CSV. Times are in seconds; the values column holds the raw "
        "pyperf values joined by single spaces. In pandas, read it with "
        "pd.read_csv(FILE, keep_default_na=False, na_values=['']) so the transport `null` "
        "stays a name."
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="result files")
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="the CSV file (default: standard output)"
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite the output file if it exists"
    )


def run(args) -> int:
    text = export_csv(args.files, args.output, force=args.force)
    if text is not None:
        sys.stdout.write(text)
    return 0


# A space cannot occur inside a float's repr, and unlike a comma it needs no CSV quoting.
VALUES_SEPARATOR = " "


def export_csv(paths: list[str], output: str | None, force: bool = False) -> str | None:
    """Write the CSV to `output` (atomically), or return it when output is None or `-`."""
    from ipcbench.loader import load_inputs

    target = None if output in (None, "-") else Path(output)
    if target is not None:
        refuse_overwriting_inputs(target, paths)
        if target.exists() and not force:
            raise UsageError(f"{target}: already exists (use --force to overwrite it)")
        if not target.parent.is_dir():
            raise UsageError(f"{target}: directory {target.parent} does not exist")
    # Every file is read and checked before anything is written: no partial output.
    frame = load_inputs(paths).frame
    # The list columns: every value, and one median per worker, written the same way.
    for column in ("values", "worker_medians"):
        frame[column] = frame[column].map(lambda values: VALUES_SEPARATOR.join(map(repr, values)))
    # Text columns only: numbers stay numbers (a negative one is never a formula).
    for column in frame.select_dtypes(include=["object", "string"]).columns:
        frame[column] = frame[column].map(spreadsheet_safe)
    text = frame.to_csv(index=False, lineterminator="\n", float_format=None)
    if target is None:
        return text
    write_atomically(target, text)
    print(f"ipcbench: {len(frame)} rows from {len(paths)} file(s) in {target}", file=sys.stderr)
    return None
