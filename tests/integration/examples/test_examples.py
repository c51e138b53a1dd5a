"""Every scenario in examples/ through the real CLI in its fast variant (docs/examples.md, "CI"): its own lab
(own CHAOSLAB_HOME, API port, VPC range, listener port 0), `chaoslab run --fast --report`, and the
outcome and key journal figures asserted. Needs root (network namespaces)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from example_run import EXAMPLES, Result, run_example

from chaoslab.validate import validate_paths

pytestmark = pytest.mark.realistic


def _clause(journal: dict, prefix: str) -> dict:
    return next(c for c in journal["clauses"] if c["id"].startswith(prefix))


def _requests(journal: dict, endpoint: str, phase: str | None = None) -> list[dict]:
    return [
        r
        for r in journal["requests"]
        if r["endpoint"] == endpoint and not r["probe"] and (phase is None or r["phase"] == phase)
    ]


def _failed(request: dict) -> bool:
    """No HTTP answer, or a 5xx: what the hypothesis clauses count as a failure."""
    return request["status"] is None or request["status"] >= 500


def _during(journal: dict, fault: dict, settle: float = 0.5) -> list[dict]:
    """Requests scheduled while the fault was in place, from `settle` s after it began."""
    return [r for r in journal["requests"] if fault["start"] + settle <= r["t"] <= fault["end"]]


def _p50(requests: list[dict]) -> float:
    answered = sorted(r["latency_ms"] for r in requests if not _failed(r))
    return answered[len(answered) // 2]


def test_every_example_file_validates() -> None:
    files = sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".json", ".yaml") and p.name != "stack.yaml")
    assert len(files) >= 12
    errors = [i.format() for i in validate_paths([str(p) for p in files]) if i.severity == "error"]
    assert errors == []


def test_seed000_io_stress_payments_keep_flowing(tmp_path: Path) -> None:
    r = run_example("seed000-pet-payment-io-stress", tmp_path, 171)
    assert r.code == 0, r.output
    assert [f["action_id"] for f in r.journal["faults"]] == ["aws:ecs:task-io-stress"]
    assert len(r.journal["faults"][0]["targets"]) == 2
    paid = [x for x in _requests(r.journal, "POST /payments", "injection") if x["status"] == 201]
    assert len(paid) >= 50  # 10 payments/s for the ~10 s the fast variant stresses
    assert _clause(r.journal, "successes")["passed"]


def test_seed003_stop_instance_is_refuted_as_in_the_article(tmp_path: Path) -> None:
    r = run_example("seed003-stop-instance", tmp_path, 176)
    assert r.code == 1, r.output
    w = r.journal["windows"]
    # The group notices the stop one to two 2 s sweeps later; the ALB's checks see it first.
    assert w["failures_in_window"] >= 1 and w["detection_window_s"] <= w["detection_bound_s"], w
    assert r.journal["integrity"]["lost"] == [] and r.journal["integrity"]["duplicates"] == 0


DELAY_MS = 100  # latency.json: the first action's delayMilliseconds (± 10 ms jitter)
RETRANSMIT_MS = 500  # well over TCP's 200 ms minimum retransmission timeout: a segment was lost


def _seed001(tmp_path: Path, experiment: str) -> tuple[Result, dict]:
    """Run one seed 001 experiment; its one fault must have ended and the last seconds be answered."""
    r = run_example("seed001-ecs-network-faults", tmp_path, 181, experiment)
    (fault,) = r.journal["faults"]
    assert fault["end"] is not None, r.output
    tail = [x for x in r.journal["requests"] if x["t"] > r.journal["phases"][-1]["end"] - 3]
    assert tail and not any(_failed(x) for x in tail)  # reverted: the last seconds are answered
    return r, fault


def test_seed001_latency_is_added_and_nothing_fails(tmp_path: Path) -> None:
    r, fault = _seed001(tmp_path, "experiment.yaml")
    assert r.code == 0, r.output  # README: held, in the fast variant too (it stops in the first action)
    assert len(fault["targets"]) == 2
    for endpoint in ("GET /health/deep", "GET /health"):  # a database round trip; the probe
        requests = [x for x in r.journal["requests"] if x["endpoint"] == endpoint]
        base = _p50([x for x in requests if x["phase"] == "baseline"])
        slowed = _p50([x for x in _during(r.journal, fault) if x["endpoint"] == endpoint])
        after = _p50([x for x in requests if x["t"] > fault["end"]])
        assert slowed >= base + 0.8 * DELAY_MS, (endpoint, base, slowed)
        assert after < base + 0.5 * DELAY_MS, (endpoint, base, after)


def test_seed001_packet_loss_makes_requests_retransmit_or_fail(tmp_path: Path) -> None:
    r, fault = _seed001(tmp_path, "packet-loss.yaml")
    assert r.code == 1, r.output  # README: refuted
    assert len(fault["targets"]) == 2
    assert not _clause(r.journal, "latency")["passed"]  # p99 over 2 s

    def hit(requests: list[dict]) -> float:
        return sum(_failed(x) or x["latency_ms"] >= RETRANSMIT_MS for x in requests) / len(requests)

    lossy = hit([x for x in _during(r.journal, fault) if not x["probe"]])
    baseline = hit([x for x in r.journal["requests"] if x["phase"] == "baseline" and not x["probe"]])
    assert lossy >= 0.2 and baseline <= 0.1, (lossy, baseline)


def test_seed001_blackhole_hangs_the_cut_off_task(tmp_path: Path) -> None:
    r, fault = _seed001(tmp_path, "blackhole.yaml")
    assert r.code == 1, r.output  # README: refuted
    (arn,) = fault["targets"]
    victim = arn.rsplit("/", 1)[1]
    payments = [x for x in _during(r.journal, fault, settle=0) if x["endpoint"] == "POST /payments"]
    failed = [x for x in payments if _failed(x)]
    assert len(failed) >= 2 and all(x["error"] == "timeout" for x in failed), failed  # hung on SQL
    served = {x["served_by"] for x in payments if x["status"] == 201 and x["t"] > fault["start"] + 1}
    assert served and victim not in served, served  # only the other task still commits payments
    events = r.journal["events"]
    ip = next(e["ip"] for e in events if e["kind"] == "unit.state" and e["unit_id"] == victim and e["ip"])
    health = [
        (e["state"], e["reason"])
        for e in events
        if e["kind"] == "target.health" and e["target"] == ip and e["time"] > fault["start"]
    ]
    assert ("unhealthy", "Target.Timeout") in health and health[-1][0] == "healthy", health


def test_seed002_compute_stops_exactly_20_percent(tmp_path: Path) -> None:
    r = run_example("seed002-compute-20-percent", tmp_path, 172)
    assert r.code == 0, r.output
    resolved = r.journal["fis"]["resolved_targets"]
    assert len(resolved) == 1 and resolved[0]["resourceType"] == "aws:ec2:instance"  # 20 % of 5
    assert _clause(r.journal, "alarm")["passed"]
    assert r.journal["integrity"]["lost"] == []


def test_seed002_aurora_failover_loses_no_acknowledged_order(tmp_path: Path) -> None:
    r = run_example("seed002-aurora-failover", tmp_path, 173)
    assert r.code == 0, r.output
    assert any(e["kind"] == "db.failover" for e in r.journal["events"])
    integ = r.journal["integrity"]
    assert integ["acknowledged"] > 20 and integ["lost"] == [] and integ["duplicates"] == 0
    fault = r.journal["faults"][0]["start"]
    failed = [x["t"] for x in _requests(r.journal, "POST /orders") if x["error"] or (x["status"] or 0) >= 500]
    assert all(t - fault < 15 for t in failed)  # errors only inside the failover window


def test_az_power_interruption_serves_from_the_other_az(tmp_path: Path) -> None:
    r = run_example("az-power-interruption", tmp_path, 174)
    assert r.code == 0, r.output  # README: held in the fast variant
    actions = {f["action_id"] for f in r.journal["faults"]}
    assert {"aws:ec2:stop-instances", "aws:network:disrupt-connectivity"} <= actions
    stopped = next(f for f in r.journal["faults"] if f["action_id"] == "aws:ec2:stop-instances")
    assert len(stopped["targets"]) == 2
    for clause in ("healthy_hosts", "no_lost_writes", "data_intact", "recovery_time"):
        assert _clause(r.journal, clause)["passed"], clause
    az = {e["unit_id"]: e["az"] for e in r.journal["events"] if e["kind"] == "unit.state"}
    dark = next(f for f in r.journal["faults"] if f["action_id"] == "aws:network:disrupt-connectivity")
    # Once the subnet is dark (after its first second: in-flight answers and the group's first
    # replacement may still come from us-east-1a), every answer comes from the other AZ.
    served = [
        az.get(x["served_by"])
        for x in r.journal["requests"]
        if x["status"] == 200 and dark["start"] + 1 < x["t"] < (dark["end"] or float("inf"))
    ]
    assert served and served.count("us-east-1b") >= 0.95 * len(served), served
    # Failures only while the ALB has not yet noticed the stopped pair (its detection bound: 3 s with
    # --fast) and the writer fails over; 1.5 s more for health checks running late on a busy box.
    until = dark["start"] + r.journal["windows"]["detection_bound_s"] + 1.5
    late = [x for x in r.journal["requests"] if _failed(x) and x["t"] > until]
    assert late == [], late


@pytest.mark.slow  # about 80 s: a 30-minute template at time scale 60, plus the lab's start
def test_az_application_slowdown_is_a_gray_failure_at_time_scale_60(tmp_path: Path) -> None:
    r = run_example("az-application-slowdown", tmp_path, 175, time_scale=60, timeout=300)
    fault = r.journal["faults"][0]
    assert r.journal["lab"]["time_scale"] == 60
    assert fault["end"] - fault["start"] == pytest.approx(1800, abs=120)  # the template's PT30M
    az = {e["unit_id"]: e["az"] for e in r.journal["events"] if e["kind"] == "unit.state"}
    during = [x for x in _during(r.journal, fault, settle=60) if x["status"] == 200 and not x["probe"]]
    slow = [x["latency_ms"] for x in during if az.get(x["served_by"]) == "us-east-1a"]
    fast = [x["latency_ms"] for x in during if az.get(x["served_by"]) == "us-east-1b"]
    assert slow and fast
    assert sorted(slow)[len(slow) // 2] >= sorted(fast)[len(fast) // 2] + 150  # 200 ms on us-east-1a only
    assert _clause(r.journal, "error_rate")["passed"], r.output


@pytest.mark.slow  # about 90 s: a 30-minute template at time scale 60, plus the lab's start
def test_cross_az_traffic_slowdown_costs_the_tail_at_time_scale_60(tmp_path: Path) -> None:
    r = run_example("cross-az-traffic-slowdown", tmp_path, 176, time_scale=60, timeout=300)
    assert r.code == 1, r.output  # README: refuted
    fault = r.journal["faults"][0]
    assert fault["end"] - fault["start"] == pytest.approx(1800, abs=120)
    assert not _clause(r.journal, "latency")["passed"]  # p99 over 2 s
    for clause in ("no_lost_writes", "data_intact"):
        assert _clause(r.journal, clause)["passed"], clause


@pytest.mark.slow  # ~20 s; the boto3 tests of user data and launch templates run in the suite
def test_own_service_is_replaced_from_its_launch_template(tmp_path: Path) -> None:
    r = run_example("own-service", tmp_path, 186)
    assert r.code == 1, r.output  # README: refuted in the fast variant too (errors in the detection window)
    (fault,) = r.journal["faults"]
    stopped = fault["targets"][0].rsplit("/", 1)[-1]  # an instance id or its ARN
    w = r.journal["windows"]
    assert w["failures_in_window"] >= 1 and w["detection_window_s"] <= w["detection_bound_s"], w
    assert _clause(r.journal, "recovery_time")["passed"]
    launched = [e for e in r.journal["events"] if e["kind"] == "unit.state" and e.get("state") == "running"]
    assert len({e["unit_id"] for e in launched}) == 3, launched  # two at start, one replacement
    # Answers after the fault come from the replacement (its user data started the service) too.
    served = {x["served_by"] for x in r.journal["requests"] if x["status"] == 200 and x["t"] > fault["start"]}
    assert len(served - {stopped}) == 2, served  # the other instance and the replacement


@pytest.mark.slow  # about 40 s: ten scenario minutes of CPU stress at time scale 60, plus the lab's start
def test_ecs_autoscaling_scales_out_under_cpu_stress_at_time_scale_60(tmp_path: Path) -> None:
    r = run_example("ecs-autoscaling", tmp_path, 178, time_scale=60, timeout=300)
    assert r.code == 0, r.output  # README: held
    (fault,) = r.journal["faults"]
    assert fault["action_id"] == "aws:ecs:task-cpu-stress" and len(fault["targets"]) == 2
    outs = [e for e in r.journal["events"] if e["kind"] == "scaling.activity" and e["capacity"] > e["old"]]
    assert outs and outs[0]["old"] == 2 and "AlarmHigh" in outs[0]["cause"], outs
    # The high alarm needs three one-minute datapoints over the target: no scale-out before that.
    assert outs[0]["time"] - fault["start"] >= 120, (outs[0]["time"], fault["start"])
    assert _clause(r.journal, "scale_out")["passed"] and _clause(r.journal, "error_rate")["passed"]


def test_locust_users_make_the_load_and_fill_the_journal(tmp_path: Path) -> None:
    """Locust (a master and two local workers) runs the locustfile; its requests are the journal's."""
    if importlib.util.find_spec("locust") is None:  # not importorskip: importing Locust patches sockets
        pytest.skip("Locust is not installed")
    r = run_example("locust-stop-instance", tmp_path, 188)
    assert r.code in (0, 1), r.output  # held or refuted: both are a finished run
    requests = [x for x in r.journal["requests"] if not x["probe"]]
    endpoints = {x["endpoint"] for x in requests}
    assert {"GET /products", "GET /products/[id]", "POST /orders"} <= endpoints, endpoints
    assert {"baseline", "recovery"} <= {x["phase"] for x in requests}  # injection may last a moment only
    # each record carries the phase the run was in when it was sent (polled every 10 ms)
    bounds = [(p["name"], p["start"], p["end"] if p["end"] is not None else float("inf")) for p in r.journal["phases"]]
    edges = [t for _, start, end in bounds for t in (start, end)]
    for x in requests:
        if min(abs(x["sent"] - t) for t in edges) > 0.05:
            want = next((name for name, start, end in bounds if start <= x["sent"] < end), "setup")
            assert x["phase"] == want, (x, bounds)
    assert len([x for x in requests if x["phase"] == "baseline" and x["status"] == 200]) >= 50
    assert r.journal["windows"]["failures_in_window"] >= 1  # the stopped instance was hit before the ALB knew
