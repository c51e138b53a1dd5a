"""`chaoslab run --aws` against an AWS-compatible control plane (moto) and a stand-in endpoint:
seed 003's experiment end to end to a report, --dry-run with --keep, Ctrl-C mid-run, and the
refusals. The three runs go side by side (one module fixture) so the folder costs one run's time;
moto moves experiments on a one-second timer meanwhile, as FIS would take seconds, not calls."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError
from moto_account import Account

from chaoslab.cli import main
from chaoslab.experiment.schema import resolve_experiment_path

SEED = "seed003-stop-instance"


@dataclass
class Done:
    code: int
    out: str
    journal: dict[str, Any]
    run_id: str


def start(account: Account, url: str, report: Path, *extra: str) -> subprocess.Popen[str]:
    """`chaoslab run --aws` as a user runs it."""
    cmd = [sys.executable, "-m", "chaoslab", "run", SEED, "--fast", "--aws", "--url", url]
    cmd += ["--endpoint-url", account.endpoint, "--load-balancer", account.lb_name, "--report", str(report), *extra]
    return subprocess.Popen(
        cmd, env=account.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def head(proc: subprocess.Popen[str]) -> tuple[subprocess.Popen[str], str, str]:
    """The run's first lines, up to its run id, and the id."""
    assert proc.stdout is not None
    text = ""
    while "run id" not in text and proc.poll() is None:
        text += proc.stdout.readline()
    run_id = next((line.split()[-1] for line in text.splitlines() if line.startswith("run id")), "")
    return proc, text, run_id


def finish(started: tuple[subprocess.Popen[str], str, str], report: Path, timeout: float = 90) -> Done:
    proc, head, run_id = started
    out, _ = proc.communicate(timeout=timeout)
    journal = json.loads((report / "journal.json").read_text()) if (report / "journal.json").exists() else {}
    return Done(proc.returncode, head + out, journal, run_id)


