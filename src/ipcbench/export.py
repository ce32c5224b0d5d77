"""`export`: the tidy frame of one or more result files as CSV, for pandas, R or a spreadsheet."""

import sys
from pathlib import Path

from ipcbench.errors import UsageError
from ipcbench.output import refuse_overwriting_inputs, spreadsheet_safe, write_atomically

# A space cannot occur inside a float's repr, and unlike a comma it needs no CSV quoting.
VALUES_SEPARATOR = " "


def export_csv(paths: list[str], output: str | None, force: bool = False) -> str | None:
    """Write the CSV to `output` (atomically), or return it when output is None or `-`."""
    from ipcbench.compare import load_inputs

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
