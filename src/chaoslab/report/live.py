"""The live terminal view of a run: phases, the seed-style probe timeline, progress.

On a TTY one status line is redrawn in place (throttled, so a 100 req/s workload does not flood
the terminal); in CI logs, which cannot redraw, progress becomes a sparse line every few seconds
so a log stays readable. Timeline lines and notes always print in full either way.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from chaoslab.report.analysis import probe_line

_CLEAR = "\r\x1b[2K"


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _status_text(stats: dict[str, Any]) -> str:
    """`injection  32.0/60 s  1234 req  17 err  rolling 4.2 %` from the runner's stats.

    stats: phase, elapsed (s), total (s, or None when open-ended), requests, errors,
    error_rate (rolling, a fraction 0..1).
    """
    elapsed = float(stats.get("elapsed") or 0.0)
    total = stats.get("total")
    when = f"{elapsed:5.1f}/{float(total):.0f} s" if total else f"{elapsed:5.1f} s"
    rate = float(stats.get("error_rate") or 0.0) * 100.0
    return (
        f"{stats.get('phase', '?'):<9}  {when}  {int(stats.get('requests') or 0)} req  "
        f"{int(stats.get('errors') or 0)} err  rolling {rate:.1f} %"
    )


class LiveView:
    """What the runner prints while an experiment runs."""

    def __init__(
        self,
        stream: TextIO = sys.stdout,
        *,
        tty: bool | None = None,
        redraw_every: float = 0.25,
        progress_every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._out = stream
        self._tty = _is_tty(stream) if tty is None else tty
        self._redraw_every = redraw_every
        self._progress_every = progress_every
        self._clock = clock
        self._status = ""  # the status line currently drawn (TTY only)
        self._last_draw: float | None = None
        self._last_progress_elapsed: float | None = None

    def phase(self, name: str, detail: str = "") -> None:
        """A phase begins: a heading line, and CI progress restarts with it."""
        self._line(f"== {name}" + (f": {detail}" if detail else ""))
        self._last_progress_elapsed = None

    def request(self, record: dict[str, Any]) -> None:
        """Print probe records as `HH:MM:SS - NNN` (000 = no HTTP answer); ignore the rest."""
        if record.get("probe"):
            self._line(probe_line(record))

    def note(self, text: str) -> None:
        self._line(text)

    def tick(self, stats: dict[str, Any]) -> None:
        """Progress update; call it as often as you like, output is throttled here."""
        text = _status_text(stats)
        if self._tty:
            now = self._clock()
            if self._last_draw is not None and now - self._last_draw < self._redraw_every:
                return
            self._last_draw = now
            self._status = text
            self._out.write(_CLEAR + text)
            self._out.flush()
            return
        elapsed = float(stats.get("elapsed") or 0.0)
        last = self._last_progress_elapsed
        if last is not None and elapsed - last < self._progress_every:
            return
        self._last_progress_elapsed = elapsed
        self._out.write(f"   {text}\n")
        self._out.flush()

    def close(self) -> None:
        """Leave the terminal clean: drop the status line so the summary starts at column 0."""
        if self._tty and self._status:
            self._out.write(_CLEAR)
            self._status = ""
        self._out.flush()

    def _line(self, text: str) -> None:
        """A permanent line; on a TTY it goes above the status line, which is then redrawn."""
        if self._tty and self._status:
            self._out.write(f"{_CLEAR}{text}\n{self._status}")
        else:
            self._out.write(text + "\n")
        self._out.flush()