def interrupt_once_injecting(account: Account, proc: subprocess.Popen[str], run_id: str) -> str:
    """SIGINT (Ctrl-C) as soon as the run's real experiment is under way; its id."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        live = [e for e in account.ours(run_id) if e["experimentOptions"]["actionsMode"] == "run-all"]
        if live:
            os.kill(proc.pid, signal.SIGINT)
            return str(live[0]["id"])
        time.sleep(0.1)
    raise AssertionError("the run never started its experiment")


@pytest.fixture(scope="module")
def runs(
    account: Account, shops: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Done]]:
    tmp = tmp_path_factory.mktemp("runs")
    account.transition({"progression": "time", "seconds": 1})
    try:
        procs = [
            start(account, shops(), tmp / "full", "--yes", "--allow-no-stop-condition"),
            start(account, shops(), tmp / "dry", "--dry-run", "--keep", "--allow-no-stop-condition"),
            start(account, shops(), tmp / "cut", "--yes", "--allow-no-stop-condition"),
        ]
        full, dry, cut = (head(p) for p in procs)
        interrupted = interrupt_once_injecting(account, cut[0], cut[2])
        account.alb_counted(requests=120)  # CloudWatch's count while the runs are on, as AWS would publish it
        done = {"full": finish(full, tmp / "full"), "dry": finish(dry, tmp / "dry"), "cut": finish(cut, tmp / "cut")}
        done["cut"].journal = {"interrupted": interrupted}
        yield done
    finally:
        account.transition(None)


def template_exists(account: Account, template_id: str) -> bool:
    try:
        account.client("fis").get_experiment_template(id=template_id)
        return True
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
        return False


def test_seed003_runs_against_the_account_to_a_report(account: Account, runs: dict[str, Done]) -> None:
    run = runs["full"]
    assert run.code == 0, run.out
    aws = run.journal["aws"]
    assert aws["account"] == "123456789012" and aws["region"] == "us-east-1" and aws["run_id"] == run.run_id
    assert "caller      arn:aws:" in run.out and "chaos-lab-instances: aws:ec2:instance COUNT(1)" in run.out
    mine = account.ours(run.run_id)
    started = [e for e in mine if e["experimentOptions"]["actionsMode"] == "run-all"]
    assert len(started) == 1 and len(mine) == 2  # the preview (skip-all) and the experiment
    assert run.journal["fis"]["experiment_id"] == started[0]["id"] and started[0]["state"]["status"] == "completed"
    assert [w["action"] for w in run.journal["faults"]] == ["stop-instance"]  # from FIS's action times
    assert {r["phase"] for r in run.journal["requests"]} >= {"baseline", "injection", "recovery"}
    assert run.journal["integrity"]["checked"] is True and run.journal["verdict"]["outcome"] == "held"
    assert max(n for _, n in run.journal["series"]["healthy_hosts"]) == 2  # DescribeTargetHealth, sampled
    counted = {m["metric"]: [v for _, v in m["points"]] for m in aws["cloudwatch"]}  # GetMetricData
    assert counted["RequestCount"] == [120.0] and counted["HTTPCode_ELB_5XX_Count"] == []
    assert re.search(r"RequestCount +120  \(sum, 1 x 60 s\)", run.out)
    assert not template_exists(account, aws["template_id"])  # created, then deleted
    assert f"deleted FIS experiment template {aws['template_id']}" in run.out


def test_dry_run_injects_nothing_and_keep_keeps_the_template(account: Account, runs: dict[str, Done]) -> None:
    run = runs["dry"]
    assert run.code == 0, run.out
    aws = run.journal["aws"]
    assert aws["dry_run"] and aws["template_kept"]
    modes = [e["experimentOptions"]["actionsMode"] for e in account.ours(run.run_id)]
    assert modes == ["skip-all", "skip-all"]  # the preview and the run itself: no action ran
    assert run.journal["faults"] == []
    template = account.client("fis").get_experiment_template(id=aws["template_id"])["experimentTemplate"]
    assert template["tags"]["chaoslab:run-id"] == run.run_id
    account.client("fis").delete_experiment_template(id=aws["template_id"])


def test_ctrl_c_mid_run_stops_the_experiment_and_removes_the_template(account: Account, runs: dict[str, Done]) -> None:
    run = runs["cut"]
    assert run.code == 130, run.out
    experiment = account.client("fis").get_experiment(id=run.journal["interrupted"])["experiment"]
    assert experiment["state"]["status"] == "stopped", run.out  # only StopExperiment leads there
    assert f"FIS experiment {experiment['id']}: stopped" in run.out  # waited for, not just asked
    assert not template_exists(account, experiment["experimentTemplateId"]), run.out


def test_refusals_create_nothing(
    account: Account, shops: Callable[[], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fis = account.client("fis")
    before = len(fis.list_experiment_templates()["experimentTemplates"])
    base = ["run", SEED, "--aws", "--url", shops(), "--endpoint-url", account.endpoint, "--report", str(tmp_path)]
    assert main([*base, "--yes"]) == 2
    assert "no stop condition" in capsys.readouterr().err
    assert main([*base, "--allow-no-stop-condition"]) == 2  # stdin is not a terminal here
    assert "no terminal to ask on" in capsys.readouterr().err
    other = "arn:aws:iam::111122223333:role/fis"
    assert main([*base, "--yes", "--allow-no-stop-condition", "--role-arn", other]) == 2
    assert "is not in account 123456789012" in capsys.readouterr().err
    assert main(["run", SEED, "--yes"]) == 2
    assert "only apply with --aws" in capsys.readouterr().err
    exp = yaml.safe_load(resolve_experiment_path(SEED).read_text())
    missing = account.alarm_arn.replace("chaos-lab-5xx", "no-such-alarm")
    exp["template"]["stopConditions"] = [
        {"source": "aws:cloudwatch:alarm", "value": arn} for arn in (account.alarm_arn, missing)
    ]
    (tmp_path / "alarms.yaml").write_text(yaml.safe_dump(exp))
    assert main([*base[:1], str(tmp_path / "alarms.yaml"), *base[2:], "--yes"]) == 2
    assert "stop-condition alarm(s) not found in the account: no-such-alarm\n" in capsys.readouterr().err
    assert len(fis.list_experiment_templates()["experimentTemplates"]) == before
