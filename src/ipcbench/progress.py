"""Progress of a run on stderr: a live status line on a terminal, plain lines otherwise."""

import sys
import time


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    def __init__(self, total: int, stream=None) -> None:
        self.total, self.finished = total, 0
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.started = time.monotonic()
        self._width = len(str(total))

    def eta(self) -> str:
        if not self.finished:
            return "?"
        elapsed = time.monotonic() - self.started
        return format_duration(elapsed / self.finished * (self.total - self.finished))

    def begin(self, name: str) -> None:
        if self.live:
            position = f"[{self.finished + 1:>{self._width}}/{self.total}]"
            self._status(f"{position} running {name}  (ETA {self.eta()})")

    def end(self, name: str, outcome: str) -> None:
        self.finished += 1
        if self.live:
            self._status("")
        elapsed = format_duration(time.monotonic() - self.started)
        print(
            f"[{self.finished:>{self._width}}/{self.total}] {name:<44} {outcome}"
            f"   ({elapsed} elapsed, ETA {self.eta()})",
            file=self.stream,
            flush=True,
        )

    def close(self) -> None:
        if self.live:
            self._status("")

    def _status(self, text: str) -> None:
        # \r + clear-to-end-of-line: the status line is rewritten in place.
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
