"""Section 5: the experiment runner's open-loop workload generator (chaoslab.experiment.workload)
— the highest rate it holds with fewer than 1 % of requests sent more than 1 ms after their
scheduled time — on the runner's own loop, in one generator process and in two
(`workload.processes`) — against Locust
(FastHttpUser, one process, 64 users, no wait time) and wrk's closed-loop throughput on the same
endpoint (the static backend in its own process), in the same run."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from alb_compare import static_target
from common import WRK, Row, fmt, kill, load, load_tool, pct, spawn

LATE_S = 0.001
MAX_LATE_SHARE = 0.01
LOOSE_LATE_S = 0.005  # a second, looser bound: what the generator does hold
TARGET_VS_LOCUST = 1.5
IN_LOOP = 0  # "processes": the generator on the caller's own loop (the runner's default), not a process of its own
# The box is shared: a rate counts as held if one of two tries holds it, and Locust's figure is
# the better of two runs, so a neighbour's burst costs neither side its figure.
TRIES = 2
LOCUST_USERS = 64
LOCUST_MIN_S = 5.0  # its start-up (gevent, 64 users) eats into shorter runs
LOCUSTFILE = """
from locust import FastHttpUser, constant, task


class Static(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get("/")
"""


async def _run(url: str, rate: float, seconds: float, processes: int) -> dict[str, Any]:
    from chaoslab.experiment.processes import WorkloadProcesses
    from chaoslab.experiment.workload import RequestSpec, Workload

    records: list[dict[str, Any]] = []
    workload: Workload | WorkloadProcesses
    if processes == IN_LOOP:
        workload = Workload(url, [RequestSpec(path="/", rate=rate)], on_record=records.append, phase=lambda: "bench")
    else:
        workload = WorkloadProcesses(
            url, [{"path": "/", "rate": rate}], processes=processes, on_record=records.append, phase=lambda: "bench"
        )
    runner = asyncio.create_task(workload.run())
    if isinstance(workload, WorkloadProcesses):  # the seconds count from the schedules' start
        await asyncio.wait([runner, asyncio.create_task(workload.started.wait())], return_when="FIRST_COMPLETED")
    await asyncio.sleep(seconds)
    workload.stop()
    await runner
    lateness = sorted(r["sent"] - r["t"] for r in records) or [0.0]
    return {
        "sent": len(records),
        "lateness": lateness,
        "errors": sum(1 for r in records if r["status"] != 200),
        "p50_late_ms": pct(lateness, 0.5) * 1000,
        "p99_late_ms": pct(lateness, 0.99) * 1000,
    }


def holds(url: str, rate: float, seconds: float, late_s: float, processes: int) -> tuple[bool, dict[str, Any]]:
    for _ in range(TRIES):
        got = asyncio.run(_run(url, rate, seconds, processes))
        got["late_share"] = sum(1 for x in got.pop("lateness") if x > late_s) / max(1, got["sent"])
        ok = got["late_share"] < MAX_LATE_SHARE and got["errors"] == 0 and got["sent"] >= 0.9 * rate * seconds
        if ok:
            break
    return ok, got


def locust_rps(url: str, seconds: float) -> float | None:
    """Locust's throughput on `url`: headless, one process, 64 users, no wait, `seconds` long;
    requests over the span from its first to its last request (its own req/s). None when Locust
    is not installed or counted no request."""
    with tempfile.TemporaryDirectory() as tmp:
        locustfile = Path(tmp) / "locustfile.py"
        locustfile.write_text(LOCUSTFILE)
        out = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--host", url]
            + ["-u", str(LOCUST_USERS), "-r", str(LOCUST_USERS * 100), "-t", f"{seconds:g}s", "--json"]
            + ["--loglevel", "WARNING", "--skip-log-setup"],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            cwd=tmp,
        )
    if out.returncode != 0 and "No module named locust" in out.stderr:
        return None
    stats = json.loads(out.stdout)
    total = sum(e["num_requests"] for e in stats)
    failures = sum(e["num_failures"] for e in stats)
    if failures:
        raise RuntimeError(f"locust: {failures} of {total} requests failed: {out.stderr[-500:]}")
    if not total:  # on a busy box its start-up can use up a short run; the other try may count
        return None
    span = max(e["last_request_timestamp"] for e in stats) - min(e["start_time"] for e in stats)
    return total / span


def highest_rate(url: str, seconds: float, late_s: float, processes: int) -> tuple[float, Any, float | None, Any]:
    """(best rate held, its figures, lowest rate missed, its figures), searching by doubling or
    halving from 250/s and one bisection step between the last hold and the first miss."""
    best, best_got, failed_at, failed_got = 0.0, None, None, None
    rate = 250.0
    ok, got = holds(url, rate, seconds, late_s, processes)
    step = 2.0 if ok else 0.5  # climb from 250/s while it holds, else descend until it does
    while True:
        if ok:
            best, best_got = rate, got
        else:
            failed_at, failed_got = rate, got
        if (ok and step < 1) or (not ok and step > 1) or not 10 <= rate * step <= 64000:
            break
        rate *= step
        ok, got = holds(url, rate, seconds, late_s, processes)
    if failed_at is not None and best:
        mid = (best + failed_at) / 2  # one bisection step narrows the answer to ±25 %
        ok, got = holds(url, mid, seconds, late_s, processes)
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
        in_loop = {late: highest_rate(url, seconds, late, IN_LOOP) for late in (LATE_S, LOOSE_LATE_S)}
        one = highest_rate(url, seconds, LATE_S, 1)
        two = highest_rate(url, seconds, LATE_S, 2)
        runs = [locust_rps(url, max(seconds, LOCUST_MIN_S)) for _ in range(TRIES)]
        locust = max((r for r in runs if r is not None), default=None)
        wrk = load(url + "/", connections=64, seconds=seconds)
    finally:
        kill(target)
    rows = [_row(late, IN_LOOP, *in_loop[late], seconds, locust, wrk, target=False) for late in in_loop]
    rows.append(_row(LATE_S, 1, *one, seconds, locust, wrk, target=True))
    rows.append(_row(LATE_S, 2, *two, seconds, locust, wrk, target=False))
    if one[0] and two[0]:
        rows[-1].ratio += f", {two[0] / one[0]:.2f}× 1 process"
    return rows


def _row(
    late_s: float,
    processes: int,
    best: float,
    best_got: Any,
    failed_at: float | None,
    failed_got: Any,
    seconds: float,
    locust: float | None,
    wrk: dict[str, float],
    *,
    target: bool,
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
    note += f"; {tool} closed loop, 64 conns: {fmt(wrk['rps'])} req/s"
    reference = (
        f"Locust {LOCUST_USERS} users, FastHttpUser, 1 process: {fmt(locust)} req/s"
        if locust
        else "Locust: no figure (not installed, or no request counted)"
    )
    return Row(
        "5 workload",
        f"open-loop rate held (< 1 % sent > {late_s * 1000:g} ms late), {_where(processes)}",
        best,
        "req/s",
        reference,
        f"{best / locust:.2f}× Locust" if locust else "",
        target=TARGET_VS_LOCUST * locust if target and locust else None,
        higher_is_better=True,
        note=note,
    )


def _where(processes: int) -> str:
    if processes == IN_LOOP:
        return "in the runner's loop (asyncio)"
    return f"{processes} generator process{'es' if processes > 1 else ''} (uvloop)"
