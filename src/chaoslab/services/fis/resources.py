"""Candidate resources for target resolution, read from the lab's backends in describe shapes."""

from __future__ import annotations

from typing import Any

from chaoslab.services.fis.executors import ActionFailure, call
from chaoslab.services.fis.selection import Resource


def _tags(items: Any, key: str = "Key", value: str = "Value") -> dict[str, str]:
    if isinstance(items, dict):
        return {str(k): str(v) for k, v in items.items()}
    return {t[key]: t.get(value, "") for t in items or []}


def _records(answer: Any, key: str) -> list[dict[str, Any]]:
    """Backends may answer with the list itself or with the boto3 response dict around it."""
    return list(answer.get(key, [])) if isinstance(answer, dict) else list(answer or [])


async def candidates(lab: Any, resource_type: str, parameters: dict[str, str]) -> list[Resource]:
    """Every resource of `resource_type` the lab has (narrowed by ECS cluster/service up front)."""
    region, account = lab.config.region, lab.config.account_id
    if resource_type in ("aws:ec2:instance", "aws:ec2:spot-instance"):
        out = []
        for r in _records(await call(lab.ec2.describe_instance_records()), "Instances"):
            if resource_type == "aws:ec2:spot-instance" and r.get("InstanceLifecycle") != "spot":
                continue
            arn = f"arn:aws:ec2:{region}:{account}:instance/{r['InstanceId']}"
            out.append(Resource(arn, resource_type, r, _tags(r.get("Tags"))))
        return out
    if resource_type == "aws:ec2:subnet":
        return [
            Resource(
                r.get("SubnetArn") or f"arn:aws:ec2:{region}:{account}:subnet/{r['SubnetId']}",
                resource_type,
                r,
                _tags(r.get("Tags")),
            )
            for r in _records(await call(lab.ec2.describe_subnet_records()), "Subnets")
        ]
    if resource_type == "aws:ec2:ebs-volume":
        return [
            Resource(f"arn:aws:ec2:{region}:{account}:volume/{r['VolumeId']}", resource_type, r, _tags(r.get("Tags")))
            for r in _records(await call(lab.ec2.describe_volume_records()), "Volumes")
        ]
    if resource_type == "aws:ecs:task":
        answer = await call(
            lab.ecs.describe_task_records(cluster=parameters.get("cluster"), service=parameters.get("service"))
        )
        # Tasks come from ListTasks, whose default is desiredStatus RUNNING: a stopped task is no target.
        return [
            Resource(r["taskArn"], resource_type, r, _tags(r.get("tags"), "key", "value"))
            for r in _records(answer, "tasks")
            if r.get("desiredStatus") == "RUNNING"
        ]
    if resource_type == "aws:rds:db":
        return [
            Resource(r["DBInstanceArn"], resource_type, r, _tags(r.get("TagList")))
            for r in _records(await call(lab.rds.describe_db_instances()), "DBInstances")
        ]
    if resource_type == "aws:rds:cluster":
        instances = {
            i["DBInstanceIdentifier"]: i for i in _records(await call(lab.rds.describe_db_instances()), "DBInstances")
        }
        out = []
        for r in _records(await call(lab.rds.describe_db_clusters()), "DBClusters"):
            writers = [m["DBInstanceIdentifier"] for m in r.get("DBClusterMembers", []) if m.get("IsClusterWriter")]
            writer_az = instances.get(writers[0], {}).get("AvailabilityZone") if writers else None
            out.append(Resource(r["DBClusterArn"], resource_type, r, _tags(r.get("TagList")), {"writer_az": writer_az}))
        return out
    if resource_type == "aws:iam:role":
        out = []
        for role in _records(await call(lab.iam.list_roles()), "Roles"):
            record = (
                role
                if isinstance(role, dict)
                else {"RoleName": role.name, "Arn": role.arn, "Path": role.path, "RoleId": role.role_id}
            )
            tags = _tags(record.get("Tags")) if isinstance(role, dict) else dict(role.tags)
            out.append(Resource(record["Arn"], resource_type, record, tags))
        return out
    if resource_type == "aws:ec2:autoscaling-group":
        return _groups(lab, resource_type)
    if resource_type == "aws:arc:zonal-shift-managed-resource":
        return _zonal_shift_managed(lab, resource_type)
    raise ActionFailure("ConfigurationFailure", f"chaoslab cannot resolve targets of type {resource_type} yet")


def _groups(lab: Any, resource_type: str) -> list[Resource]:
    records = [lab.autoscaling.describe(g) for g in lab.autoscaling.groups.values()]
    return [Resource(r["AutoScalingGroupARN"], resource_type, r, _tags(r.get("Tags"))) for r in records]


def _zonal_shift_managed(lab: Any, resource_type: str) -> list[Resource]:
    """ARC's managed resources as ListManagedResources sums them up: every ALB and Auto Scaling
    group of the lab, each counted as having zonal autoshift ENABLED (the lab has no ARC settings)."""
    out = []
    for lb in lab.elbv2.load_balancers.values():
        zones = [z["ZoneName"] for z in lb.zones]
        out.append(Resource(lb.arn, resource_type, _managed(lb.arn, lb.name, zones), dict(lb.tags)))
    for group in _groups(lab, resource_type):
        record = _managed(group.arn, group.record["AutoScalingGroupName"], group.record["AvailabilityZones"])
        out.append(Resource(group.arn, resource_type, record, group.tags))
    return out


def _managed(arn: str, name: str, zones: list[str]) -> dict[str, Any]:
    return {"Arn": arn, "Name": name, "AvailabilityZones": zones, "ZonalAutoshiftStatus": "ENABLED"}
