"""The catalogue pinned to AWS's FIS reference: how many actions and target types, a sample of
every service's parameters (defaults, ranges, required), the targeting rules, and the lab's own
bookkeeping (what runs, what does not and why)."""

from __future__ import annotations

import asyncio
import copy
from types import SimpleNamespace
from typing import Any

import pytest

from chaoslab.services.fis.catalogue import ACTIONS, AS_OF, SOURCES, TARGET_TYPES, canonical_type
from chaoslab.services.fis.executors import ActionFailure
from chaoslab.services.fis.resources import candidates
from chaoslab.services.fis.runnable import gaps
from chaoslab.services.fis.validation import validate_template

ROLE = "arn:aws:iam::123456789012:role/fis"


def test_every_action_and_target_type_of_the_reference_is_catalogued() -> None:
    aws = {a for a in ACTIONS if a.startswith("aws:")}
    assert len(aws) == 51  # 50 current ids and the older ElastiCache id FIS still accepts
    assert {a for a in ACTIONS if not a.startswith("aws:")} == {"chaoslab:ecs:fargate-spot-interruption"}
    services = {a.split(":")[1] for a in aws}
    assert services == {
        "fis",
        "arc",
        "cloudwatch",
        "dynamodb",
        "dsql",
        "ebs",
        "ec2",
        "ecs",
        "eks",
        "elasticache",
        "kinesis",
        "lambda",
        "memorydb",
        "network",
        "rds",
        "s3",
        "ssm",
        "directconnect",
    }
    assert len([a for a in aws if a.startswith("aws:eks:")]) == 9
    assert len([a for a in aws if a.startswith("aws:ecs:")]) == 8
    assert len(TARGET_TYPES) == 25 and len([t for t in TARGET_TYPES.values() if not t.alias_of]) == 24
    assert AS_OF == "2026-12-03" and len(SOURCES) == 3 and all("AWS FIS User Guide" in s for s in SOURCES)


@pytest.mark.parametrize(
    "action_id,key,resource_type",
    [
        ("aws:arc:start-zonal-autoshift", "ManagedResources", "aws:arc:zonal-shift-managed-resource"),
        ("aws:directconnect:virtual-interface-disconnect", "VirtualInterfaces", "aws:directconnect:virtual-interface"),
        ("aws:dsql:cluster-connection-failure", "Clusters", "aws:dsql:cluster"),
        ("aws:dynamodb:global-table-pause-replication", "Tables", "aws:dynamodb:global-table"),
        ("aws:ebs:volume-io-latency", "Volumes", "aws:ec2:ebs-volume"),
        ("aws:ec2:asg-insufficient-instance-capacity-error", "AutoScalingGroups", "aws:ec2:autoscaling-group"),
        ("aws:eks:inject-kubernetes-custom-resource", "Cluster", "aws:eks:cluster"),
        ("aws:eks:terminate-nodegroup-instances", "Nodegroups", "aws:eks:nodegroup"),
        ("aws:kinesis:stream-expired-iterator-exception", "KinesisStreams", "aws:kinesis:stream"),
        ("aws:lambda:invocation-error", "Functions", "aws:lambda:function"),
        (
            "aws:memorydb:multi-region-cluster-pause-replication",
            "MultiRegionClusters",
            "aws:memorydb:multi-region-cluster",
        ),
        ("aws:network:disrupt-vpc-endpoint", "VPCEndpoints", "aws:ec2:vpc-endpoint"),
        ("aws:network:transit-gateway-disrupt-cross-region-connectivity", "TransitGateways", "aws:ec2:transit-gateway"),
        ("aws:s3:bucket-pause-replication", "Buckets", "aws:s3:bucket"),
        ("aws:elasticache:interrupt-cluster-az-power", "ReplicationGroups", "aws:elasticache:redis-replicationgroup"),
    ],
)
def test_action_target_keys(action_id: str, key: str, resource_type: str) -> None:
    assert ACTIONS[action_id].targets == {key: resource_type}


