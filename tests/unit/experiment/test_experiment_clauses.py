"""Each clause kind, the steady-state checks and the measured windows over hand-made evidence."""

import random

from chaoslab.experiment import hypothesis as h
from chaoslab.experiment.windows import measure
from chaoslab.experiment.workload import render_body


def rec(t, status=200, error=None, latency=10.0, phase="injection", endpoint="GET /products", served=None):
    return {
        "t": t,
        "sent": t,
        "done": t + latency / 1000,
        "endpoint": endpoint,
        "status": status,
        "error": error,
        "latency_ms": latency,
        "served_by": served,
        "phase": phase,
        "probe": False,
    }


PHASES = {"baseline": (0.0, 10.0), "injection": (10.0, 20.0), "recovery": (20.0, 30.0)}


def ev(records, **kw):
    return h.Evidence(records=records, phases=PHASES, **kw)


def test_error_rate_overall_and_per_endpoint():
    records = [rec(11), rec(12, 502), rec(13), rec(14, endpoint="POST /orders"), rec(1, 500, phase="baseline")]
    overall = h.evaluate({"type": "error_rate", "max_percent": 10}, 0, ev(records))
    assert not overall["passed"] and overall["measured"].startswith("25.00 %")
    orders = h.evaluate({"type": "error_rate", "max_percent": 0, "endpoint": "POST /orders"}, 1, ev(records))
    assert orders["passed"]
    base = h.evaluate({"type": "error_rate", "max_percent": 0, "phase": "baseline"}, 2, ev(records))
    assert not base["passed"]


def test_timeouts_and_resets_count_as_errors_but_4xx_does_not():
    records = [rec(11, None, "timeout"), rec(12, None, "reset"), rec(13, 409), rec(14)]
    c = h.evaluate({"type": "error_rate", "max_percent": 50}, 0, ev(records))
    assert c["passed"] and "2/4" in c["measured"]


def test_latency_percentile():
    records = [rec(10 + i, latency=float(i)) for i in range(1, 101)]
    assert h.evaluate({"type": "latency", "percentile": 99, "max_ms": 99}, 0, ev(records))["passed"]
    assert not h.evaluate({"type": "latency", "percentile": 100, "max_ms": 99}, 0, ev(records))["passed"]


def test_consecutive_failures():
    records = [rec(11), rec(12, 502), rec(13, None, "timeout"), rec(14, 503), rec(15), rec(16, 502)]
    c = h.evaluate({"type": "consecutive_failures", "max": 2}, 0, ev(records))
    assert not c["passed"] and c["measured"] == "3"


def test_recovery_time():
    assert h.evaluate({"type": "recovery_time", "max_s": 30}, 0, ev([], recovery_time_s=12.0))["passed"]
    late = h.evaluate({"type": "recovery_time", "max_s": 10}, 0, ev([], recovery_time_s=12.0))
    never = h.evaluate({"type": "recovery_time", "max_s": 10}, 0, ev([], recovery_time_s=None))
    assert not late["passed"] and not never["passed"] and never["measured"] == "not recovered"


def test_alarm_is_and_never_was():
    alarms = {"5xx": [(5.0, "OK"), (12.0, "ALARM"), (25.0, "OK")]}
    assert h.evaluate({"type": "alarm", "name": "5xx", "state": "OK"}, 0, ev([], alarms=alarms))["passed"]
    never = h.evaluate(
        {"type": "alarm", "name": "5xx", "state": "ALARM", "mode": "never_was"}, 0, ev([], alarms=alarms)
    )
    assert not never["passed"]
    missing = h.evaluate({"type": "alarm", "name": "other", "state": "OK"}, 0, ev([], alarms=alarms))
    assert not missing["passed"] and missing["measured"] == "no samples"


