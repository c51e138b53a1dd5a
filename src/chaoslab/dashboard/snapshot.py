"""One JSON picture of the running lab for the dashboard: header, topology (ALB → target groups →
targets with health, AZ and IP), databases, alarms, recent FIS experiments and the safety lever.
Built from the backends' public describe calls so it shows exactly what the AWS API would."""

from __future__ import annotations

import time
from typing import Any

RECENT_EXPERIMENTS = 8


def overview(lab: Any) -> dict[str, Any]:
    """Everything the page draws except traffic and the timeline (those are polled separately)."""
    vpcs = list(lab.ec2.vpcs.values())
    now = time.time()
    return {
        "now": now,
        "header": {
            "stack": lab.stack_name,
            "run_id": lab.run_id,
            "api": lab.config.endpoint_url,
            "region": lab.config.region,
            "account_id": lab.config.account_id,
            "network_mode": vpcs[0].network.mode if vpcs else None,
            "vpcs": [v.cidr for v in vpcs],
            "started_at": lab.started_at,
            "uptime": now - lab.started_at,
        },
        "load_balancers": load_balancers(lab),
        "databases": databases(lab),
        "alarms": alarms(lab),
        "experiments": experiments(lab),
        "safety_lever": lab.fis.get_safety_lever("default")["state"],
    }


def _units(lab: Any) -> dict[str, dict[str, Any]]:
    """Where each possible target lives: instances by id, tasks by private IP."""
    units: dict[str, dict[str, Any]] = {}
    for i in lab.ec2.instances.values():
        units[i.instance_id] = {
            "kind": "instance",
            "unit_state": i.state,
            "az": i.az,
            "ip": i.private_ip,
            "group": i.tags.get("aws:autoscaling:groupName"),
        }
    for t in lab.ecs.tasks.values():
        if t.private_ip and t.last_status != "STOPPED":
            units[t.private_ip] = {
                "kind": "task",
                "unit_state": t.last_status,
                "az": t.az,
                "ip": t.private_ip,
                "group": t.service,
                "task_id": t.task_id,
            }
    return units


def load_balancers(lab: Any) -> list[dict[str, Any]]:
    elbv2 = lab.elbv2
    units = _units(lab)
    out = []
    for lb in elbv2.describe_load_balancers()["LoadBalancers"]:
        arn = lb["LoadBalancerArn"]
        listeners = []
        for ln in elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]:
            host, port = elbv2.listener_address(ln["ListenerArn"])
            listeners.append(f"http://{host}:{port}")
        groups = []
        for tg in elbv2.describe_target_groups(LoadBalancerArn=arn)["TargetGroups"]:
            health = elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]
            targets = []
            for d in health:
                tid = d["Target"]["Id"]
                targets.append(
                    {
                        "id": tid,
                        "port": d["Target"].get("Port"),
                        "state": d["TargetHealth"]["State"],
                        "reason": d["TargetHealth"].get("Reason"),
                        "description": d["TargetHealth"].get("Description"),
                        **units.get(
                            tid,
                            {
                                "kind": tg["TargetType"],
                                "az": d["Target"].get("AvailabilityZone"),
                                "ip": None,
                                "unit_state": None,
                                "group": None,
                            },
                        ),
                    }
                )
            groups.append(
                {
                    "name": tg["TargetGroupName"],
                    "port": tg.get("Port"),
                    "target_type": tg["TargetType"],
                    "health_check": f"{tg.get('HealthCheckPath', '/')} every {tg.get('HealthCheckIntervalSeconds')}s",
                    "targets": targets,
                }
            )
        out.append(
            {
                "name": lb["LoadBalancerName"],
                "state": lb.get("State", {}).get("Code"),
                "listeners": listeners,
                "target_groups": groups,
            }
        )
    return out


def databases(lab: Any) -> list[dict[str, Any]]:
    rds = lab.rds
    out = []
    for c in rds.describe_db_clusters()["DBClusters"]:
        members = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [c["DBClusterIdentifier"]]}])[
            "DBInstances"
        ]
        writers = {m["DBInstanceIdentifier"] for m in c.get("DBClusterMembers", []) if m.get("IsClusterWriter")}
        out.append(
            {
                "cluster": c["DBClusterIdentifier"],
                "status": c["Status"],
                "engine": c.get("Engine"),
                "endpoint": c.get("Endpoint"),
                "reader_endpoint": c.get("ReaderEndpoint"),
                "port": c.get("Port"),
                "instances": sorted(
                    (
                        {
                            "id": m["DBInstanceIdentifier"],
                            "role": "writer" if m["DBInstanceIdentifier"] in writers else "reader",
                            "status": m["DBInstanceStatus"],
                            "az": m.get("AvailabilityZone"),
                        }
                        for m in members
                    ),
                    key=lambda m: (m["role"] != "writer", m["id"]),
                ),
            }
        )
    return out


def alarms(lab: Any) -> list[dict[str, Any]]:
    out = []
    for a in lab.cloudwatch.describe_alarms(types=["MetricAlarm", "CompositeAlarm"]):
        d = a.describe()
        if a.kind == "MetricAlarm":
            what = f"{d.get('MetricName') or 'metric math'} {d.get('ComparisonOperator', '')} {d.get('Threshold', '')}"
        else:
            what = d.get("AlarmRule", "")
        out.append(
            {
                "name": a.name,
                "kind": a.kind,
                "state": a.state,
                "reason": a.reason,
                "since": a.state_transitioned or a.created,
                "condition": what,
            }
        )
    return out


def experiments(lab: Any, limit: int = RECENT_EXPERIMENTS) -> list[dict[str, Any]]:
    """The newest experiments with their actions, running ones first."""
    summaries, token = lab.fis.list_experiments()
    while token:  # pages run oldest first: the newest are on the last page
        page, token = lab.fis.list_experiments(next_token=token)
        summaries += page
    summaries.sort(
        key=lambda e: (
            e["state"]["status"] not in ("pending", "initiating", "running", "stopping"),
            -(_epoch(e["creationTime"]) or 0.0),
        )
    )
    out = []
    for s in summaries[:limit]:
        e = lab.fis.get_experiment(s["id"])
        out.append(
            {
                "id": e["id"],
                "template": e["experimentTemplateId"],
                "state": e["state"],
                "created": _epoch(e.get("creationTime")),
                "started": _epoch(e.get("startTime")),
                "ended": _epoch(e.get("endTime")),
                "tags": e.get("tags", {}),
                "actions": [
                    {
                        "name": name,
                        "action_id": a.get("actionId"),
                        "state": a.get("state", {}),
                        "start_after": a.get("startAfter", []),
                    }
                    for name, a in e.get("actions", {}).items()
                ],
            }
        )
    return out


def _epoch(value: Any) -> float | None:
    """FIS documents hold epoch floats or datetimes depending on where they came from."""
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    return float(value)