@pytest.mark.parametrize(
    "action_id,param,required,default,good,bad",
    [
        ("aws:fis:inject-api-internal-error", "service", True, None, "kinesis", "s3"),
        ("aws:ebs:pause-volume-io", "duration", True, None, "PT1S", "PT13H"),
        ("aws:ebs:volume-io-latency", "readIOPercentage", False, "100", "0.1", "0.09"),
        ("aws:ebs:volume-io-latency", "writeIOLatencyMilliseconds", False, "100", "60000", "60001"),
        ("aws:ec2:asg-insufficient-instance-capacity-error", "percentage", False, "100", "1", "0"),
        (
            "aws:ec2:api-insufficient-instance-capacity-error",
            "availabilityZoneIdentifiers",
            True,
            None,
            "use1-az1, use1-az2",
            "a,,b",
        ),
        ("aws:ec2:send-spot-instance-interruptions", "durationBeforeInterruption", True, None, "PT15M", "PT1M"),
        ("aws:ecs:task-network-latency", "sources", False, "ALL", "10.0.0.0/16,DYNAMODB", "S3, DYNAMODB"),
        ("aws:ecs:task-kill-process", "signal", False, "SIGTERM", "SIGKILL", "SIGHUP"),
        ("aws:eks:pod-cpu-stress", "fisPodSecurityPolicy", False, None, "restricted", "open"),
        ("aws:eks:pod-delete", "kubernetesServiceAccount", True, None, "fis-sa", None),
        ("aws:eks:pod-network-latency", "interface", False, "DEFAULT", "eth0,eth1", None),
        ("aws:eks:inject-kubernetes-custom-resource", "kubernetesSpec", True, None, '{"mode":"one"}', "mode: one"),
        ("aws:eks:terminate-nodegroup-instances", "instanceTerminationPercentage", True, None, "100", "101"),
        ("aws:directconnect:virtual-interface-disconnect", "duration", True, None, "PT10M", "PT9M"),
        ("aws:lambda:invocation-add-delay", "startupDelayMilliseconds", False, "1000", "900000", "900001"),
        ("aws:lambda:invocation-http-integration-response", "statusCode", True, None, "503", "1000"),
        ("aws:arc:start-zonal-autoshift", "zonalAutoshiftStatus", False, "ENABLED", "ANY", "enabled"),
        ("aws:arc:start-zonal-autoshift", "managedResourceTypes", False, None, "ALB,NLB", "ELB"),
        ("aws:network:disrupt-connectivity", "scope", False, "all", "s3express", "internet"),
        ("aws:network:route-table-disrupt-cross-region-connectivity", "region", True, None, "eu-west-1", "Ireland"),
        ("aws:s3:bucket-pause-replication", "region", True, None, "ap-southeast-2", "apse2"),
        ("aws:kinesis:stream-provisioned-throughput-exception", "percentage", True, None, "100", "0"),
        ("aws:dsql:cluster-connection-failure", "percentage", True, None, "1", "101"),
        ("aws:ssm:start-automation-execution", "maxDuration", True, None, "PT12H", "PT30S"),
        ("aws:ssm:send-command", "documentParameters", False, None, '{"Commands":["ls"]}', '["ls"]'),
        ("aws:rds:reboot-db-instances", "forceFailover", False, "false", "True", "yes"),
    ],
)
def test_parameters(
    action_id: str, param: str, required: bool, default: str | None, good: str, bad: str | None
) -> None:
    spec = ACTIONS[action_id].parameters[param]
    assert (spec.required, spec.default) == (required, default)
    assert spec.check is None or spec.check(good) is None
    if bad is not None:
        assert spec.check is not None and spec.check(bad)


def test_target_type_parameters() -> None:
    pod = TARGET_TYPES["aws:eks:pod"].parameters
    assert {k for k, p in pod.items() if p.required} == {
        "clusterIdentifier",
        "namespace",
        "selectorType",
        "selectorValue",
    }
    assert TARGET_TYPES["aws:elasticache:replicationgroup"].parameters["availabilityZoneIdentifier"].required
    assert set(TARGET_TYPES["aws:ec2:subnet"].parameters) == {"availabilityZoneIdentifier", "vpc"}
    assert set(TARGET_TYPES["aws:lambda:function"].parameters) == {"functionQualifier"}
    assert canonical_type("aws:elasticache:redis-replicationgroup") == "aws:elasticache:replicationgroup"


def test_the_lab_says_why_for_everything_it_cannot_run() -> None:
    for spec in ACTIONS.values():
        assert (spec.executor is None) == bool(spec.unsupported), spec.id
        assert set(spec.lab_values) <= set(spec.parameters), spec.id
        if spec.executor:  # a runnable action's targets are types the lab resolves
            assert all(not TARGET_TYPES[t].unsupported for t in spec.targets.values()), spec.id
    runnable = {a for a, s in ACTIONS.items() if s.executor}
    assert len(runnable) == 27
    assert "aws:ssm:start-automation-execution" in runnable


def test_draining_container_instances_is_not_runnable_and_says_what_to_use_instead() -> None:
    """The lab's ECS has no EC2 container instances: no operation registers one, and a cluster
    reports none registered; the reason says so and names the actions that do take capacity."""
    from chaoslab.services.ecs import api as ecs_api

    spec = ACTIONS["aws:ecs:drain-container-instances"]
    assert spec.executor is None
    assert not {"RegisterContainerInstance", "ListContainerInstances"} & set(ecs_api.OPERATIONS)
    assert "no EC2 container instances" in spec.unsupported and "Fargate-style" in spec.unsupported
    assert "aws:ecs:stop-task" in spec.unsupported and "aws:ec2:stop-instances" in spec.unsupported


