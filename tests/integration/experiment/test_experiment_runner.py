"""The runner against real labs: seed 003's demo in --fast mode end to end, the article's fix
(retries with Idempotency-Key), and a baseline that does not hold (nothing injected)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time

import botocore.session
import pytest
import yaml
from experiment_helpers import assert_nothing_left, config_for, private_stack

from chaoslab.experiment.demo import run_demo
from chaoslab.experiment.schema import bundled_experiments, load_experiment
from chaoslab.experiment.session import run_experiment, run_file
from chaoslab.labctl import running_lab, start_detached, stop_lab


def test_demo_fast_end_to_end(tmp_path):
    config, octet = config_for(tmp_path), 121
    out = io.StringIO()
    began = time.monotonic()
    code, journal = run_demo(
        config, fast=True, report_dir=tmp_path / "report", stack=str(private_stack(tmp_path, octet)), out=out
    )
    took = time.monotonic() - began
    text = out.getvalue()
    assert code == 0, text
    assert took < 90, f"demo took {took:.0f} s"
    assert_nothing_left(config, octet)
    # the article's three orders, printed
    assert "2 x Mechanical Keyboard = 259.98" in text and "1 x Wireless Keyboard" in text and "3 x Webcam HD" in text
    # the seed timeline and a refuted "no user-visible errors"
    assert " - 200" in text
    assert journal["verdict"]["outcome"] == "deviated" and journal["verdict"]["exit_code"] == 1
    rate = next(c for c in journal["clauses"] if c["id"].startswith("error_rate"))
    assert not rate["passed"]
    # judged while running: the break was noticed (and printed) during the run, after the fault
    assert rate["first_failed_at"] is not None and rate["first_failed_at"] >= journal["faults"][0]["start"]
    assert "hypothesis broken: error rate <= 0 %" in text
    failures = [r for r in journal["requests"] if r["error"] or (r["status"] or 0) >= 500]
    assert failures, "stopping a target behind the ALB produced no failure at all"
    fault_start = journal["faults"][0]["start"]
    assert all(r["t"] >= fault_start - 0.5 for r in failures), "failures before the fault"
    _assert_survivors_stayed_healthy(journal)
    w = journal["windows"]
    assert w["detection_bound_s"] == 3.0  # --fast: interval 1 s x threshold 2 + timeout 1 s
    assert w["detection_window_s"] is not None and w["detection_window_s"] <= w["detection_bound_s"]
    assert w["time_to_unhealthy_s"] is not None and w["time_to_unhealthy_s"] <= w["detection_bound_s"]
    # data: every acknowledged order intact, stock consistent
    integ = journal["integrity"]
    assert integ["checked"] and integ["acknowledged"] >= 3
    assert integ["lost"] == [] and integ["phantom"] == [] and integ["changed"] == []
    assert integ["stock_consistent"] is True
    assert [p["name"] for p in journal["phases"]] == ["baseline", "injection", "recovery"]
    assert journal["fis"]["state"]["status"] == "completed"
    assert journal["fis"]["actions"]["stop-instance"]["actionId"] == "aws:ec2:stop-instances"
    series = journal["series"]
    assert series["healthy_hosts"] and max(n for _t, n in series["healthy_hosts"]) >= 2
    assert "chaos-lab-target-5xx" in series["alarms"]
    kinds = {e["kind"] for e in journal["events"]}
    assert {"unit.state", "target.health", "fault.applied"} <= kinds
    for name in ("journal.json", "report.html"):
        assert (tmp_path / "report" / name).stat().st_size > 0
    assert json.loads((tmp_path / "report" / "journal.json").read_text())["version"] == 1


def _assert_survivors_stayed_healthy(journal):
    """Only the stopped target may fail its checks. (A bridge without a fixed MAC used to change
    it when the stopped unit's veth went away; survivors then lost the database and timed out.)"""
    start = journal["faults"][0]["start"]
    dead = set(journal["faults"][0]["targets"])
    hit = [
        e
        for e in journal["events"]
        if e["kind"] == "target.health"
        and e["time"] > start
        and e["target"] not in dead
        and e.get("reason") == "Target.Timeout"
    ]
    assert not hit, f"surviving target {hit[0]['target']} timed out after the stop"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runner-lab")
    config, octet = config_for(tmp), 122
    info = start_detached(config, str(private_stack(tmp, octet)), fast=True, quiet=True)
    yield config, info
    stop_lab(config, quiet=True)
    assert_nothing_left(config, octet)


def _fis(info):
    return botocore.session.get_session().create_client(
        "fis", region_name="us-east-1", endpoint_url=info["api"], aws_access_key_id="test", aws_secret_access_key="test"
    )


def test_baseline_not_met_injects_nothing(lab, tmp_path):
    config, info = lab
    doc = yaml.safe_load(bundled_experiments()["seed003-stop-instance"].read_text())
    doc["steady_state"] = [{"type": "healthy_hosts", "min": 5}]  # two instances can never be five
    doc["timing"] = {"baseline_s": 1, "ready_timeout_s": 1}
    path = tmp_path / "unreachable.yaml"
    path.write_text(yaml.safe_dump(doc))
    before = len(_fis(info).list_experiments()["experiments"])
    out = io.StringIO()
    code = run_file(str(path), config, report_dir=tmp_path / "r", junit=tmp_path / "junit.xml", out=out)
    assert code == 2, out.getvalue()
    assert len(_fis(info).list_experiments()["experiments"]) == before  # nothing was started
    journal = json.loads((tmp_path / "r" / "journal.json").read_text())
    assert journal["verdict"]["outcome"] == "baseline-not-met" and journal["fis"] is None
    assert [(p["name"], p["result"]) for p in journal["phases"]] == [
        ("baseline", "not-held"),
        ("injection", "skipped"),
        ("recovery", "skipped"),
    ]
    assert "<testsuite" in (tmp_path / "junit.xml").read_text()
    assert len(_fis(info).list_experiment_templates()["experimentTemplates"]) == 0


def test_a_run_from_a_worker_thread(lab, tmp_path):
    """run_file off the main thread (a CI harness, a notebook) used to fail before the baseline:
    SIGTERM's handler can only be installed from the main thread."""
    config, _info = lab
    doc = yaml.safe_load(bundled_experiments()["seed003-stop-instance"].read_text())
    doc["steady_state"] = [{"type": "healthy_hosts", "min": 5}]
    doc["timing"] = {"baseline_s": 1, "ready_timeout_s": 1}
    path = tmp_path / "threaded.yaml"
    path.write_text(yaml.safe_dump(doc))
    out, codes = io.StringIO(), []
    worker = threading.Thread(
        target=lambda: codes.append(run_file(str(path), config, report_dir=tmp_path / "r", out=out))
    )
    worker.start()
    worker.join(60)
    assert codes == [2] and "could not run:" not in out.getvalue(), out.getvalue()
    assert json.loads((tmp_path / "r" / "journal.json").read_text())["verdict"]["outcome"] == "baseline-not-met"


def test_idempotent_retries_show_no_errors_and_no_duplicates(lab, tmp_path):
    config, info = lab
    exp = load_experiment("seed003-idempotent-retries", fast=True)
    journal = run_experiment(exp, config, fast=True, report_dir=tmp_path / "r", out=io.StringIO())
    assert journal["fis"]["state"]["status"] == "completed"
    assert journal["faults"], "the fault was applied"
    integ = journal["integrity"]
    assert integ["duplicates"] == 0 and integ["lost"] == [] and integ["phantom"] == []
    if journal["verdict"]["outcome"] != "held":
        _assert_survivors_stayed_healthy(journal)
    assert journal["verdict"]["outcome"] == "held", journal["clauses"]
    visible = [r for r in journal["requests"] if r["error"] or (r["status"] or 0) >= 500]
    assert visible == []
    assert integ["stock_consistent"] is True and integ["acknowledged"] > 0


def test_stop_condition_aborts_with_exit_3(lab, tmp_path):
    """An alarm going to ALARM mid-injection makes FIS stop the experiment: exit 3."""
    config, info = lab
    session = botocore.session.get_session()
    kw = dict(region_name="us-east-1", endpoint_url=info["api"], aws_access_key_id="test", aws_secret_access_key="test")
    cloudwatch = session.create_client("cloudwatch", **kw)
    alarm_arn = cloudwatch.describe_alarms(AlarmNames=["chaos-lab-target-5xx"])["MetricAlarms"][0]["AlarmArn"]
    doc = yaml.safe_load(bundled_experiments()["seed003-stop-instance"].read_text())
    doc["template"] = {
        "description": "wait, guarded by an alarm",
        "roleArn": doc["template"]["roleArn"],
        "stopConditions": [{"source": "aws:cloudwatch:alarm", "value": alarm_arn}],
        "targets": {},
        "actions": {"wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}},
    }
    doc.pop("setup")
    doc["timing"] = {"baseline_s": 2}
    path = tmp_path / "guarded.yaml"
    path.write_text(yaml.safe_dump(doc))
    fis = _fis(info)

    def trip():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            running = [e for e in fis.list_experiments()["experiments"] if e["state"]["status"] == "running"]
            if running:
                cloudwatch.set_alarm_state(
                    AlarmName="chaos-lab-target-5xx", StateValue="ALARM", StateReason="test: trip the stop condition"
                )
                return
            time.sleep(0.2)

    tripper = threading.Thread(target=trip)
    tripper.start()
    out = io.StringIO()
    code = run_file(str(path), config, report_dir=tmp_path / "r", out=out)
    tripper.join()
    assert code == 3, out.getvalue()
    journal = json.loads((tmp_path / "r" / "journal.json").read_text())
    assert journal["verdict"]["outcome"] == "aborted"
    assert journal["fis"]["state"]["status"] == "stopped"
    assert [p["name"] for p in journal["phases"]] == ["baseline", "injection", "recovery"]


def test_cli_run_uses_the_running_lab(lab, tmp_path):
    """`chaoslab run NAME --fast --report DIR --junit FILE` as a user types it, against the lab in
    CHAOSLAB_HOME (which it must leave running)."""
    config, info = lab
    env = {**os.environ, "CHAOSLAB_HOME": str(config.home)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "chaoslab",
            "run",
            "seed003-idempotent-retries",
            "--fast",
            "--report",
            str(tmp_path / "r"),
            "--junit",
            str(tmp_path / "j.xml"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    journal = json.loads((tmp_path / "r" / "journal.json").read_text())
    assert proc.returncode == journal["verdict"]["exit_code"] and proc.returncode in (0, 1), proc.stdout + proc.stderr
    assert journal["verdict"]["summary"] in proc.stdout
    assert (tmp_path / "r" / "report.html").exists()
    assert "<testsuite" in (tmp_path / "j.xml").read_text()
    assert running_lab(config) is not None


@pytest.mark.slow
def test_demo_with_the_seed_settings_fits_in_two_minutes(tmp_path):
    """The product contract: interval 10 s, threshold 3 — the whole demo in <= 2 minutes."""
    config, octet = config_for(tmp_path), 123
    began = time.monotonic()
    code, journal = run_demo(
        config, fast=False, report_dir=tmp_path / "report", stack=str(private_stack(tmp_path, octet)), out=io.StringIO()
    )
    took = time.monotonic() - began
    assert code == 0 and took <= 120, f"{took:.0f} s"
    assert_nothing_left(config, octet)
    assert journal["windows"]["detection_bound_s"] == 35.0
    _assert_survivors_stayed_healthy(journal)
    assert journal["windows"]["detection_window_s"] <= 35.0


def test_terminated_run_stops_the_lab_it_started(tmp_path):
    """SIGTERM mid-baseline: the run stops like Ctrl-C, and the lab it started goes with it."""
    config, octet = config_for(tmp_path), 124
    stack = private_stack(tmp_path, octet)
    script = (
        "import sys; from pathlib import Path; from chaoslab.config import LabConfig; "
        "from chaoslab.experiment.session import run_file; "
        f"sys.exit(run_file('seed003-stop-instance', LabConfig(home=Path({str(config.home)!r}), "
        f"api_port={config.api_port}), fast=True, stack={str(stack)!r}, report_dir={str(tmp_path / 'r')!r}))"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    seen = ""
    while "== baseline" not in seen and time.monotonic() < deadline:
        seen += proc.stdout.readline()
    proc.send_signal(15)
    out, _ = proc.communicate(timeout=60)
    assert "== baseline" in seen
    assert proc.returncode != 0
    assert "== injection" not in out
    assert_nothing_left(config, octet)


def test_two_workload_processes_keep_one_schedule_and_one_ledger(lab, tmp_path):
    """`workload.processes: 2`: both processes' records land in the one journal, interleaved into
    the schedule a single generator keeps, and their orders in the one integrity ledger."""
    config, _info = lab
    exp = load_experiment("seed003-idempotent-retries", fast=True)
    exp["template"]["targets"] = {}
    exp["template"]["actions"] = {"wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}}
    exp["workload"]["processes"] = 2
    exp["workload"]["requests"][0]["rate"] = 20
    exp["workload"]["requests"][1]["rate"] = 4
    exp["timing"].update(baseline_s=2, max_injection_s=1, recovery_timeout_s=10)  # the runner stops the wait
    journal = run_experiment(exp, config, fast=True, report_dir=tmp_path / "r", out=io.StringIO())
    assert journal["verdict"]["outcome"] == "held", journal["clauses"]
    gets = [r["t"] for r in journal["requests"] if r["endpoint"] == "GET /products"]
    assert gets == sorted(gets) and len(gets) >= 20 * 3
    gaps = [b - a for a, b in zip(gets, gets[1:], strict=False)]
    assert max(abs(g - 1 / 20) for g in gaps) < 1e-5, "two processes' slots interleave into one schedule"
    assert {r["phase"] for r in journal["requests"]} >= {"baseline", "injection"}
    integ = journal["integrity"]
    assert integ["acknowledged"] >= 4 * 3 and integ["duplicates"] == 0 and integ["lost"] == []
