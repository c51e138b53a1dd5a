"""The pytest plugin as a user's project uses it: a separate pytest run (pytester, in a
subprocess) whose tests only name the plugin's fixtures. The lab comes up, a real fault is
injected through boto3, the assertions see it, and nothing of the lab is left afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
import yaml

from chaoslab.stack import resolve_stack_path

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.realistic


def _static_stack() -> dict:
    """The default stack's shape with the static app and no database: the quickest real lab."""
    doc = yaml.safe_load(resolve_stack_path("default").read_text())
    del doc["database"]
    asg = doc["auto_scaling_groups"][0]
    asg.pop("database")
    asg["image"] = "chaoslab/static"
    doc["alarms"] = []
    return doc


USER_TESTS = """
import time
import urllib.request


def test_the_alb_serves(chaoslab_lab):
    with urllib.request.urlopen(chaoslab_lab.alb_url(), timeout=5) as resp:
        assert resp.status == 200


def test_an_experiment_that_does_not_hold_fails_in_its_own_words(chaoslab_experiment):
    chaoslab_experiment({
        "title": "stop an instance and hope nothing notices",
        "template": {
            "description": "stop one instance",
            "roleArn": "arn:aws:iam::123456789012:role/chaos-lab-fis-role",
            "stopConditions": [{"source": "none"}],
            "targets": {"one": {"resourceType": "aws:ec2:instance", "selectionMode": "COUNT(1)",
                                "resourceTags": {"Project": "chaos-lab"},
                                "filters": [{"path": "State.Name", "values": ["running"]}]}},
            "actions": {"stop": {"actionId": "aws:ec2:stop-instances", "targets": {"Instances": "one"}}},
        },
        "workload": {"requests": [{"method": "GET", "path": "/", "rate": 5}]},
        "hypothesis": {
            "if": "we stop one of two instances",
            "then": "both stay healthy",
            "clauses": [{"type": "healthy_hosts", "min": 2}],
        },
        "timing": {"baseline_s": 1, "max_injection_s": 10, "min_recovery_s": 6, "recovery_timeout_s": 20},
    })


def test_stopping_an_instance_through_fis(chaoslab_lab, chaoslab_client):
    fis, ec2 = chaoslab_client("fis"), chaoslab_client("ec2")

    def running():
        reservations = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
        return {i["InstanceId"] for r in reservations["Reservations"] for i in r["Instances"]}

    before = running()
    template = fis.create_experiment_template(
        clientToken="plugin-test",
        description="stop one instance",
        roleArn="arn:aws:iam::123456789012:role/chaos-lab-fis-role",
        stopConditions=[{"source": "none"}],
        targets={"one": {"resourceType": "aws:ec2:instance", "selectionMode": "COUNT(1)",
                         "resourceTags": {"Project": "chaos-lab"},
                         "filters": [{"path": "State.Name", "values": ["running"]}]}},
        actions={"stop": {"actionId": "aws:ec2:stop-instances", "targets": {"Instances": "one"}}},
    )["experimentTemplate"]
    experiment = fis.start_experiment(experimentTemplateId=template["id"])["experiment"]
    deadline = time.monotonic() + 30
    while fis.get_experiment(id=experiment["id"])["experiment"]["state"]["status"] != "completed":
        assert time.monotonic() < deadline, "the experiment did not complete"
        time.sleep(0.2)
    assert len(before - running()) == 1, (before, running())


def test_a_lab_of_its_own(chaoslab_lab, chaoslab_client):
    assert chaoslab_lab.api_url != "http://127.0.0.1:4566"
    assert chaoslab_client("ec2").describe_vpcs()["Vpcs"][0]["CidrBlock"] != "10.0.0.0/16"


"""


def test_a_user_project_brings_a_lab_up_injects_a_fault_and_leaves_nothing(pytester: pytest.Pytester) -> None:
    (pytester.path / "stack.yaml").write_text(yaml.safe_dump(_static_stack()))
    pytester.makeini("[pytest]\nchaoslab_stack = stack.yaml\n")
    pytester.makepyfile(test_user=textwrap.dedent(USER_TESTS))

    result = pytester.runpytest_subprocess("--chaoslab-fast", "-p", "no:cacheprovider", timeout=240)

    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*the experiment did not end 'held':*",
            "*hypothesis: if we stop one of two instances, then both stay healthy*",
            "*not held: *healthy*",
        ]
    )
    assert not _processes_under(pytester.path), "the plugin's lab left processes behind"


def _processes_under(root: Path) -> list[list[str]]:
    """Processes that belong to a lab in `root`: they name it or run inside it (units' cwd)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        if proc.pid == os.getpid():  # pytester runs this test inside `root`
            continue
        cmdline, cwd = proc.info["cmdline"] or [], proc.info["cwd"] or ""
        if cwd.startswith(str(root)) or any(str(root) in arg for arg in cmdline):
            found.append(cmdline)
    return found


HANGING_TEST = """
def test_holds_the_lab(chaoslab_lab, tmp_path_factory):
    import pathlib, time
    pathlib.Path("lab-is-up").write_text(chaoslab_lab.api_url)
    time.sleep(600)
"""


def test_a_killed_test_session_takes_its_lab_with_it(pytester: pytest.Pytester) -> None:
    """SIGKILL gives pytest no teardown: the lab notices its owner is gone and stops itself."""
    (pytester.path / "stack.yaml").write_text(yaml.safe_dump(_static_stack()))
    pytester.makeini("[pytest]\nchaoslab_stack = stack.yaml\n")
    pytester.makepyfile(test_hang=HANGING_TEST)
    session = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "--chaoslab-fast",
            "-p",
            "no:cacheprovider",
            f"--basetemp={pytester.path / 'tmp'}",
        ],
        cwd=pytester.path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not (pytester.path / "lab-is-up").exists():
            assert session.poll() is None, "the test session ended before its lab came up"
            assert time.monotonic() < deadline, "the lab did not come up"
            time.sleep(0.2)
        assert _processes_under(pytester.path), "no lab processes found while the lab is up"
    finally:
        session.send_signal(signal.SIGKILL)
        session.wait()
    deadline = time.monotonic() + 30
    while _processes_under(pytester.path):
        assert time.monotonic() < deadline, f"left behind 30 s after the kill: {_processes_under(pytester.path)}"
        time.sleep(0.2)
