"""The lab's event log: one ordered stream of what happened (unit lifecycle, target health, alarm
state, faults applied and reverted). Reports, the dashboard and tests read it; nothing else does."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

Listener = Callable[[dict[str, Any]], None]


class EventLog:
    """Append-only, in memory (bounded) and as JSON lines on disk."""

    def __init__(self, path: Path | None = None, keep: int = 100_000) -> None:
        self._events: deque[dict[str, Any]] = deque(maxlen=keep)
        self._listeners: list[Listener] = []
        self._file = open(path, "a", buffering=1) if path else None
        self._seq = 0

    def emit(self, kind: str, **fields: Any) -> dict[str, Any]:
        self._seq += 1
        event = {"seq": self._seq, "time": time.time(), "kind": kind, **fields}
        self._events.append(event)
        if self._file:
            self._file.write(json.dumps(event, default=str) + "\n")
        for listener in list(self._listeners):
            listener(event)
        return event

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` for every later event; returns the function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def queue(self) -> tuple[asyncio.Queue[dict[str, Any]], Callable[[], None]]:
        """An asyncio queue fed with every later event (for streaming to the dashboard)."""
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        return q, self.subscribe(q.put_nowait)

    def since(self, seq: int = 0, kinds: set[str] | None = None) -> list[dict[str, Any]]:
        return [e for e in self._events if e["seq"] > seq and (kinds is None or e["kind"] in kinds)]

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None
