"""Chaos Toolkit (chaostoolkit + chaostoolkit-aws from PyPI, unmodified) against a real lab, pointed
at it only by AWS_ENDPOINT_URL: an experiment whose method starts a FIS experiment through
chaosaws's FIS action and whose hypothesis is checked with chaosaws's EC2 probes, then a second
one that checks the FIS experiment's outcome with chaosaws's FIS probe."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from api_lab import LabHandle, stack_doc, start_lab, stop_and_check, wait_for

pytest.importorskip("chaosaws", reason="chaostoolkit-aws is not installed (pip install chaostoolkit chaostoolkit-aws)")
pytest.importorskip("jsonpath2", reason="JSON-path tolerances need chaostoolkit-lib[jsonpath]")
pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(180)]

CHAOS = shutil.which("chaos", path=str(Path(sys.executable).parent))
ROLE_ARN = "arn:aws:iam::123456789012:role/ctk-fis"
RUNNING = [{"Name": "tag:Chaos", "Values": ["yes"]}, {"Name": "instance-state-name", "Values": ["running"]}]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    doc = stack_doc(
        "ctktest",
        {
            "settings": {"asg_health_sweep_seconds": 600},
            "auto_scaling_groups": [
                {"name": "shop", "image": "chaoslab/static", "port": 80, "min": 2, "max": 2, "tags": {"Chaos": "yes"}}
            ],
            "roles": [
                {
                    "name": "ctk-fis",
                    "trust": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "fis.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                    "managed_policies": ["arn:aws:iam::aws:policy/service-role/AWSFaultInjectionSimulatorEC2Access"],
                }
            ],
        },
    )
    handle = start_lab(tmp_path_factory.mktemp("ctk"), doc)
    yield handle
    stop_and_check(handle)


def _probe(name: str, module: str, func: str, arguments: dict, tolerance: object) -> dict:
    return {
        "type": "probe",
        "name": name,
        "tolerance": tolerance,
        "provider": {"type": "python", "module": module, "func": func, "arguments": arguments},
    }


def _run(lab: LabHandle, experiment: dict, workdir: Path, name: str) -> dict:
    path = workdir / f"{name}.json"
    path.write_text(json.dumps(experiment, indent=2))
    journal = workdir / f"{name}-journal.json"
    proc = subprocess.run(
        [
            CHAOS,
            "--no-version-check",
            "--log-file",
            str(workdir / f"{name}.log"),
            "run",
            "--journal-path",
            str(journal),
            str(path),
        ],
        env=lab.env(),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert journal.exists(), proc.stdout + proc.stderr
    return json.loads(journal.read_text())


def test_chaosaws_starts_a_fis_experiment_and_checks_it(lab: LabHandle, tmp_path: Path) -> None:
    wait_for(
        lambda: len(lab.client("ec2").describe_instances(Filters=RUNNING)["Reservations"]) == 2,
        30,
        "two running instances",
    )
    template = lab.client("fis").create_experiment_template(
        clientToken="ctk-template",
        description="stop one shop instance",
        roleArn=ROLE_ARN,
        stopConditions=[{"source": "none"}],
        targets={
            "shop": {"resourceType": "aws:ec2:instance", "resourceTags": {"Chaos": "yes"}, "selectionMode": "COUNT(1)"}
        },
        actions={"stop-one": {"actionId": "aws:ec2:stop-instances", "targets": {"Instances": "shop"}}},
    )["experimentTemplate"]

    start = {
        "version": "1.0.0",
        "title": "The shop survives losing one instance",
        "description": "FIS stops one instance of the shop's group; at least one keeps running.",
        "configuration": {"aws_region": "us-east-1"},
        "steady-state-hypothesis": {
            "title": "the shop has running instances",
            "probes": [
                _probe(
                    "running-instances",
                    "chaosaws.ec2.probes",
                    "count_instances",
                    {"filters": RUNNING},
                    {"type": "range", "range": [1, 2]},
                )
            ],
        },
        "method": [
            {
                "type": "action",
                "name": "start-fis-experiment",
                "provider": {
                    "type": "python",
                    "module": "chaosaws.fis.actions",
                    "func": "start_experiment",
                    "arguments": {"experiment_template_id": template["id"], "tags": "suite=ctk"},
                },
                "pauses": {"after": 2},
            },
            _probe(
                "instances-after",
                "chaosaws.ec2.probes",
                "count_instances",
                {"filters": RUNNING},
                {"type": "range", "range": [1, 2]},
            ),
        ],
    }
    journal = _run(lab, start, tmp_path, "start")
    assert journal["status"] == "completed", json.dumps(journal, indent=1, default=str)[:3000]
    assert journal["steady_states"]["before"]["steady_state_met"] is True
    assert journal["steady_states"]["after"]["steady_state_met"] is True
    action, after_probe = journal["run"]
    # The group (fast health sweeps) may already have replaced the stopped instance.
    assert action["status"] == "succeeded" and after_probe["output"] in (1, 2)
    experiment_id = action["output"]["experiment"]["id"]
    assert action["output"]["experiment"]["tags"] == {"suite": "ctk"}

    wait_for(
        lambda: (
            lab.client("fis").get_experiment(id=experiment_id)["experiment"]["state"]["status"]
            in ("completed", "failed", "stopped")
        ),
        60,
        "the FIS experiment to end",
    )
    verify = {
        "version": "1.0.0",
        "title": "The FIS experiment completed",
        "description": "chaosaws's FIS probe reads the experiment's outcome.",
        "configuration": {"aws_region": "us-east-1"},
        "steady-state-hypothesis": {
            "title": "the experiment completed",
            "probes": [
                _probe(
                    "fis-experiment-state",
                    "chaosaws.fis.probes",
                    "get_experiment",
                    {"experiment_id": experiment_id},
                    {"type": "jsonpath", "path": "$.experiment.state.status", "expect": "completed"},
                )
            ],
        },
        "method": [
            _probe(
                "fis-experiment-actions",
                "chaosaws.fis.probes",
                "get_experiment",
                {"experiment_id": experiment_id},
                {"type": "jsonpath", "path": "$.experiment.actions.stop-one.state.status", "expect": "completed"},
            )
        ],
    }
    checked = _run(lab, verify, tmp_path, "verify")
    assert checked["status"] == "completed", json.dumps(checked, indent=1, default=str)[:3000]
    assert checked["steady_states"]["before"]["steady_state_met"] is True
    assert checked["run"][0]["output"]["experiment"]["actions"]["stop-one"]["state"]["status"] == "completed"

    stops = [e for e in lab.events(kinds="fault.applied") if e.get("experiment") == experiment_id]
    assert len(stops) == 1 and stops[0]["target"].startswith("i-"), stops

    # The same probe and tolerance fail for an experiment that did not complete: the check can fail.
    failing = json.loads(json.dumps(verify).replace('"expect": "completed"', '"expect": "stopped"', 1))
    deviated = _run(lab, failing, tmp_path, "deviated")
    assert deviated["steady_states"]["before"]["steady_state_met"] is False