def test_no_lost_writes_and_healthy_hosts():
    ok = {"checked": True, "lost": [], "changed": [], "acknowledged": 5}
    bad = {"checked": True, "lost": [3], "changed": [], "acknowledged": 5}
    assert h.evaluate({"type": "no_lost_writes"}, 0, ev([], integrity=ok))["passed"]
    assert not h.evaluate({"type": "no_lost_writes"}, 0, ev([], integrity=bad))["passed"]
    assert not h.evaluate({"type": "no_lost_writes"}, 0, ev([], integrity={"checked": False}))["passed"]
    hosts = [(5.0, 2), (15.0, 1), (25.0, 2)]
    assert not h.evaluate({"type": "healthy_hosts", "min": 2}, 0, ev([], healthy_hosts=hosts))["passed"]
    assert h.evaluate({"type": "healthy_hosts", "min": 2, "phase": "baseline"}, 0, ev([], healthy_hosts=hosts))[
        "passed"
    ]


def test_no_requests_never_passes():
    assert not h.evaluate({"type": "error_rate", "max_percent": 100}, 0, ev([]))["passed"]


def test_steady_state_uses_the_recent_window():
    records = [rec(1, 502), rec(8), rec(9)]
    checks = [{"type": "error_rate", "max_percent": 1, "window_s": 5}, {"type": "healthy_hosts", "min": 2}]
    now_ok = h.steady_state(checks, records, now=10.0, healthy_hosts=2, alarms={})
    assert all(c["passed"] for c in now_ok)
    early = h.steady_state(checks, records, now=5.0, healthy_hosts=1, alarms={})
    assert not any(c["passed"] for c in early)


def test_windows_measured_against_the_bound():
    records = [
        rec(10.5),
        rec(11.0, 502),
        rec(12.0, 200, served="i-live"),
        rec(13.5, None, "timeout"),
        rec(14.0, 500, served="i-live"),
        rec(16.0),
    ]
    faults = [
        {"action": "stop", "action_id": "aws:ec2:stop-instances", "start": 10.8, "end": None, "targets": ["i-dead"]}
    ]
    events = [
        {"time": 1.0, "kind": "target.health", "target": "i-live", "state": "healthy"},
        {"time": 1.0, "kind": "target.health", "target": "i-dead", "state": "healthy"},
        {"time": 14.8, "kind": "target.health", "target": "i-dead", "state": "unhealthy"},
        {"time": 19.8, "kind": "target.health", "target": "i-new", "state": "healthy"},
    ]
    w = measure(records, faults, events, {"interval": 10, "timeout": 5, "healthy": 2, "unhealthy": 3}, 20.0)
    assert w["detection_window_s"] == 2.5  # 11.0 .. 13.5; the live target's 500 is not the dead one's
    assert w["detection_bound_s"] == 35.0
    assert w["time_to_unhealthy_s"] == 4.0
    assert w["time_to_replacement_healthy_s"] == 9.0
    assert w["recovery_time_s"] == 20.0


def test_body_template_picks_random_products():
    rng = random.Random(1)
    bodies = [render_body({"product_id": "{{randint 1 10}}", "quantity": 1, "note": "x"}, rng) for _ in range(50)]
    ids = {b["product_id"] for b in bodies}
    assert ids <= set(range(1, 11)) and len(ids) > 3
    assert all(b["quantity"] == 1 and b["note"] == "x" for b in bodies)


def test_data_intact_needs_every_count_zero_and_consistent_stock():
    clean = {
        "checked": True,
        "lost": [],
        "changed": [],
        "phantom": [],
        "duplicates": 0,
        "stock_consistent": True,
        "acknowledged": 3,
    }
    assert h.evaluate({"type": "data_intact"}, 0, ev([], integrity=clean))["passed"]
    dup = {**clean, "duplicates": 1}
    phantom = {**clean, "phantom": [9]}
    drift = {**clean, "stock_consistent": False}
    for bad in (dup, phantom, drift):
        assert not h.evaluate({"type": "data_intact"}, 0, ev([], integrity=bad))["passed"]


def test_steady_state_alarm_without_samples_does_not_hold():
    """A misspelt alarm name used to pass a never_was steady-state check: no state is never ALARM."""
    check = {"type": "alarm", "name": "5xx-typo", "state": "ALARM", "mode": "never_was"}
    missing = h.steady_state([check], [], now=10.0, healthy_hosts=2, alarms={"5xx": "OK"})
    assert not missing[0]["passed"] and missing[0]["measured"] == "no samples"
    fine = h.steady_state([{**check, "name": "5xx"}], [], now=10.0, healthy_hosts=2, alarms={"5xx": "OK"})
    assert fine[0]["passed"]
