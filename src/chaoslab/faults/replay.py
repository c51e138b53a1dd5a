"""The one way journaled faults are undone: when a FIS action ends or is stopped, when an SSM
command ends or is cancelled, when FIS and SSM recover at a lab's start, and in the watchdog
after a crash. Entries are reverted in the order given (callers pass newest first) on each
target, targets side by side; each is marked done once reverted, and one that fails stays pending so the next start retries it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from chaoslab.faults.registry import REGISTRY
from chaoslab.store import Store

Entry = dict[str, Any]  # a journal row: id, fault, record (and owner, created)


async def revert_entries(
    lab: Any, store: Store, entries: Iterable[Entry], reverted: Callable[[Entry], None] | None = None
) -> list[str]:
    """Revert each entry through its family; `reverted(entry)` after each success. Returns one
    line per failure ("<what>: <why>"); `lab` may be a dead lab's stand-in (the watchdog's).
    Entries on one target keep the order given; different targets are reverted side by side, so
    stopping a fault on 64 tasks takes about as long as on one. Entries naming no target keep
    their order among themselves."""
    groups: dict[Any, list[tuple[int, Entry]]] = {}
    for index, entry in enumerate(entries):
        groups.setdefault(entry["record"].get("target"), []).append((index, entry))
    failures: list[tuple[int, str]] = []

    async def revert_in_turn(group: list[tuple[int, Entry]]) -> None:
        for index, entry in group:
            failure = await _revert(lab, store, entry, reverted)
            if failure is not None:
                failures.append((index, failure))

    await asyncio.gather(*(revert_in_turn(group) for group in groups.values()))
    return [failure for _, failure in sorted(failures)]


async def _revert(lab: Any, store: Store, entry: Entry, reverted: Callable[[Entry], None] | None) -> str | None:
    family = REGISTRY.get(entry["fault"])
    if family is None:
        return f"{entry['fault']}: no fault family journals under this name"
    try:
        await family.revert(lab, entry["record"])
    except Exception as exc:
        return f"{family.describe(entry['record'])}: {exc}"
    store.journal_done(entry["id"])
    if reverted is not None:
        reverted(entry)
    return None
