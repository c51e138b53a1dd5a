"""Why a starting lab cannot become ready: apps that keep dying at start.

An app that cannot start here (a port it may not bind, a missing binary, a crash on import) is
relaunched by its service or group forever, as AWS would do — but `chaoslab up` must not sit in
its readiness wait for minutes. Before the lab is ready, the second failed exit of the same
program ends the start with that program's own last output.
"""

from __future__ import annotations

import asyncio
from typing import Any

from chaoslab.errors import ChaoslabError
from chaoslab.events import EventLog

FAILED_EXITS_BEFORE_GIVING_UP = 2


class CrashLoopWatch:
    """Subscribes to unit exits; `failed` resolves with the error once a program keeps dying."""

    def __init__(self, events: EventLog) -> None:
        self.failed: asyncio.Future[ChaoslabError] = asyncio.get_running_loop().create_future()
        self._counts: dict[str, int] = {}
        self._unsubscribe = events.subscribe(self._on_event)

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("kind") != "unit.process_exit" or event.get("code") == 0 or self.failed.done():
            return
        program = str(event.get("process"))
        self._counts[program] = self._counts.get(program, 0) + 1
        if self._counts[program] >= FAILED_EXITS_BEFORE_GIVING_UP:
            self.failed.set_result(crash_loop_error(event, self._counts[program]))

    def close(self) -> None:
        self._unsubscribe()


def crash_loop_error(event: dict[str, Any], times: int) -> ChaoslabError:
    output = [line for line in event.get("output") or [] if line.strip()][-12:]
    shown = "\n    ".join(output) if output else "(it printed nothing)"
    return ChaoslabError(
        f"{event.get('process')} on {event.get('unit_kind')} {event.get('unit_id')} exited with "
        f"{event.get('code')} at start ({times} times); its last output:\n    {shown}",
        hint="fix the app or its stack entry; `chaoslab status` after `up` shows which mode and ports the lab uses",
    )
