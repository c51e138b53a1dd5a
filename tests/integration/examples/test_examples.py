"""Every scenario in examples/ through the real CLI in its fast variant (docs/examples.md, "CI"): its own lab
(own CHAOSLAB_HOME, API port, VPC range, listener port 0), `chaoslab run --fast --report`, and the
outcome and key journal figures asserted. Needs root (network namespaces)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from example_run import EXAMPLES, run_example

from chaoslab.validate import validate_paths

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="examples run units in network namespaces (root)")


def _clause(journal: dict, prefix: str) -> dict:
    return next(c for c in journal["clauses"] if c["id"].startswith(prefix))


def _requests(journal: dict, endpoint: str, phase: str | None = None) -> list[dict]:
    return [r for r in journal["requests"] if r["endpoint"] == endpoint and not r["probe"]
            and (phase is None or r["phase"] == phase)]


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
    assert 0 < w["detection_window_s"] <= w["detection_bound_s"]
    assert r.journal["integrity"]["lost"] == [] and r.journal["integrity"]["duplicates"] == 0


@pytest.mark.parametrize("experiment", ["experiment.yaml", "packet-loss.yaml", "blackhole.yaml"])
def test_seed001_network_faults_apply_and_revert(tmp_path: Path, experiment: str) -> None:
    r = run_example("seed001-ecs-network-faults", tmp_path, 181, experiment)
    assert r.code in (0, 1), r.output  # judged, not aborted: the verdict is the README's finding
    faults = r.journal["faults"]
    assert len(faults) == 1 and faults[0]["end"] is not None
    assert len(faults[0]["targets"]) == (1 if experiment == "blackhole.yaml" else 2)
    tail = [x for x in r.journal["requests"] if x["t"] > r.journal["phases"][-1]["end"] - 3]
    assert tail and all(x["status"] and x["status"] < 500 for x in tail)  # reverted: the last seconds are answered


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
    # The error share depends on whether the group's replacements land in the dark AZ before the
    # disruption reaches them (README), so the verdict may go either way; these may not.
    assert r.code in (0, 1), r.output
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
    served = [az.get(x["served_by"]) for x in r.journal["requests"]
              if x["status"] == 200 and dark["start"] + 1 < x["t"] < (dark["end"] or float("inf"))]
    assert served and served.count("us-east-1b") >= 0.95 * len(served), served
