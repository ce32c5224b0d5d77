"""Output: files written so that a failure never leaves a half-written one behind, and text
from result files made safe for the terminal and for spreadsheets."""

import os
import tempfile
from pathlib import Path

from ipcbench.errors import UsageError


def write_atomically(target: Path, data: str | bytes) -> None:
    """Write via a temporary file in the same directory, then rename it over the target."""
    target = Path(target)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data.encode("utf-8") if isinstance(data, str) else data)
            stream.flush()
            os.fsync(stream.fileno())  # on disk before it replaces the previous version
        # mkstemp makes the file private (0600); an output file gets the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def refuse_overwriting_inputs(target, inputs) -> None:
    """An output that is one of the inputs (same path, a symlink or a hard link to it) would
    destroy what it is made from: refused, whatever the flags."""
    for source in inputs:
        try:
            same = os.path.samefile(target, source)  # follows symlinks; hard links share inodes
        except OSError:  # one of them does not exist (yet): only the paths can be compared
            same = Path(target).resolve() == Path(source).resolve()
        if same:
            raise UsageError(f"{target} is the input file {source}: choose another output")


# Characters a terminal acts on rather than shows (ESC starts colour, title, clear-screen
# sequences); a result file is data from anywhere, so they are shown escaped instead.
_KEEP = "\n\t"


def printable(text: str) -> str:
    """`text` with every non-printable character (line breaks and tabs aside) escaped."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() or ch in _KEEP else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


# A spreadsheet evaluates a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A text cell that a spreadsheet would run as a formula, quoted; anything else unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_safe_csv(text: str) -> str:
    """CSV text with every formula-like text cell quoted; numbers stay as they are."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in csv.reader(io.StringIO(text)):
        writer.writerow([cell if _is_number(cell) else spreadsheet_safe(cell) for cell in row])
    return out.getvalue()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