def test_the_lab_resolves_exactly_the_types_it_says_it_does() -> None:
    empty = SimpleNamespace(
        **{
            m: lambda *a, **k: []
            for m in (
                "describe_instance_records",
                "describe_subnet_records",
                "describe_volume_records",
                "describe_task_records",
                "describe_db_instances",
                "describe_db_clusters",
                "list_roles",
            )
        }
    )
    lab = SimpleNamespace(
        config=SimpleNamespace(region="us-east-1", account_id="123456789012"),
        ec2=empty,
        ecs=empty,
        rds=empty,
        iam=empty,
        autoscaling=SimpleNamespace(groups={}),
        elbv2=SimpleNamespace(load_balancers={}),
    )

    def resolves(resource_type: str) -> bool:
        try:
            asyncio.run(candidates(lab, resource_type, {}))
        except ActionFailure:
            return False
        return True

    for rtype, spec in TARGET_TYPES.items():
        assert resolves(rtype) == (spec.unsupported is None), rtype


def _template(action: dict[str, Any], targets: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": "t",
        "roleArn": ROLE,
        "stopConditions": [{"source": "none"}],
        "targets": targets,
        "actions": {"A": action},
    }


def test_the_older_elasticache_id_and_type_are_still_accepted() -> None:
    old = _template(
        {
            "actionId": "aws:elasticache:interrupt-cluster-az-power",
            "parameters": {"duration": "PT5M"},
            "targets": {"ReplicationGroups": "C"},
        },
        {
            "C": {
                "resourceType": "aws:elasticache:redis-replicationgroup",
                "selectionMode": "ALL",
                "resourceTags": {"a": "b"},
                "parameters": {"availabilityZoneIdentifier": "us-east-1a"},
            }
        },
    )
    issues = validate_template(old)
    assert [(i.severity, i.hint) for i in issues] == [
        ("warning", "use aws:elasticache:replicationgroup-interrupt-az-power")
    ]
    mixed = copy.deepcopy(old)
    mixed["targets"]["C"]["resourceType"] = "aws:elasticache:replicationgroup"
    assert [i.severity for i in validate_template(mixed)] == ["warning"]
    new = copy.deepcopy(mixed)
    new["actions"]["A"]["actionId"] = "aws:elasticache:replicationgroup-interrupt-az-power"
    assert validate_template(new) == []


@pytest.mark.parametrize(
    "selection,target,ok",
    [
        ("arns", {"resourceArns": [ROLE]}, True),
        ("arns", {"resourceTags": {"team": "x"}}, False),
        ("arns", {"resourceArns": [ROLE], "filters": [{"path": "RoleName", "values": ["x"]}]}, False),
    ],
)
def test_arns_only_rule_of_the_capacity_error_action(selection: str, target: dict[str, Any], ok: bool) -> None:
    t = _template(
        {
            "actionId": "aws:ec2:api-insufficient-instance-capacity-error",
            "targets": {"Roles": "R"},
            "parameters": {"duration": "PT5M", "availabilityZoneIdentifiers": "us-east-1a"},
        },
        {"R": {"resourceType": "aws:iam:role", "selectionMode": "ALL", **target}},
    )
    errors = [i for i in validate_template(t) if i.severity == "error"]
    assert (errors == []) == ok, errors
    if not ok:
        assert any(e.path == "actions.A.targets.Roles" and "by ARN only" in e.message for e in errors), errors


def test_s3_pause_replication_selects_buckets_by_tags_only() -> None:
    t = _template(
        {
            "actionId": "aws:s3:bucket-pause-replication",
            "targets": {"Buckets": "B"},
            "parameters": {"duration": "PT5M", "region": "eu-west-1"},
        },
        {"B": {"resourceType": "aws:s3:bucket", "selectionMode": "ALL", "resourceArns": ["arn:aws:s3:::orders"]}},
    )
    assert "by resourceTags only" in validate_template(t)[0].message
    t["targets"]["B"] = {"resourceType": "aws:s3:bucket", "selectionMode": "ALL", "resourceTags": {"r": "y"}}
    assert validate_template(t) == []


def test_gaps_name_actions_first_then_targets_and_lab_values() -> None:
    t = _template(
        {"actionId": "aws:lambda:invocation-error", "parameters": {"duration": "PT1M"}, "targets": {"Functions": "F"}},
        {"F": {"resourceType": "aws:lambda:function", "selectionMode": "ALL", "resourceTags": {"a": "b"}}},
    )
    found = gaps(t)
    assert [(g.kind, g.path) for g in found] == [("action", "actions.A.actionId"), ("target", "targets.F.resourceType")]
    assert found[0].failure_reason() == (
        "Action A (aws:lambda:invocation-error) cannot run in chaoslab: the lab has no Lambda functions."
    )
    cut = _template(
        {
            "actionId": "aws:network:disrupt-connectivity",
            "parameters": {"duration": "PT1M"},
            "targets": {"Subnets": "S"},
        },
        {"S": {"resourceType": "aws:ec2:subnet", "selectionMode": "ALL", "resourceTags": {"a": "b"}}},
    )
    assert gaps(cut) == []  # scope defaults to all, which the lab emulates
    cut["actions"]["A"]["parameters"]["scope"] = "prefix-list"
    assert [g.path for g in gaps(cut)] == ["actions.A.parameters.scope"]
