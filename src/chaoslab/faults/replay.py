"""The one way journaled faults are undone: when a FIS action ends or is stopped, when an SSM
command ends or is cancelled, when FIS and SSM recover at a lab's start, and in the watchdog
after a crash. Entries are reverted in the order given (callers pass newest first); each is
marked done once reverted, and one that fails stays pending so the next start retries it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from chaoslab.faults.registry import REGISTRY
from chaoslab.store import Store

Entry = dict[str, Any]  # a journal row: id, fault, record (and owner, created)


async def revert_entries(
    lab: Any, store: Store, entries: Iterable[Entry], reverted: Callable[[Entry], None] | None = None
) -> list[str]:
    """Revert each entry through its family; `reverted(entry)` after each success. Returns one
    line per failure ("<what>: <why>"); `lab` may be a dead lab's stand-in (the watchdog's)."""
    failures: list[str] = []
    for entry in entries:
        family = REGISTRY.get(entry["fault"])
        if family is None:
            failures.append(f"{entry['fault']}: no fault family journals under this name")
            continue
        try:
            await family.revert(lab, entry["record"])
        except Exception as exc:
            failures.append(f"{family.describe(entry['record'])}: {exc}")
            continue
        store.journal_done(entry["id"])
        if reverted is not None:
            reverted(entry)
    return failures
