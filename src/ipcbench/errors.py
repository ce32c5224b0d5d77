"""Errors a user can cause: one base class, reported once (cli.py) as one line on stderr with
exit status 2, never a traceback.

A bad flag, an unknown transport, an unreadable or hostile result file, a selection beyond a
limit, a broken plug-in: each raises a UsageError (or a subclass naming its origin) whose
message is the whole explanation. Standard library only, and nothing imported at module level:
spawned children import the transport registry, which raises these.
"""


class UsageError(Exception):
    """Bad input from the user, or a file or plug-in they chose; the message says what and why."""


def did_you_mean(names, known) -> str:
    """`: did you mean X?` with the known name closest to each mistyped one, or '' (none close)."""
    import difflib

    known = list(known)
    close = [difflib.get_close_matches(name, known, n=1, cutoff=0.6) for name in names]
    found = [match[0] for match in close if match]
    return f": did you mean {', '.join(dict.fromkeys(found))}?" if found else ""
