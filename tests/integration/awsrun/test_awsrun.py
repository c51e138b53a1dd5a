"""`chaoslab run --aws` against an AWS-compatible control plane (moto) and a stand-in endpoint:
seed 003's experiment end to end to a report, --dry-run with --keep, Ctrl-C mid-run, and the
refusals. The three runs go side by side (one module fixture) so the folder costs one run's time;
moto moves experiments on a one-second timer meanwhile, as FIS would take seconds, not calls."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import threading
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


def start(
    account: Account, url: str, report: Path, *extra: str, stdin: int = subprocess.DEVNULL
) -> subprocess.Popen[str]:
    """`chaoslab run --aws` as a user runs it."""
    cmd = [sys.executable, "-m", "chaoslab", "run", SEED, "--fast", "--aws", "--url", url]
    cmd += ["--endpoint-url", account.endpoint, "--load-balancer", account.lb_name, "--report", str(report), *extra]
    return subprocess.Popen(
        cmd,
        env=account.env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_ctrl_c_as_at_a_terminal,
    )


def _ctrl_c_as_at_a_terminal() -> None:
    """SIGINT back to its default in the child: a shell without job control (`make test` runs this
    stream in the background) starts its background jobs with SIGINT ignored, and Python keeps an
    ignored SIGINT ignored, so the run would never see the Ctrl-C a user's terminal sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_id_of(out: str) -> str:
    return next((line.split()[-1] for line in out.splitlines() if line.startswith("run id")), "")


