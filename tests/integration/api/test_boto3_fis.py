"""FIS with unmodified boto3 (rest-json) against a real lab: the action catalogue, templates
created, updated, tagged and deleted, experiments that really stop an instance or are stopped by
the caller, and FIS's modeled exceptions."""

from __future__ import annotations

import uuid

import pytest
from api_lab import LabHandle, stack_doc, start_lab, stop_and_check, wait_for

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(120)]

ROLE_ARN = "arn:aws:iam::123456789012:role/fis-ec2"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    doc = stack_doc(
        "fistest",
        {
            "settings": {"asg_health_sweep_seconds": 600},
            "auto_scaling_groups": [
                {
                    "name": "victims",
                    "image": "chaoslab/static",
                    "port": 80,
                    "min": 2,
                    "max": 2,
                    "tags": {"Chaos": "yes"},
                }
            ],
            "roles": [
                {
                    "name": "fis-ec2",
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
    handle = start_lab(tmp_path_factory.mktemp("fis"), doc)
    yield handle
    stop_and_check(handle)


@pytest.fixture(scope="module")
def fis(lab: LabHandle):
    return lab.client("fis")


def _template(action: dict, targets: dict | None = None) -> dict:
    return {
        "clientToken": uuid.uuid4().hex,
        "description": "boto3 test",
        "roleArn": ROLE_ARN,
        "stopConditions": [{"source": "none"}],
        "actions": {"a1": action},
        "targets": targets or {},
        "tags": {"suite": "api"},
    }


def _finished(fis, eid: str) -> dict | None:
    e = fis.get_experiment(id=eid)["experiment"]
    return e if e["state"]["status"] in ("completed", "stopped", "failed") else None


def test_catalogue(fis) -> None:
    ids = {a["id"] for a in fis.list_actions()["actions"]}
    assert {"aws:ec2:stop-instances", "aws:ecs:stop-task", "aws:rds:failover-db-cluster", "aws:fis:wait"} <= ids
    action = fis.get_action(id="aws:ec2:stop-instances")["action"]
    assert "startInstancesAfterDuration" in action["parameters"]
    assert action["targets"]["Instances"]["resourceType"] == "aws:ec2:instance"
    assert (
        fis.get_target_resource_type(resourceType="aws:ec2:instance")["targetResourceType"]["resourceType"]
        == "aws:ec2:instance"
    )


def test_experiment_stops_a_real_instance(lab: LabHandle, fis) -> None:
    ec2 = lab.client("ec2")
    wait_for(
        lambda: (
            len(
                [
                    i
                    for r in ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])[
                        "Reservations"
                    ]
                    for i in r["Instances"]
                ]
            )
            == 2
        ),
        30,
        "two running instances",
    )
    template = fis.create_experiment_template(
        **_template(
            {"actionId": "aws:ec2:stop-instances", "targets": {"Instances": "victims"}},
            {
                "victims": {
                    "resourceType": "aws:ec2:instance",
                    "resourceTags": {"Chaos": "yes"},
                    "filters": [{"path": "State.Name", "values": ["running"]}],
                    "selectionMode": "COUNT(1)",
                }
            },
        ),
    )["experimentTemplate"]
    assert template["tags"] == {"suite": "api"}
    updated = fis.update_experiment_template(id=template["id"], description="stop one instance")["experimentTemplate"]
    assert updated["description"] == "stop one instance"
    assert template["id"] in [t["id"] for t in fis.list_experiment_templates()["experimentTemplates"]]

    eid = fis.start_experiment(experimentTemplateId=template["id"], tags={"run": "1"})["experiment"]["id"]
    done = wait_for(lambda: _finished(fis, eid), 60, "the experiment to finish", interval=0.5)
    assert done["state"]["status"] == "completed", done["state"]
    resolved = fis.list_experiment_resolved_targets(experimentId=eid)["resolvedTargets"]
    assert len(resolved) == 1 and resolved[0]["targetName"] == "victims"
    victim_id = resolved[0]["targetInformation"]["arn"].rsplit("/", 1)[-1]
    state = ec2.describe_instances(InstanceIds=[victim_id])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state in ("stopping", "stopped")
    assert eid in [e["id"] for e in fis.list_experiments()["experiments"]]
    arn = done["arn"]
    assert fis.list_tags_for_resource(resourceArn=arn)["tags"] == {"run": "1"}


def test_experiment_stopped_by_the_caller(fis) -> None:
    template = fis.create_experiment_template(
        **_template({"actionId": "aws:fis:wait", "parameters": {"duration": "PT10M"}})
    )["experimentTemplate"]
    eid = fis.start_experiment(experimentTemplateId=template["id"])["experiment"]["id"]
    wait_for(lambda: fis.get_experiment(id=eid)["experiment"]["state"]["status"] == "running", 30, "running")
    fis.stop_experiment(id=eid)
    done = wait_for(lambda: _finished(fis, eid), 30, "the experiment to stop", interval=0.5)
    assert done["state"]["status"] == "stopped"
    fis.delete_experiment_template(id=template["id"])
    with pytest.raises(fis.exceptions.ResourceNotFoundException):
        fis.get_experiment_template(id=template["id"])


def test_an_action_the_lab_cannot_run_fails_the_experiment_unless_the_start_asks_to_skip_it(fis) -> None:
    template = fis.create_experiment_template(
        **_template(
            {
                "actionId": "aws:lambda:invocation-error",
                "parameters": {"duration": "PT1M"},
                "targets": {"Functions": "fns"},
            },
            {"fns": {"resourceType": "aws:lambda:function", "resourceTags": {"app": "shop"}, "selectionMode": "ALL"}},
        )
    )["experimentTemplate"]
    assert fis.get_action(id="aws:lambda:invocation-error")["action"]["targets"] == {
        "Functions": {"resourceType": "aws:lambda:function"}
    }
    eid = fis.start_experiment(experimentTemplateId=template["id"])["experiment"]["id"]
    failed = wait_for(lambda: _finished(fis, eid), 30, "the experiment to fail", interval=0.5)
    assert failed["state"]["status"] == "failed"
    assert failed["state"]["reason"] == (
        "Action a1 (aws:lambda:invocation-error) cannot run in chaoslab: the lab has "
        "no Lambda functions. (1 more part(s) of the template cannot run either.)"
    )
    assert failed["state"]["error"]["code"] == "ConfigurationFailure"
    eid = fis.start_experiment(experimentTemplateId=template["id"], tags={"chaoslab:skip-unsupported-actions": "true"})[
        "experiment"
    ]["id"]
    done = wait_for(lambda: _finished(fis, eid), 30, "the experiment to complete", interval=0.5)
    assert done["state"]["status"] == "completed"
    assert done["actions"]["a1"]["state"]["status"] == "skipped"


def test_errors_are_modeled_exceptions(fis) -> None:
    with pytest.raises(fis.exceptions.ResourceNotFoundException):
        fis.get_experiment_template(id="EXTnotthere1234")
    with pytest.raises(fis.exceptions.ResourceNotFoundException):
        fis.start_experiment(experimentTemplateId="EXTnotthere1234")
    with pytest.raises(fis.exceptions.ResourceNotFoundException):
        fis.get_experiment(id="EXPnotthere1234")
    with pytest.raises(fis.exceptions.ValidationException) as err:
        fis.create_experiment_template(
            **_template({"actionId": "aws:fis:wait", "parameters": {"duration": "five minutes"}})
        )
    assert "duration" in str(err.value)
    with pytest.raises(fis.exceptions.ValidationException):
        fis.create_experiment_template(
            **_template({"actionId": "aws:ec2:stop-instances", "targets": {"Instances": "undefined-target"}})
        )
