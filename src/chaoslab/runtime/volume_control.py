"""The control channel of a volume's I/O server: one small JSON file next to the volume, replaced
atomically by the lab (or by a revert after a crash) and re-read by the server whenever it
changes. A file, not a socket: a revert needs only the record's path, with no server to talk to,
and a missing file means no fault.

What it says (`IoControl`): `paused` (every operation waits until it is cleared) and, per kind of
operation, a latency in milliseconds and the percentage of operations that get it.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

Op = Literal["read", "write"]
PAUSE_POLL_SECONDS = 0.005  # how often a paused operation looks again: resumes within ~5 ms


@dataclass(frozen=True)
class IoControl:
    """What the server does to each operation. The default is no fault at all."""

    paused: bool = False
    read_latency_ms: int = 0
    write_latency_ms: int = 0
    read_percent: float = 100.0
    write_percent: float = 100.0

    def delay(self, op: Op, draw: float) -> float:
        """Seconds to hold one `op` operation; `draw` is uniform in [0, 100)."""
        latency, percent = (
            (self.read_latency_ms, self.read_percent) if op == "read" else (self.write_latency_ms, self.write_percent)
        )
        return latency / 1000.0 if latency > 0 and draw < percent else 0.0


def write_control(path: Path, control: IoControl) -> None:
    """Replace the control file atomically, so the server never reads half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(control)))
    os.replace(tmp, path)


def read_control(path: Path) -> IoControl:
    """The control file's settings; no file (or an unreadable one) is no fault."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return IoControl()
    if not isinstance(raw, dict):
        return IoControl()
    known = IoControl.__dataclass_fields__
    return IoControl(**{k: v for k, v in raw.items() if k in known})


class Gate:
    """The server's side: every operation passes `gate.wait(op)` first. It re-reads the control
    file only when the file changed (one stat per operation), waits while paused, then sleeps the
    operation's latency."""

    def __init__(self, path: Path, rng: random.Random | None = None) -> None:
        self.path = path
        self._rng = rng or random.Random()
        self._seen: tuple[int, int, int] | None = None
        self.control = IoControl()

    def refresh(self) -> IoControl:
        try:
            st = os.stat(self.path)
            seen: tuple[int, int, int] | None = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            seen = None
        if seen != self._seen:
            self._seen = seen
            self.control = read_control(self.path) if seen else IoControl()
        return self.control

    def wait(self, op: Op) -> float:
        """Hold one operation as the control file says; returns the seconds it was held."""
        started = time.monotonic()
        while self.refresh().paused:
            time.sleep(PAUSE_POLL_SECONDS)
        held = self.control.delay(op, self._rng.random() * 100.0)
        if held:
            time.sleep(held)
        return time.monotonic() - started
