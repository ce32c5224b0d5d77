"""Suite files (bench/*.toml): the same keys as the `run` flags, read with tomllib.

transports = ["os_pipe", "mp_pipe"]     # or "os_pipe,mp_pipe"
methods = ["fork", "spawn"]
sizes = ["64", "4KiB", "1MiB"]
patterns = ["pingpong"]
placements = ["split"]
kinds = ["bytes", "numpy"]              # bytes | pickle | numpy | ndarray | pickle5 | torch
procs = [1, 2, 4]                       # fanin producers, pool workers, counter incrementers
chunksizes = [1, 16]                    # pool map/imap
profile = "quick"                       # quick | default | rigorous
"""

import tomllib

from ipcbench.errors import UsageError
from ipcbench.results import PROFILE_NAMES

LIST_KEYS = (
    "transports",
    "methods",
    "sizes",
    "patterns",
    "placements",
    "kinds",
    "procs",
    "chunksizes",
)


def read_suite(path: str) -> dict[str, str]:
    """The suite as {key: comma-separated string} (lists joined), checked for unknown keys."""
    try:
        with open(path, "rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise UsageError(f"suite file {path}: no such file") from None
    except OSError as error:
        raise UsageError(f"suite file {path}: cannot read: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"suite file {path}: not valid TOML: {error}") from None
    unknown = sorted(set(data) - set(LIST_KEYS) - {"profile", "description"})
    if unknown:
        raise UsageError(
            f"suite file {path}: unknown key {', '.join(unknown)} "
            f"(known: {', '.join(LIST_KEYS)}, profile, description)"
        )
    suite = {}
    for key in LIST_KEYS:
        if key in data:
            suite[key] = _as_list_text(path, key, data[key])
    if "profile" in data:
        if data["profile"] not in PROFILE_NAMES:
            raise UsageError(
                f"suite file {path}: profile must be one of {', '.join(PROFILE_NAMES)}"
            )
        suite["profile"] = data["profile"]
    return suite


def _as_list_text(path: str, key: str, value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return ",".join(str(v) for v in value)
    raise UsageError(
        f"suite file {path}: {key} must be a list of strings or a comma-separated string"
    )
