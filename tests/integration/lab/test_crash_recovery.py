"""Crash recovery (docs/faults.md), end to end: SIGKILL the lab in the middle of an experiment that is
stressing tasks; the next start kills what the dead lab left, reverts the journal, and the
experiment reads `failed` with the reason."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import boto3
import psutil
import pytest
import yaml
from lab_helpers import free_port

from chaoslab.config import LabConfig
from chaoslab.labctl import running_lab, start_detached, stop_lab
from chaoslab.stack import resolve_stack_path
from chaoslab.store import Store

pytestmark = pytest.mark.realistic

TEMPLATE = {
    "description": "CPU stress on every pet-payment task",
    "roleArn": "arn:aws:iam::123456789012:role/pet-adoption-fis-role",
    "targets": {
        "tasks": {
            "resourceType": "aws:ecs:task",
            "selectionMode": "ALL",
            "parameters": {"cluster": "pet-adoption", "service": "pet-payment-service"},
        }
    },
    "actions": {
        "stress": {
            "actionId": "aws:ecs:task-cpu-stress",
            "targets": {"Tasks": "tasks"},
            "parameters": {"duration": "PT10M", "percent": "20"},
        }
    },
    "stopConditions": [{"source": "none"}],
}


def fis(api: str) -> Any:
    return boto3.client(
        "fis", endpoint_url=api, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


def stress_workers(home: str) -> list[psutil.Process]:
    """Stress worker processes live in the units' working dirs under the state dir."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if "chaoslab.faults.worker" in cmd and (proc.info["cwd"] or "").startswith(home):
            found.append(proc)
    return found


def test_sigkilled_lab_is_cleaned_and_its_experiment_failed_at_next_start(tmp_path) -> None:
    doc = yaml.safe_load(resolve_stack_path("pet-payment").read_text())
    doc["vpc"] = {"cidr": "10.96.0.0/16", "subnets": {"us-east-1a": "10.96.10.0/24", "us-east-1b": "10.96.11.0/24"}}
    doc["load_balancers"][0]["listeners"][0]["port"] = 0
    stack = tmp_path / "stack.yaml"
    stack.write_text(yaml.safe_dump(doc))
    config = LabConfig(home=tmp_path / "home", api_port=free_port())
    info = start_detached(config, str(stack), fast=True, quiet=True)
    client = fis(info["api"])
    template = client.create_experiment_template(**TEMPLATE)["experimentTemplate"]["id"]
    exp_id = client.start_experiment(experimentTemplateId=template)["experiment"]["id"]
    # Workers appear when the fault is armed; its undo record is written after that, before `go`.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (
        stress_workers(str(config.home)) and Store(config.home / "state.db").journal_pending(exp_id)
    ):
        time.sleep(0.2)
    assert stress_workers(str(config.home)), "the stress action never started its workers"
    assert Store(config.home / "state.db").journal_pending(exp_id), "the stress action wrote no undo record"

    os.kill(info["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and running_lab(config):
        time.sleep(0.1)
    assert stress_workers(str(config.home)), "a crashed lab leaves its faults running (that is the point)"

    again = start_detached(config, str(stack), fast=True, quiet=True)
    try:
        assert stress_workers(str(config.home)) == []
        assert Store(config.home / "state.db").journal_pending(exp_id) == []
        experiment = fis(again["api"]).get_experiment(id=exp_id)["experiment"]
        assert experiment["state"]["status"] == "failed"
        assert "faults were reverted at the next start" in experiment["state"]["reason"]
    finally:
        stop_lab(config, quiet=True)
    assert not [p for p, _, _ in Store(config.home / "state.db").owned_processes() if psutil.pid_exists(p)]
