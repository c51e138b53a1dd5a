"""Section 5: the experiment runner's open-loop workload generator (chaoslab.experiment.workload)
— the highest rate it holds with fewer than 1 % of requests sent more than 1 ms after their
scheduled time — against wrk's closed-loop throughput on the same endpoint (the static backend
in its own process)."""

from __future__ import annotations

import asyncio
from typing import Any

from alb_compare import static_target
from common import WRK, Row, fmt, kill, load, load_tool, pct, spawn

LATE_S = 0.001
MAX_LATE_SHARE = 0.01
LOOSE_LATE_S = 0.005  # a second, looser bound: what the generator does hold


async def _run(url: str, rate: float, seconds: float, late_s: float) -> dict[str, Any]:
    from chaoslab.experiment.workload import RequestSpec, Workload

    records: list[dict[str, Any]] = []
    workload = Workload(url, [RequestSpec(path="/", rate=rate)], on_record=records.append, phase=lambda: "bench")
    runner = asyncio.create_task(workload.run())
    await asyncio.sleep(seconds)
    workload.stop()
    await runner
    lateness = sorted(r["sent"] - r["t"] for r in records) or [0.0]
    late = sum(1 for x in lateness if x > late_s)
    errors = sum(1 for r in records if r["status"] != 200)
    return {
        "sent": len(records),
        "late_share": late / len(lateness),
        "errors": errors,
        "p50_late_ms": pct(lateness, 0.5) * 1000,
        "p99_late_ms": pct(lateness, 0.99) * 1000,
    }


def holds(url: str, rate: float, seconds: float, late_s: float) -> tuple[bool, dict[str, Any]]:
    got = asyncio.run(_run(url, rate, seconds, late_s))
    ok = got["late_share"] < MAX_LATE_SHARE and got["errors"] == 0 and got["sent"] >= 0.9 * rate * seconds
    return ok, got


def highest_rate(url: str, seconds: float, late_s: float) -> tuple[float, Any, float | None, Any]:
    """(best rate held, its figures, lowest rate missed, its figures), searching by doubling or
    halving from 250/s and one bisection step between the last hold and the first miss."""
    best, best_got, failed_at, failed_got = 0.0, None, None, None
    rate = 250.0
    ok, got = holds(url, rate, seconds, late_s)
    step = 2.0 if ok else 0.5  # climb from 250/s while it holds, else descend until it does
    while True:
        if ok:
            best, best_got = rate, got
        else:
            failed_at, failed_got = rate, got
        if (ok and step < 1) or (not ok and step > 1) or not 10 <= rate * step <= 64000:
            break
        rate *= step
        ok, got = holds(url, rate, seconds, late_s)
    if failed_at is not None and best:
        mid = (best + failed_at) / 2  # one bisection step narrows the answer to ±25 %
        ok, got = holds(url, mid, seconds, late_s)
        if ok:
            best, best_got = mid, got
        else:
            failed_at, failed_got = mid, got
    return best, best_got, failed_at, failed_got


def workload_rows(*, quick: bool) -> list[Row]:
    seconds = 2.0 if quick else 4.0
    target, port = spawn(static_target)
    url = f"http://127.0.0.2:{port}"
    try:
        found = {late: highest_rate(url, seconds, late) for late in (LATE_S, LOOSE_LATE_S)}
        ref = load(url + "/", connections=64, seconds=seconds)
    finally:
        kill(target)
    return [_row(late, *found[late], seconds, ref) for late in found]


def _row(
    late_s: float,
    best: float,
    best_got: Any,
    failed_at: float | None,
    failed_got: Any,
    seconds: float,
    ref: dict[str, float],
) -> Row:
    note = (
        f"held at {fmt(best)}/s: {fmt(best_got['late_share'] * 100)} % late, send delay p99 "
        f"{fmt(best_got['p99_late_ms'])} ms"
        if best_got
        else "held at no rate tried (≥ 10/s)"
    )
    if failed_at is not None and failed_got is not None:
        note += (
            f"; missed at {fmt(failed_at)}/s: {fmt(failed_got['late_share'] * 100)} % late, send delay p50 "
            f"{fmt(failed_got['p50_late_ms'])} ms, p99 {fmt(failed_got['p99_late_ms'])} ms, "
            f"{failed_got['errors']} errors, {failed_got['sent']} of {int(failed_at * seconds)} sent"
        )
    tool = load_tool() if WRK else "bundled client"
    return Row(
        "5 workload",
        f"open-loop rate held (< 1 % sent > {late_s * 1000:g} ms late)",
        best,
        "req/s",
        f"{tool} closed loop, 64 conns: {fmt(ref['rps'])} req/s",
        f"{best / ref['rps']:.3f}× {tool}",
        note=note,
    )
