"""The journal's `recoveries` (docs/timing.md): each recovery a run saw, in scenario seconds,
beside the range the timing profile in effect gives for it; and the summary prints them."""

from __future__ import annotations

from typing import Any

from chaoslab.experiment.recoveries import client_write_outage, measure
from chaoslab.report.summary import render_summary
from chaoslab.timing import Timing

TIMING = Timing("aws", {"rds_endpoint_dns_ttl_s": 5}).describe()


def unit(time: float, unit_id: str, kind: str, state: str) -> dict[str, Any]:
    return {"kind": "unit.state", "time": time, "unit_id": unit_id, "unit_kind": kind, "state": state}


def write(t: float, ok: bool) -> dict[str, Any]:
    return {"t": t, "endpoint": "POST /orders", "status": 201 if ok else 503, "error": None}


def test_each_recovery_beside_aws_range_in_scenario_seconds() -> None:
    events = [
        unit(90, "i-old", "instance", "pending"),  # before the fault: bring-up, not a recovery
        unit(91, "i-old", "instance", "running"),
        {"kind": "db.failover", "time": 130, "write_unavailable_s": 1.2},
        {"kind": "db.reboot", "time": 150, "unavailable_s": 1.0},
        unit(110, "i-new", "instance", "pending"),
        unit(152, "i-new", "instance", "running"),
        unit(120, "t1", "task", "PROVISIONING"),
        unit(140, "t1", "task", "PENDING"),
        unit(175, "t1", "task", "RUNNING"),
    ]
    records = [write(99, True), write(101, False), write(120, False), write(128, True)]
    rows = {r["what"]: r for r in measure(events, records, TIMING, scale=20, since=100)}
    assert rows["DB writer endpoint refused writes (failover)"] == {
        "what": "DB writer endpoint refused writes (failover)",
        "delay": "rds_failover_write_unavailable_s",
        "measured_s": 24.0,
        "aws_low_s": 15,
        "aws_high_s": 60,
    }
    assert rows["DB instance unavailable (reboot)"]["measured_s"] == 20.0
    clients = rows["writes failing for clients (failover + DNS TTL)"]
    assert (clients["measured_s"], clients["aws_low_s"], clients["aws_high_s"]) == (27, 15, 65)
    assert rows["instance pending → running"]["measured_s"] == 42
    task = rows["ECS task PROVISIONING → RUNNING"]
    assert (task["measured_s"], task["aws_low_s"], task["aws_high_s"]) == (55, 25, 100)
    assert len(rows) == 5


def test_an_override_is_the_range_and_fast_is_zero() -> None:
    events = [{"kind": "db.failover", "time": 5, "write_unavailable_s": 0.3}]
    [row] = measure(events, [], Timing("fast", {"rds_failover_write_unavailable_s": 25}).describe(), 1, 0)
    assert (row["aws_low_s"], row["aws_high_s"]) == (25, 25)
    [row] = measure(events, [], Timing("fast").describe(), 1, 0)
    assert (row["measured_s"], row["aws_low_s"], row["aws_high_s"]) == (0.3, 0, 0)


def test_client_write_outage_needs_a_write_after_the_last_failure() -> None:
    assert client_write_outage([write(1, True), write(2, True)], 0) is None
    assert client_write_outage([write(1, False), write(2, False)], 0) is None
    gets = [{"t": 1, "endpoint": "GET /products", "status": 503, "error": None}]
    assert client_write_outage([*gets, write(2, True)], 0) is None


def test_the_summary_names_the_profile_and_each_recovery() -> None:
    journal = {
        "lab": {"timing": Timing("aws", {"ec2_boot_s": 60}).describe()},
        "recoveries": [{"what": "instance pending → running", "measured_s": 61.5, "aws_low_s": 60, "aws_high_s": 60}],
    }
    text = render_summary(journal)
    assert "Timing  profile aws (ec2_boot_s=60)" in text
    assert "instance pending → running  61.5 s" in text and "60–60 s" in text
    assert "Timing" not in render_summary({"lab": {}})  # journals from before profiles
    assert "no recovery measured" in render_summary({"lab": {"timing": Timing("fast").describe()}})


def test_the_html_report_shows_the_profile_and_the_recoveries() -> None:
    from chaoslab.report.html import render_html

    base = {"started": 0, "ended": 1, "experiment": {"title": "t"}, "verdict": {"exit_code": 0, "outcome": "held"}}
    row = {"what": "DB writer endpoint refused writes (failover)", "delay": "rds_failover_write_unavailable_s"}
    journal = {
        **base,
        "lab": {"timing": Timing("aws").describe()},
        "recoveries": [{**row, "measured_s": 24.0, "aws_low_s": 15, "aws_high_s": 60}],
    }
    html = render_html(journal)
    assert "Recoveries beside AWS" in html and "Timing profile <b>aws</b>" in html
    assert "24.0 s" in html and "15–60 s" in html
    assert "Recoveries beside AWS" not in render_html({**base, "lab": {}})