def interrupt_once_injecting(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGINT (Ctrl-C) the moment the run says its real experiment started (its own output, read
    as it comes: polling the account for it lost the race to a 3 s experiment on a loaded
    machine): the output read so far and the experiment's id."""
    assert proc.stdout is not None
    head = ""
    while proc.poll() is None:
        line = proc.stdout.readline()
        head += line
        words = line.split()
        if line.startswith("FIS experiment ") and len(words) > 3 and words[3] == "started":
            os.kill(proc.pid, signal.SIGINT)
            return head, words[2]
    raise AssertionError(f"the run never started its experiment:\n{head}")


class Runs:
    """The `--aws` runs of this module, started together and judged as each test asks: the full
    run, a dry run with --keep, one interrupted by Ctrl-C mid-injection, and one that answers "no"
    on a terminal. They go on in the background while the refusals are checked."""

    def __init__(self, account: Account, shops: Callable[[], str], tmp: Path) -> None:
        self.tmp = tmp
        self.account = account
        self._tty, tty = pty.openpty()
        os.write(self._tty, b"no\n")  # typed ahead; read when the question comes
        self.procs = {
            "full": start(account, shops(), tmp / "full", "--yes", "--allow-no-stop-condition"),
            "dry": start(account, shops(), tmp / "dry", "--dry-run", "--keep", "--allow-no-stop-condition"),
            "cut": start(account, shops(), tmp / "cut", "--yes", "--allow-no-stop-condition"),
            "asked": start(account, shops(), tmp / "asked", "--allow-no-stop-condition", stdin=tty),
        }
        os.close(tty)
        self.interrupted = ""
        self._head = {"cut": ""}
        self._done: dict[str, Done] = {}
        self._watch = threading.Thread(target=self._interrupt, daemon=True)
        self._watch.start()

    def _interrupt(self) -> None:
        self._head["cut"], self.interrupted = interrupt_once_injecting(self.procs["cut"])
        self.account.alb_counted(requests=120)  # CloudWatch's count while the runs are on, as AWS publishes it

    def __getitem__(self, name: str) -> Done:
        if name not in self._done:
            self._watch.join(timeout=90)
            out, _ = self.procs[name].communicate(timeout=90)
            out = self._head.get(name, "") + out
            path = self.tmp / name / "journal.json"
            journal = json.loads(path.read_text()) if path.exists() else {}
            self._done[name] = Done(self.procs[name].returncode, out, journal, run_id_of(out))
        return self._done[name]

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
        os.close(self._tty)


@pytest.fixture(scope="module")
def runs(account: Account, shops: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    account.transition({"progression": "time", "seconds": 1})  # FIS takes seconds, not calls
    runs = Runs(account, shops, tmp_path_factory.mktemp("runs"))
    try:
        yield runs
    finally:
        runs.close()
        account.transition(None)


def template_exists(account: Account, template_id: str) -> bool:
    try:
        account.client("fis").get_experiment_template(id=template_id)
        return True
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
        return False


def test_refusals_create_nothing(
    account: Account, runs: Runs, shops: Callable[[], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each refusal comes before anything is created: no template carries the refused runs' ids."""
    fis = account.client("fis")
    refused: list[str] = []

    def refusal(argv: list[str]) -> str:
        assert main(argv) == 2
        got = capsys.readouterr()
        refused.append(run_id_of(got.out))
        return got.err

    base = ["run", SEED, "--aws", "--url", shops(), "--endpoint-url", account.endpoint, "--report", str(tmp_path)]
    assert "no stop condition" in refusal([*base, "--yes"])
    assert "no terminal to ask on" in refusal([*base, "--allow-no-stop-condition"])  # stdin: not a terminal
    other = "arn:aws:iam::111122223333:role/fis"
    assert "is not in account 123456789012" in refusal(
        [*base, "--yes", "--allow-no-stop-condition", "--role-arn", other]
    )
    assert "only apply with --aws" in refusal(["run", SEED, "--yes"])
    assert "no load balancer named 'nope'" in refusal(
        [*base, "--yes", "--allow-no-stop-condition", "--load-balancer", "nope"]
    )
    exp = yaml.safe_load(resolve_experiment_path(SEED).read_text())
    missing = account.alarm_arn.replace("chaos-lab-5xx", "no-such-alarm")
    exp["template"]["stopConditions"] = [
        {"source": "aws:cloudwatch:alarm", "value": arn} for arn in (account.alarm_arn, missing)
    ]
    (tmp_path / "alarms.yaml").write_text(yaml.safe_dump(exp))
    err = refusal([*base[:1], str(tmp_path / "alarms.yaml"), *base[2:], "--yes"])
    assert "stop-condition alarm(s) not found in the account: no-such-alarm\n" in err
    tagged = {t.get("tags", {}).get("chaoslab:run-id") for t in fis.list_experiment_templates()["experimentTemplates"]}
    assert [r for r in refused if r] and not tagged & set(refused)


def test_live_import_reads_the_account(account: Account, runs: Runs, tmp_path: Path) -> None:
    """`chaoslab import aws` against the same control plane (Describe/List/Get only), while the
    runs go on: the ALB, its target group's health check and the alarm come back as a stack."""
    assert main(["import", "aws", "--endpoint-url", account.endpoint, "-o", str(tmp_path)]) == 0
    stack = yaml.safe_load((tmp_path / "stack.yaml").read_text())
    assert stack["load_balancers"] == [
        {"name": "chaos-lab-alb", "listeners": [{"port": 80, "target_group": "chaos-lab-tg"}]}
    ]
    assert stack["target_groups"][0]["health_check"]["interval"] == 10
    assert [a["AlarmName"] for a in stack["alarms"]] == ["chaos-lab-5xx"]


def test_seed003_runs_against_the_account_to_a_report(account: Account, runs: Runs) -> None:
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
    html = (runs.tmp / "full" / "report.html").read_text()
    assert 'id="cloudwatch"' in html and "AWS account <b>123456789012</b>" in html


def test_dry_run_injects_nothing_and_keep_keeps_the_template(account: Account, runs: Runs) -> None:
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


def test_ctrl_c_mid_run_stops_the_experiment_and_removes_the_template(account: Account, runs: Runs) -> None:
    run = runs["cut"]
    assert run.code == 130, run.out
    experiment = account.client("fis").get_experiment(id=runs.interrupted)["experiment"]
    assert experiment["state"]["status"] == "stopped", run.out  # only StopExperiment leads there
    assert f"FIS experiment {experiment['id']}: stopped" in run.out  # waited for, not just asked
    assert not template_exists(account, experiment["experimentTemplateId"]), run.out


def test_no_at_the_question_injects_nothing(account: Account, runs: Runs) -> None:
    run = runs["asked"]
    assert run.code == 2, run.out
    assert "Type 'yes' to go on:" in run.out and "not confirmed: nothing was injected" in run.out
    modes = [e["experimentOptions"]["actionsMode"] for e in account.ours(run.run_id)]
    assert modes == ["skip-all"]  # the preview only
    assert "deleted FIS experiment template" in run.out
