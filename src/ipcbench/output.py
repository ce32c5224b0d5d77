"""Writing output files so that a failure never leaves a half-written one behind."""

import os
import tempfile
from pathlib import Path


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
