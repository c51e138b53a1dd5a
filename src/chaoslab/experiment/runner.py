"""`chaoslab run`: seed 002's lifecycle with a tool behind it.

setup (snapshot data, place setup orders) → baseline (load on; the steady state must hold, else
exit 2 and inject nothing) → injection (the FIS experiment through the lab's API) → recovery
(until the steady state holds again, or a timeout) → analysis (integrity, windows, clauses,
verdict). Throughout, lab events are followed and healthy hosts/alarms sampled once a second;
the result is the journal of docs/journal.md.

Every time the run records or judges is the lab's scenario time (docs/timing.md): at time scale
N the phases last 1/N of their seconds, and the journal shows the experiment's own times. The
workload and the probe send real requests at their wall-clock rates.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
import uuid
from datetime import datetime
from typing import Any

import aiohttp
from botocore.exceptions import ClientError

from chaoslab.clock import LabClock
from chaoslab.errors import ChaoslabError
from chaoslab.experiment import hypothesis, integrity, recoveries, target, windows
from chaoslab.experiment.integrity import Ledger
from chaoslab.experiment.locust_engine import LocustWorkload
from chaoslab.experiment.processes import WorkloadProcesses
from chaoslab.experiment.target import Target
from chaoslab.experiment.workload import Attempt, Probe, Record, RequestSpec, Workload, is_failure

TERMINAL = ("completed", "stopped", "failed", "cancelled")
STOP_GRACE_S = 30.0  # after StopExperiment, how long FIS may take to revert before the run gives up
SAMPLE_FLOOR_S = 0.2  # wall seconds between two samples of target health, however fast the clock
# The integrity read-back: reads of orders and stock until two in a row agree (replica lag is
# milliseconds; wall seconds, whatever the lab's time scale).
READ_BACK_ATTEMPTS = 5
READ_BACK_PAUSE_S = 0.5
EXIT = {"held": 0, "deviated": 1, "baseline-not-met": 2, "error": 2, "aborted": 3}


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    return value.timestamp() if isinstance(value, datetime) else float(value)


async def _sending(load: list[tuple[Any, asyncio.Task[None]]]) -> None:
    """Wait until generator processes or Locust send (they take a moment to start), so the baseline
    measures load from its first second. One that failed to start is the run's error (a baseline
    without load would only say the steady state did not hold)."""
    for part, task in load:
        if isinstance(part, (WorkloadProcesses, LocustWorkload)):
            started = asyncio.ensure_future(part.started.wait())
            await asyncio.wait([started, task], return_when=asyncio.FIRST_COMPLETED)
            started.cancel()
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]


class Run:
    """One execution of an experiment against a running lab or an AWS account (`lab`)."""

    def __init__(self, exp: dict[str, Any], lab: Target, view: Any, *, stack: str) -> None:
        self.exp = exp
        self.lab = lab
        self.view = view
        self.stack = stack
        self.records: list[Record] = []
        self.events: list[dict[str, Any]] = []
        self.ledger = Ledger()
        self.phase = "setup"
        self.phases: list[dict[str, Any]] = []
        self.healthy: list[list[Any]] = []
        self.unhealthy: list[list[Any]] = []
        self.alarm_series: dict[str, list[list[Any]]] = {}
        self.targets: dict[str, str] = {}
        self.alarms: dict[str, str] = {}
        self.dead: set[str] = set()
        self.fis: dict[str, Any] | None = None
        self.skip_all = False  # the experiment runs no action (FIS's actionsMode skip-all: a dry run)
        self.notes: list[str] = []
        self.broken: dict[str, float] = {}  # clause id -> when it first failed, while running
        self._seq = 0
        self.tg_arns: set[str] = set()
        self.started = time.time()  # scenario time once execute() has read the lab's clock
        self.clock = LabClock()  # the lab's, once its status is read
        self._phase_started = time.monotonic()
        self._phase_total: float | None = None

    # records and samples ----------------------------------------------------------------
    def _on_record(self, record: Record) -> None:
        for key in ("t", "sent", "done"):
            record[key] = self.clock.scenario(record[key])
        self.records.append(record)
        self.view.request(record)

    def _on_write(self, spec: RequestSpec, body: Any, key: str | None, attempts: list[Attempt]) -> None:
        if spec.path == "/orders" and isinstance(body, dict) and "product_id" in body and "quantity" in body:
            self.ledger.add(body["product_id"], body["quantity"], key, attempts)

    def healthy_now(self) -> int:
        """Healthy targets that are not the fault's victims: a stopped instance the ALB has not
        noticed yet must not count towards recovery."""
        return sum(1 for t, s in self.targets.items() if s == "healthy" and t not in self.dead)

    async def _sample_loop(self, tg_arns: list[str]) -> None:
        while True:
            try:
                self.targets, self.alarms = await asyncio.to_thread(self.lab.sample, tg_arns)
                now = self.clock.now()
                self._record_health(now)
                for name, state in self.alarms.items():
                    self.alarm_series.setdefault(name, []).append([now, state])
            except Exception as exc:  # a sample missed is a gap in a chart, not a failed run
                self.notes.append(f"sample failed: {exc}")
            self._tick()
            self._watch_clauses()
            await asyncio.sleep(max(SAMPLE_FLOOR_S, self.clock.wall(1.0)))

    def _record_health(self, when: float) -> None:
        """One point of the healthy/unhealthy host series, kept in time order."""
        states = list(self.targets.values())
        bisect.insort(self.healthy, [when, states.count("healthy")])
        bisect.insort(self.unhealthy, [when, sum(1 for s in states if s in ("unhealthy", "draining"))])

    def _follow_health(self, events: list[dict[str, Any]]) -> None:
        """Every health transition of our target groups as a point of its own: a dip shorter than
        the one-second sampling (a replacement healthy within the second) is still seen."""
        for e in events:
            ours = e.get("target_group") in self.tg_arns and e["time"] >= self.started
            if e["kind"] == "target.health" and ours and self.targets:
                self.targets[e["target"]] = e["state"]
                self._record_health(e["time"])

    async def _follow_events(self, session: aiohttp.ClientSession) -> None:
        while True:
            await self._fetch_events(session)
            await asyncio.sleep(0.5)

    async def _fetch_events(self, session: aiohttp.ClientSession) -> None:
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
            events, self._seq = await self.lab.events(session, self._seq)
            for event in events:  # the lab's event log keeps wall time
                event["time"] = self.clock.scenario(event["time"])
            self.events += events
            self._claim_faults(events)
            self._follow_health(events)

    def _is_ours(self, event: dict[str, Any]) -> bool:
        """A fault event of this run's FIS experiment. Events are read from the lab's start, so a
        reused lab also reports earlier experiments' faults, whose targets are not this run's
        victims (they would never count as healthy again, and their windows are not ours)."""
        return (
            event["kind"] in ("fault.applied", "fault.reverted")
            and self.fis is not None
            and event.get("experiment") == self.fis["experiment_id"]
        )

    def _claim_faults(self, events: list[dict[str, Any]]) -> None:
        for e in events:
            if e["kind"] == "fault.applied" and self._is_ours(e):
                self.dead.add(e["target"])
                self.view.note(
                    f"{time.strftime('%H:%M:%S', time.localtime(e['time']))}   fault {e['fault']} on {e['target']}"
                )

    def _watch_clauses(self) -> None:
        """Judge the hypothesis while it runs, so the moment a clause breaks is on record (and on
        screen), not only the end result."""
        if self.phase not in hypothesis.AFTER_BASELINE:
            return
        evidence = hypothesis.Evidence(
            records=self.records, phases={p["name"]: (p["start"], p["end"]) for p in self.phases}
        )
        for i, clause in enumerate(self.exp["hypothesis"]["clauses"]):
            if clause["type"] not in ("error_rate", "latency", "consecutive_failures"):
                continue
            result = hypothesis.evaluate(clause, i, evidence)
            if not result["passed"] and result["measured"] != "no requests" and result["id"] not in self.broken:
                self.broken[result["id"]] = self.clock.now()
                self.view.note(
                    f"{time.strftime('%H:%M:%S')}   hypothesis broken: {result['text']} (measured {result['measured']})"
                )

    def _tick(self) -> None:
        recent = [r for r in self.records if r["t"] >= self.clock.now() - 5 * self.clock.scale]
        errors = sum(1 for r in self.records if is_failure(r))
        self.view.tick(
            {
                "phase": self.phase,
                "elapsed": (time.monotonic() - self._phase_started) * self.clock.scale,
                "total": self._phase_total,
                "requests": len(self.records),
                "errors": errors,
                "error_rate": (sum(1 for r in recent if is_failure(r)) / len(recent)) if recent else 0.0,
            }
        )

    # phases -------------------------------------------------------------------------------
    def _begin(self, name: str, detail: str, total: float | None) -> dict[str, Any]:
        self.phase = name
        self._phase_started = time.monotonic()
        self._phase_total = total
        entry = {"name": name, "start": self.clock.now(), "end": None, "result": None}
        self.phases.append(entry)
        self.view.phase(name, detail)
        return entry

    def steady(self) -> list[dict[str, Any]]:
        return hypothesis.steady_state(
            self.exp["steady_state"],
            self.records,
            now=self.clock.now(),
            healthy_hosts=self.healthy_now() if self.targets else None,
            alarms=self.alarms,
        )

    async def execute(self) -> dict[str, Any]:
        status = await asyncio.to_thread(self.lab.status)
        self.clock = LabClock(status.get("time_scale", 1.0), status["started_at"])
        if self.clock.scale != 1:
            self.view.note(
                f"time scale {self.clock.scale:g}: the lab's clocks run {self.clock.scale:g}x, times are scenario time"
            )
        started = self.started = self.clock.now()
        alb_name, alb_url = self.lab.alb(status)
        base = self.exp["workload"].get("target") or alb_url
        tgs = await asyncio.to_thread(self.lab.target_groups, alb_name)
        self.tg_arns = {t["TargetGroupArn"] for t in tgs}
        health_check = target.health_check(tgs[0]) if tgs else None
        checks_data = self.exp["integrity"].get("app", "chaos-shop") == "chaos-shop"
        unchecked_why = "integrity checks are off for this experiment"
        async with aiohttp.ClientSession() as session:
            background = [
                asyncio.create_task(self._follow_events(session)),
                asyncio.create_task(self._sample_loop([t["TargetGroupArn"] for t in tgs])),
            ]
            load: list[tuple[Any, asyncio.Task[None]]] = []
            try:
                await self._wait_ready(self.exp["timing"]["ready_timeout_s"])
                initial = {}
                if checks_data:
                    try:
                        initial = await self._snapshot(session, base)
                    except (TimeoutError, aiohttp.ClientError, KeyError, ValueError) as exc:
                        checks_data = False
                        unchecked_why = (
                            f"the app at {base} does not serve the Chaos Shop's /products and /orders ({exc}); "
                            "set integrity: {app: none} for an app that is not the Chaos Shop"
                        )
                        self.notes.append(f"integrity not checked: {unchecked_why}")
                await self._setup_orders(session, base)
                load = self._start_load(base)
                await _sending(load)
                outcome, summary, fis_status, recovery_time = await self._run_phases()
            finally:
                for part, _task in load:
                    part.stop()
                await asyncio.gather(*(task for _part, task in load), return_exceptions=True)
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)
                await self._stop_fis_if_running()
            await self._fetch_events(session)
            if outcome == "baseline-not-met":
                integ = integrity.unchecked("nothing was injected")
            elif checks_data:
                integ = await self._integrity(session, base, initial)
            else:
                integ = integrity.unchecked(unchecked_why)
        faults = self._faults()
        wins = windows.measure(self.records, faults, self.events, health_check, recovery_time)
        evidence = hypothesis.Evidence(
            records=self.records,
            healthy_hosts=[tuple(x) for x in self.healthy],
            alarms={k: [tuple(x) for x in v] for k, v in self.alarm_series.items()},
            phases={p["name"]: (p["start"], p["end"]) for p in self.phases},
            integrity=integ,
            recovery_time_s=recovery_time,
            scaling=[
                (e["time"], e["resource"], e["old"], e["capacity"])
                for e in self.events
                if e["kind"] == "scaling.activity" and e["time"] >= self.started
            ],
        )
        clauses = (
            []
            if outcome == "baseline-not-met"
            else [hypothesis.evaluate(c, i, evidence) for i, c in enumerate(self.exp["hypothesis"]["clauses"])]
        )
        for clause in clauses:
            clause["first_failed_at"] = self.broken.get(clause["id"])
        if fis_status == "completed" and outcome == "error":
            failed = [c["text"] for c in clauses if not c["passed"]]
            outcome = "deviated" if failed else "held"
            summary = "hypothesis refuted: " + "; ".join(failed) if failed else "hypothesis held"
        return self._journal(started, status, alb_url, health_check, faults, clauses, integ, wins, outcome, summary)

    def _start_load(self, base: str) -> list[tuple[Any, asyncio.Task[None]]]:
        """The workload and, when enabled, the probe: (part, task) pairs to stop at the end."""
        wl = self.exp["workload"]
        common: dict[str, Any] = {
            "on_record": self._on_record,
            "phase": lambda: self.phase,
            "on_write": self._on_write,
            "timeout_s": wl.get("timeout_s", 5.0),
            "connect_timeout_s": wl.get("connect_timeout_s", 3.0),
        }
        # Absent, the generator shares this loop; `processes: N` (1 too) gives it N processes of
        # its own; `locust:` hands the load to Locust.
        parts: list[Any] = [
            LocustWorkload(base, wl["locust"], **common)
            if "locust" in wl
            else WorkloadProcesses(base, wl["requests"], processes=wl["processes"], **common)
            if "processes" in wl
            else Workload(base, [RequestSpec.from_doc(d) for d in wl["requests"]], **common)
        ]
        probe = self.exp["probe"]
        if probe["enabled"]:
            parts.append(
                Probe(
                    base,
                    path=probe["path"],
                    interval_s=probe["interval_s"],
                    connect_timeout_s=probe["connect_timeout_s"],
                    max_time_s=probe["max_time_s"],
                    on_record=self._on_record,
                    phase=lambda: self.phase,
                )
            )
        return [(part, asyncio.create_task(part.run())) for part in parts]

    async def _run_phases(self) -> tuple[str, str, str | None, float | None]:
        """baseline → injection → recovery: (outcome so far, summary, FIS status, recovery time).
        The outcome stays "error" for a completed injection until the clauses are judged."""
        timing = self.exp["timing"]
        if not await self._baseline(timing["baseline_s"]):
            return "baseline-not-met", "the steady state did not hold in the baseline; nothing was injected", None, None
        fis_status = await self._inject(timing["max_injection_s"])
        reason = (self.fis or {}).get("state", {}).get("reason", "")
        outcome, summary = "error", ""
        if fis_status == "stopped":
            outcome, summary = "aborted", f"FIS stopped the experiment: {reason}"
        elif fis_status != "completed":
            summary = f"the FIS experiment ended {fis_status}: {reason}"
        recovery_time = await self._recover(timing["recovery_timeout_s"], timing["min_recovery_s"])
        return outcome, summary, fis_status, recovery_time

    async def _wait_ready(self, timeout: float) -> None:
        """A just-started lab needs its targets healthy, and the alarms the steady state reads
        evaluated once (a new alarm is INSUFFICIENT_DATA until its first evaluation, up to a
        cadence after creation), before a baseline makes sense."""
        need = max([c["min"] for c in self.exp["steady_state"] if c["type"] == "healthy_hosts"] or [1])
        alarms = [
            c["name"]
            for c in self.exp["steady_state"]
            if c["type"] == "alarm" and c.get("mode") != "never_was" and c["state"] != "INSUFFICIENT_DATA"
        ]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            unevaluated = [a for a in alarms if self.alarms.get(a) == "INSUFFICIENT_DATA"]
            if self.targets and self.healthy_now() >= need and not unevaluated:
                return
            await asyncio.sleep(0.3)

    async def _snapshot(self, session: aiohttp.ClientSession, base: str) -> dict[str, Any]:
        """Stock and order ids before any write of ours: the integrity check's starting point."""
        return {"stock": await _stock(session, base), "orders": {o["order_id"] for o in await _orders(session, base)}}

    async def _setup_orders(self, session: aiohttp.ClientSession, base: str) -> None:
        for order in self.exp.get("setup", {}).get("orders", []):
            async with session.post(f"{base}/orders", json=order, timeout=aiohttp.ClientTimeout(total=10)) as resp:
                data = await resp.json(content_type=None)
                self.ledger.add(order["product_id"], order["quantity"], None, [(resp.status, None, data)])
            if resp.status == 201:
                self.view.note(
                    f"order {data['order_id']}: {data['quantity']} x {data['product_name']} = "
                    f"{data['total']:.2f} ({data['status']}, served by {data.get('served_by')})"
                )
            else:
                self.view.note(f"setup order {order} answered {resp.status}: {data}")

    async def _baseline(self, seconds: float) -> bool:
        entry = self._begin("baseline", f"{seconds:g} s of load; the steady state must hold", seconds)
        await self.clock.sleep(seconds)
        checks = self.steady()
        entry["end"] = self.clock.now()
        held = all(c["passed"] for c in checks)
        entry["result"] = "held" if held else "not-held"
        for c in checks:
            self.view.note(f"  steady state: {c['text']}: {c['measured']} {'ok' if c['passed'] else 'NOT MET'}")
        if not held:
            for name in ("injection", "recovery"):
                now = self.clock.now()
                self.phases.append({"name": name, "start": now, "end": now, "result": "skipped"})
        return held

    async def _inject(self, max_seconds: float) -> str:
        entry = self._begin("injection", "starting the FIS experiment", max_seconds)
        fis = self.lab.client("fis")
        template_id = self.exp.get("template_id")
        if not template_id:
            body = {k: v for k, v in self.exp["template"].items() if k != "clientToken"}
            created = await asyncio.to_thread(fis.create_experiment_template, clientToken=str(uuid.uuid4()), **body)
            template_id = created["experimentTemplate"]["id"]
        skip = self.exp.get("fis", {}).get("skip_unsupported_actions")
        started = await asyncio.to_thread(
            fis.start_experiment,
            clientToken=str(uuid.uuid4()),
            experimentTemplateId=template_id,
            **self.lab.start_args(bool(skip)),
        )
        exp_id = started["experiment"]["id"]
        self.skip_all = started["experiment"].get("experimentOptions", {}).get("actionsMode") == "skip-all"
        self.fis = {
            "template_id": template_id,
            "experiment_id": exp_id,
            "state": started["experiment"]["state"],
            "actions": {},
            "resolved_targets": [],
        }
        self._claim_faults(self.events)  # the ones fetched while start_experiment was answering
        self.view.note(f"FIS experiment {exp_id} started (template {template_id})")
        deadline = time.monotonic() + self.clock.wall(max_seconds)
        while True:
            got = (await asyncio.to_thread(fis.get_experiment, id=exp_id))["experiment"]
            self._record_fis(got)
            if got["state"]["status"] in TERMINAL:
                break
            if time.monotonic() > deadline:
                if self.fis.get("stopped_by_runner"):
                    raise ChaoslabError(
                        f"FIS experiment {exp_id} did not stop within {STOP_GRACE_S:g} s of StopExperiment",
                        hint="see `chaoslab status` and the lab log",
                    )
                self.view.note(f"injection exceeded {max_seconds:g} s: stopping the FIS experiment")
                with contextlib.suppress(ClientError):  # it may have ended since the last poll
                    await asyncio.to_thread(fis.stop_experiment, id=exp_id)
                deadline = time.monotonic() + STOP_GRACE_S
                self.fis["stopped_by_runner"] = True
            await asyncio.sleep(max(0.1, self.clock.wall(0.5)))
        with contextlib.suppress(Exception):
            resolved = await asyncio.to_thread(fis.list_experiment_resolved_targets, experimentId=exp_id)
            self.fis["resolved_targets"] = [
                {
                    "targetName": t.get("targetName"),
                    "resourceType": t.get("resourceType"),
                    "arn": t.get("targetInformation", {}).get("arn") or str(t),
                }
                for t in resolved.get("resolvedTargets", [])
            ]
        status = got["state"]["status"]
        entry["end"] = self.clock.now()
        entry["result"] = status
        self.view.note(f"FIS experiment {exp_id}: {status} ({got['state'].get('reason', '')})")
        if status == "stopped" and self.fis.get("stopped_by_runner"):
            return "completed"
        return status

    def _record_fis(self, got: dict[str, Any]) -> None:
        assert self.fis is not None
        self.fis["state"] = {"status": got["state"]["status"], "reason": got["state"].get("reason", "")}
        self.fis["actions"] = {
            name: {
                "actionId": a["actionId"],
                "state": {"status": a["state"]["status"], "reason": a["state"].get("reason", "")},
                "startTime": _epoch(a.get("startTime")),
                "endTime": _epoch(a.get("endTime")),
            }
            for name, a in got.get("actions", {}).items()
        }

    async def _recover(self, timeout: float, minimum: float) -> float | None:
        entry = self._begin("recovery", "until the steady state holds again", timeout)
        applied = (
            (e["time"] for e in self.events if e["kind"] == "fault.applied" and self._is_ours(e))
            if self.lab.fault_events
            else (w["start"] for w in self._faults())
        )
        fault_start = min(applied, default=self.phases[-2]["start"])
        deadline = time.monotonic() + self.clock.wall(timeout)
        streak = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(self.clock.cadence(1.0))
            if time.monotonic() - self._phase_started < self.clock.wall(minimum):
                continue
            streak = streak + 1 if all(c["passed"] for c in self.steady()) else 0
            if streak >= 2:  # two evaluations a (scenario) second apart: not a lucky instant
                entry["end"] = self.clock.now()
                entry["result"] = "held"
                took = entry["end"] - fault_start
                self.view.note(f"steady state holds again, {took:.1f} s after the fault")
                return round(took, 3)
        entry["end"] = self.clock.now()
        entry["result"] = "not-held"
        self.view.note(f"the steady state did not return within {timeout:g} s")
        return None

    async def _stop_fis_if_running(self) -> None:
        """Ctrl-C or an error mid-injection: FIS must revert its faults now, not later."""
        if self.fis and self.fis["state"]["status"] not in TERMINAL:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.lab.client("fis").stop_experiment, id=self.fis["experiment_id"])

    async def _integrity(self, session: aiohttp.ClientSession, base: str, initial: dict[str, Any]) -> dict[str, Any]:
        try:
            final_orders, final_stock, unsettled = await settled_read_back(session, base)
        except (TimeoutError, aiohttp.ClientError, KeyError, ValueError) as exc:
            return integrity.unchecked(f"could not read the data back: {exc}")
        if unsettled:
            self.notes.append(unsettled)
        return integrity.check(
            self.ledger, initial.get("orders", set()), final_orders, initial.get("stock"), final_stock
        )

    def _faults(self) -> list[dict[str, Any]]:
        """Fault windows from fault.applied/reverted events, one per FIS action."""
        if not self.lab.fault_events:
            return self._action_windows()
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for e in self.events:
            if not self._is_ours(e):
                continue
            key = (e.get("experiment", ""), e.get("action") or e.get("fault", ""))
            w = out.setdefault(
                key, {"action": e.get("fault", ""), "action_id": "", "start": e["time"], "end": None, "targets": []}
            )
            if e["kind"] == "fault.applied":
                w["start"] = min(w["start"], e["time"])
                if e["target"] not in w["targets"]:
                    w["targets"].append(e["target"])
            else:
                w["end"] = max(w["end"] or 0, e["time"])
        for (_exp, name), w in out.items():
            action = (self.fis or {}).get("actions", {}).get(name)
            if action:
                w["action"], w["action_id"] = name, action["actionId"]
        return list(out.values())

    def _action_windows(self) -> list[dict[str, Any]]:
        """Fault windows from FIS's own action times, where no fault events are reported (an AWS
        account): an action that started is a window, on the targets FIS resolved for it."""
        fis = self.fis or {}
        if self.skip_all:
            return []
        targets = [t["arn"] for t in fis.get("resolved_targets", [])]
        return [
            {
                "action": name,
                "action_id": a["actionId"],
                "start": a["startTime"],
                "end": a["endTime"],
                "targets": targets,
            }
            for name, a in fis.get("actions", {}).items()
            if a["startTime"] is not None and a["state"]["status"] not in ("skipped", "cancelled")
        ]

    def _journal(
        self,
        started: float,
        status: dict[str, Any],
        alb_url: str,
        health_check: dict[str, int] | None,
        faults: list[dict[str, Any]],
        clauses: list[dict[str, Any]],
        integ: dict[str, Any],
        wins: dict[str, Any],
        outcome: str,
        summary: str,
    ) -> dict[str, Any]:
        hyp = self.exp["hypothesis"]
        return {
            "version": 1,
            "experiment": {
                "title": self.exp["title"],
                "file": self.exp.get("file"),
                "description": self.exp.get("description", ""),
                "hypothesis": {"if": hyp["if"], "then": hyp["then"]},
            },
            "lab": {
                "api": self.lab.api,
                "alb": alb_url,
                "stack": status.get("stack") or self.stack,
                "network_mode": status.get("network_mode"),
                "health_check": health_check,
                "time_scale": self.clock.scale,
                "epoch": self.clock.epoch,  # scenario time = epoch + (wall − epoch) × time_scale
                "timing": status.get("timing"),  # the timing profile in effect (docs/timing.md)
            },
            "started": started,
            "ended": self.clock.now(),
            "phases": self.phases,
            "requests": sorted(self.records, key=lambda r: r["t"]),
            "fis": self.fis,
            "faults": faults,
            "events": [{k: v for k, v in e.items() if k != "seq"} for e in self.events],
            "series": {"healthy_hosts": self.healthy, "unhealthy_hosts": self.unhealthy, "alarms": self.alarm_series},
            "clauses": clauses,
            "integrity": integ,
            "windows": wins,
            "recoveries": recoveries.measure(
                self.events,
                self.records,
                status.get("timing") or {},
                self.clock.scale,
                min((f["start"] for f in faults), default=started),
            ),
            "verdict": {"outcome": outcome, "exit_code": EXIT[outcome], "summary": summary},
            "notes": self.notes,
        }


