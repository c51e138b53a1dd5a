"""Jepsen-style integrity for the Chaos Shop: did every acknowledged write survive, exactly once?

The ledger keeps each logical write (one POST /orders, however many attempts it took). A write is
*acknowledged* when the app answered 201 with an order id (or 200, an idempotent replay); it is
*ambiguous* when some attempt got no answer or a 5xx — it may or may not have committed. After the
run the database's orders are compared with the ledger: acknowledged orders must read back the
same (else lost/changed), an unacknowledged order must be explained by an ambiguous attempt (else
phantom), an order that an ambiguous earlier attempt committed *next to* an acknowledged retry is
a duplicate, and per product initial stock − final stock must equal its new orders' quantities.
`check` is pure; the runner feeds it what it read back over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chaoslab.experiment.workload import Attempt


def _ambiguous(attempt: Attempt) -> bool:
    status, error, _ = attempt
    if error is not None:
        return error != "refused"  # refused: the request never reached anyone
    return status is not None and status >= 500


@dataclass
class Write:
    product_id: int
    quantity: int
    key: str | None
    attempts: list[Attempt]

    @property
    def order_id(self) -> int | None:
        for status, _error, data in self.attempts:
            if status in (200, 201) and isinstance(data, dict) and isinstance(data.get("order_id"), int):
                return data["order_id"]
        return None

    @property
    def ambiguous_attempts(self) -> int:
        return sum(1 for a in self.attempts if _ambiguous(a))


@dataclass
class Ledger:
    """Every write the workload (or the setup) made, in order."""

    writes: list[Write] = field(default_factory=list)

    def add(self, product_id: int, quantity: int, key: str | None, attempts: list[Attempt]) -> Write:
        write = Write(int(product_id), int(quantity), key, list(attempts))
        self.writes.append(write)
        return write

    @property
    def acknowledged(self) -> list[Write]:
        return [w for w in self.writes if w.order_id is not None]


def check(
    ledger: Ledger,
    initial_orders: set[int],
    final_orders: list[dict[str, Any]],
    initial_stock: dict[int, int] | None,
    final_stock: dict[int, int] | None,
) -> dict[str, Any]:
    """The journal's `integrity` section from the ledger and what the database holds now."""
    by_id = {int(o["order_id"]): o for o in final_orders}
    lost, changed, notes = [], [], []
    acked_ids: dict[int, Write] = {}
    for w in ledger.acknowledged:
        oid = w.order_id
        assert oid is not None
        acked_ids[oid] = w
        row = by_id.get(oid)
        if row is None:
            lost.append(oid)
        elif int(row["product_id"]) != w.product_id or int(row["quantity"]) != w.quantity:
            changed.append(oid)
    # Unacknowledged new orders: explained by an ambiguous attempt, a duplicate, or a phantom.
    budget = {id(w): w.ambiguous_attempts for w in ledger.writes}
    by_key = {w.key: w for w in ledger.writes if w.key}
    phantom, duplicates, resolved = [], 0, 0
    claimed: set[int] = set()
    for oid in sorted(set(by_id) - set(acked_ids) - initial_orders):
        row = by_id[oid]
        row_key = row.get("idempotency_key")
        owner = by_key.get(row_key) if row_key else None
        if owner is None:
            owner = next(
                (
                    w
                    for w in ledger.writes
                    if budget[id(w)] > 0
                    and w.product_id == int(row["product_id"])
                    and w.quantity == int(row["quantity"])
                    and not w.key
                ),
                None,
            )
        if owner is None:
            phantom.append(oid)
            continue
        budget[id(owner)] -= 1
        if owner.order_id is not None or id(owner) in claimed:
            duplicates += 1  # one logical write, two orders
        else:
            resolved += 1
        claimed.add(id(owner))
    ambiguous = sum(1 for w in ledger.writes if w.order_id is None and w.ambiguous_attempts)
    if resolved:
        notes.append(f"{resolved} ambiguous write(s) turned out to have committed")
    mismatches = []
    consistent = None
    if initial_stock is not None and final_stock is not None:
        sold: dict[int, int] = {}
        for oid, row in by_id.items():
            if oid not in initial_orders:
                sold[int(row["product_id"])] = sold.get(int(row["product_id"]), 0) + int(row["quantity"])
        for pid, before in sorted(initial_stock.items()):
            expected = before - sold.get(pid, 0)
            actual = final_stock.get(pid)
            if actual != expected:
                mismatches.append({"product_id": pid, "expected": expected, "actual": actual})
        consistent = not mismatches
    return {
        "checked": True,
        "acknowledged": len(acked_ids),
        "ambiguous": ambiguous,
        "lost": sorted(lost),
        "phantom": phantom,
        "changed": sorted(changed),
        "stock_consistent": consistent,
        "stock_mismatches": mismatches,
        "duplicates": duplicates,
        "notes": notes,
    }


def unchecked(reason: str) -> dict[str, Any]:
    """The integrity section when no check ran (no app to check, or the run stopped early)."""
    return {
        "checked": False,
        "acknowledged": 0,
        "ambiguous": 0,
        "lost": [],
        "phantom": [],
        "changed": [],
        "stock_consistent": None,
        "stock_mismatches": [],
        "duplicates": 0,
        "notes": [reason],
    }
