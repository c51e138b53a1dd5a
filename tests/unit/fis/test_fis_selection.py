"""Target resolution rules, table-driven over EC2/ECS describe-shape records."""

from __future__ import annotations

import random

import pytest

from chaoslab.services.fis.selection import ResolutionError, Resource, resolve, select, walk

ARN = "arn:aws:ec2:us-east-1:123456789012:instance/{}"


def instance(
    iid: str,
    state: str = "running",
    az: str = "us-east-1a",
    tags: dict[str, str] | None = None,
    groups: tuple[str, ...] = ("sg-1",),
) -> Resource:
    tags = tags if tags is not None else {"Project": "chaos-lab"}
    record = {
        "InstanceId": iid,
        "State": {"Name": state, "Code": 16},
        "Placement": {"AvailabilityZone": az},
        "NetworkInterfaces": [{"Groups": [{"GroupId": g} for g in groups]}],
        "EbsOptimized": False,
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }
    return Resource(ARN.format(iid), "aws:ec2:instance", record, tags)


FLEET = [
    instance("i-1"),
    instance("i-2", az="us-east-1b"),
    instance("i-3", state="stopped"),
    instance("i-4", tags={"Project": "other"}, groups=("sg-1", "sg-2")),
    instance("i-5", tags={"Project": "chaos-lab", "Owner": ""}),
]


def ids(resources: list[Resource]) -> list[str]:
    return sorted(r.record["InstanceId"] for r in resources)


@pytest.mark.parametrize(
    "target,expected",
    [
        ({}, ["i-1", "i-2", "i-3", "i-4", "i-5"]),
        ({"resourceTags": {"Project": "chaos-lab"}}, ["i-1", "i-2", "i-3", "i-5"]),
        ({"resourceTags": {"Project": "chaos-lab", "Owner": ""}}, ["i-5"]),
        ({"resourceTags": {"Owner": "bob"}}, []),
        ({"filters": [{"path": "State.Name", "values": ["running"]}]}, ["i-1", "i-2", "i-4", "i-5"]),
        ({"filters": [{"path": "state.name", "values": ["stopped", "pending"]}]}, ["i-3"]),
        (
            {
                "filters": [
                    {"path": "State.Name", "values": ["running"]},
                    {"path": "Placement.AvailabilityZone", "values": ["us-east-1b"]},
                ]
            },
            ["i-2"],
        ),
        ({"filters": [{"path": "State.Code", "values": ["16"]}]}, ["i-1", "i-2", "i-3", "i-4", "i-5"]),
        ({"filters": [{"path": "EbsOptimized", "values": ["false"]}]}, ["i-1", "i-2", "i-3", "i-4", "i-5"]),
        ({"filters": [{"path": "NetworkInterfaces.Groups.GroupId", "values": ["sg-2"]}]}, ["i-4"]),
        ({"filters": [{"path": "No.Such", "values": ["x"]}]}, []),
        (
            {"resourceTags": {"Project": "chaos-lab"}, "filters": [{"path": "State.Name", "values": ["running"]}]},
            ["i-1", "i-2", "i-5"],
        ),
        ({"resourceArns": [ARN.format("i-2"), ARN.format("i-3")]}, ["i-2", "i-3"]),
    ],
)
def test_resolution(target: dict, expected: list[str]) -> None:
    assert ids(resolve({"resourceType": "aws:ec2:instance", "selectionMode": "ALL", **target}, FLEET)) == expected


def test_missing_arn_fails_resolution() -> None:
    with pytest.raises(ResolutionError, match="i-9"):
        resolve(
            {"resourceType": "aws:ec2:instance", "resourceArns": [ARN.format("i-9")], "selectionMode": "ALL"}, FLEET
        )


def test_other_resource_types_are_ignored() -> None:
    task = Resource("arn:aws:ecs:us-east-1:123456789012:task/shop/abc", "aws:ecs:task", {}, {"Project": "chaos-lab"})
    got = resolve({"resourceType": "aws:ec2:instance", "selectionMode": "ALL"}, FLEET + [task])
    assert task not in got


@pytest.mark.parametrize(
    "mode,size,expected",
    [
        ("ALL", 5, 5),
        ("COUNT(1)", 5, 1),
        ("COUNT(9)", 5, 5),
        ("PERCENT(50)", 5, 2),
        ("PERCENT(100)", 5, 5),
        ("PERCENT(10)", 5, 0),
        ("PERCENT(34)", 3, 1),
        ("COUNT(2)", 0, 0),
    ],
)
def test_selection_modes(mode: str, size: int, expected: int) -> None:
    assert len(select(FLEET[:size], mode, random.Random(1))) == expected


def test_selection_is_random_but_injectable() -> None:
    picks = {tuple(ids(select(FLEET, "COUNT(2)", random.Random(seed)))) for seed in range(30)}
    assert len(picks) > 3
    assert select(FLEET, "COUNT(2)", random.Random(7)) == select(FLEET, "COUNT(2)", random.Random(7))


def test_bad_mode_raises() -> None:
    with pytest.raises(ResolutionError):
        select(FLEET, "SOME", random.Random())


def task(tid: str, cluster: str, service: str | None, az: str) -> Resource:
    record = {
        "taskArn": f"arn:aws:ecs:us-east-1:123456789012:task/{cluster}/{tid}",
        "clusterArn": f"arn:aws:ecs:us-east-1:123456789012:cluster/{cluster}",
        "group": f"service:{service}" if service else "family:batch",
        "availabilityZone": az,
        "lastStatus": "RUNNING",
        "containers": [{"name": "web", "lastStatus": "RUNNING"}],
    }
    return Resource(record["taskArn"], "aws:ecs:task", record)


TASKS = [
    task("t1", "shop", "web", "us-east-1a"),
    task("t2", "shop", "web", "us-east-1b"),
    task("t3", "shop", "api", "us-east-1a"),
    task("t4", "other", "web", "us-east-1a"),
    task("t5", "shop", None, "us-east-1a"),
]


@pytest.mark.parametrize(
    "target,expected",
    [
        ({"parameters": {"cluster": "shop"}}, ["t1", "t2", "t3", "t5"]),
        ({"parameters": {"cluster": "shop", "service": "web"}}, ["t1", "t2"]),
        ({"parameters": {"cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/other"}}, ["t4"]),
        (
            {"parameters": {"cluster": "shop"}, "filters": [{"path": "AvailabilityZone", "values": ["us-east-1a"]}]},
            ["t1", "t3", "t5"],
        ),
        (
            {"filters": [{"path": "Containers.Name", "values": ["web"]}, {"path": "Group", "values": ["service:api"]}]},
            ["t3"],
        ),
    ],
)
def test_ecs_task_parameters_and_camel_case_records(target: dict, expected: list[str]) -> None:
    got = resolve({"resourceType": "aws:ecs:task", "selectionMode": "ALL", **target}, TASKS)
    assert sorted(r.arn.rsplit("/", 1)[-1] for r in got) == expected


def test_walk_fans_out_lists() -> None:
    assert walk({"A": [{"B": 1}, {"B": [2, 3]}]}, ["a", "b"]) == [1, 2, 3]