async def settled_read_back(
    session: aiohttp.ClientSession, base: str
) -> tuple[list[dict[str, Any]], dict[int, int], str | None]:
    """Orders and stock as the app reads them, once two reads in a row agree, and a note when
    they did not at first. An app whose reads reach a replica (or, after a failover, the old
    writer through a stale endpoint) answers with that replica's lag, which is not a lost write;
    a lost write is missing from every read. Reads that never settle are judged as last read."""
    previous: tuple[list[dict[str, Any]], dict[int, int]] | None = None
    for reads in range(1, READ_BACK_ATTEMPTS + 1):
        current = (await _orders(session, base), await _stock(session, base))
        if current == previous:
            note = (
                f"integrity: the app's reads disagreed before they settled ({reads} reads): its reads reach "
                "a replica or a stale database endpoint"
                if reads > 2
                else None
            )
            return (*current, note)
        previous = current
        if reads < READ_BACK_ATTEMPTS:
            await asyncio.sleep(READ_BACK_PAUSE_S)
    assert previous is not None
    return (*previous, f"integrity: {READ_BACK_ATTEMPTS} reads of the data never agreed; judged on the last one")


async def _orders(session: aiohttp.ClientSession, base: str) -> list[dict[str, Any]]:
    async with session.get(f"{base}/orders", timeout=aiohttp.ClientTimeout(total=10)) as resp:
        resp.raise_for_status()
        return (await resp.json(content_type=None))["orders"]


async def _stock(session: aiohttp.ClientSession, base: str) -> dict[int, int]:
    async with session.get(f"{base}/products", timeout=aiohttp.ClientTimeout(total=10)) as resp:
        resp.raise_for_status()
        return {p["id"]: p["stock"] for p in (await resp.json(content_type=None))["products"]}
