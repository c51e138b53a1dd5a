"""A live account, read through boto3 with Describe/List/Get calls only, into an `Architecture`.

Auto Scaling groups, ECS services, load balancers, databases, roles, alarms and FIS templates are
read (only those carrying every `--tag` when tags are given); the launch templates, subnets, VPCs,
target groups and security groups they use come with them. Instances outside Auto Scaling groups
are listed: a stack has instances only in groups. A section the caller may not read is noted, not fatal.
Nothing here writes: the clients are used for `describe_*`, `list_*` and `get_*` alone."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from chaoslab.errors import ChaoslabError
from chaoslab.importer import common, secgroups
from chaoslab.importer.model import (
    Architecture,
    Database,
    Group,
    LaunchTemplate,
    Listener,
    LoadBalancer,
    Network,
    Role,
    SecurityGroup,
    Service,
    Subnet,
    TargetGroup,
)

_TEMPLATE_FIELDS = (
    "description",
    "roleArn",
    "targets",
    "actions",
    "stopConditions",
    "tags",
    "logConfiguration",
    "experimentOptions",
)
_TASK_DEFINITION_OUTPUT = (
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
)


def read(
    profile: str | None, region: str | None, endpoint_url: str | None, tag_filter: Mapping[str, str]
) -> Architecture:
    """Read the account `profile` (or boto3's default credentials) sees in `region`."""
    try:
        import boto3
        import botocore.exceptions

        from chaoslab.accounts import caller_identity
    except ImportError:
        raise ChaoslabError("boto3 is not installed", hint="pip install boto3") from None
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound:
        raise ChaoslabError(f"no AWS profile named {profile!r}", hint="aws configure list-profiles") from None
    if session.region_name is None:
        raise ChaoslabError("no region", hint="--region us-east-1, or AWS_DEFAULT_REGION")

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url)

    account = caller_identity(client("sts"))["account"]
    arch = Architecture(name=profile or "aws", region=str(session.region_name), account=account)
    reader = _Reader(arch, client, dict(tag_filter))
    for section in reader.sections():
        try:
            section()
        except botocore.exceptions.ClientError as exc:
            arch.skip(f"{section.__name__.strip('_')}", f"could not be read: {exc}")
    reader.finish()
    return arch


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**kwargs):
            yield from page.get(key, [])
    else:
        yield from getattr(client, operation)(**kwargs).get(key, [])


def _forward_target(listener: dict[str, Any]) -> str | None:
    """The target group a listener's default action forwards to, if it forwards."""
    for action in listener.get("DefaultActions", []):
        if action.get("Type") == "forward":
            arn = action.get("TargetGroupArn") or action["ForwardConfig"]["TargetGroups"][0]["TargetGroupArn"]
            return str(arn)
    return None


class _Reader:
    def __init__(self, arch: Architecture, client: Callable[[str], Any], tag_filter: dict[str, str]) -> None:
        self.arch, self.client, self.filter = arch, client, tag_filter
        self.subnet_ids: set[str] = set()
        self.tg_arns: set[str] = set()
        self.templates: dict[str, str | None] = {}  # launch template id -> version
        self.group_ids: set[str] = set()  # security groups the imported resources use

    def sections(self) -> list[Callable[[], None]]:
        # in this order: load balancers name target groups, compute names templates and subnets
        return [
            self._groups,
            self._instances,
            self._ecs,
            self._load_balancers,
            self._target_groups,
            self._launch_templates,
            self._network,
            self._databases,
            self._security_groups,
            self._roles,
            self._alarms,
            self._experiment_templates,
        ]

    def wanted(self, tags: Mapping[str, str]) -> bool:
        return all(tags.get(k) == v for k, v in self.filter.items())

    def finish(self) -> None:
        known = {tg.id for tg in self.arch.target_groups}
        for lb in self.arch.load_balancers:
            for ln in lb.listeners:
                if ln.target_group not in known:
                    self.arch.skip(f"listener {lb.name}:{ln.port}", "its target group was not read")

    # compute ---------------------------------------------------------------------------------
    def _groups(self) -> None:
        for g in _pages(self.client("autoscaling"), "describe_auto_scaling_groups", "AutoScalingGroups"):
            tags = common.tags(g.get("Tags"))
            if not self.wanted(tags):
                continue
            ref = g.get("LaunchTemplate") or {}
            if not ref:
                self.arch.skip(
                    f"Auto Scaling group {g['AutoScalingGroupName']}",
                    "left out: only launch templates are translated (not launch configurations or mixed policies)",
                )
                continue
            subnets = [s for s in str(g.get("VPCZoneIdentifier", "")).split(",") if s]
            self.subnet_ids.update(subnets)
            self.tg_arns.update(g.get("TargetGroupARNs", []))
            self.templates[ref["LaunchTemplateId"]] = ref.get("Version")
            self.arch.groups.append(
                Group(
                    name=g["AutoScalingGroupName"],
                    min=int(g["MinSize"]),
                    max=int(g["MaxSize"]),
                    desired=int(g["DesiredCapacity"]),
                    subnets=subnets,
                    target_groups=list(g.get("TargetGroupARNs", [])),
                    launch_template=ref["LaunchTemplateId"],
                    version=ref.get("Version") if ref.get("Version") not in (None, "$Default") else None,
                    health_check_type=g.get("HealthCheckType"),
                    grace=g.get("HealthCheckGracePeriod"),
                    tags=tags,
                )
            )

    def _instances(self) -> None:
        for reservation in _pages(self.client("ec2"), "describe_instances", "Reservations"):
            for inst in reservation.get("Instances", []):
                tags = common.tags(inst.get("Tags"))
                if inst.get("State", {}).get("Name") in ("terminated", "shutting-down") or not self.wanted(tags):
                    continue
                if "aws:autoscaling:groupName" not in {t.get("Key") for t in inst.get("Tags", [])}:
                    self.arch.skip(
                        f"instance {inst['InstanceId']}",
                        "left out: a stack has instances only in Auto Scaling groups (put it in a group of one)",
                    )

    def _uses(self, ids: Any) -> list[str]:
        """Security-group ids a resource names, remembered to be read with it."""
        found = [str(i) for i in ids or []]
        self.group_ids.update(found)
        return found

    def _launch_templates(self) -> None:
        ec2 = self.client("ec2")
        for lt_id, version in self.templates.items():
            found = ec2.describe_launch_template_versions(LaunchTemplateId=lt_id, Versions=[version or "$Default"])
            for v in found.get("LaunchTemplateVersions", [])[:1]:
                data = v.get("LaunchTemplateData", {})
                groups = list(data.get("SecurityGroupIds") or [])
                groups += [g for nic in data.get("NetworkInterfaces") or [] for g in nic.get("Groups") or []]
                self.arch.launch_templates.append(
                    LaunchTemplate(
                        id=lt_id,
                        name=v["LaunchTemplateName"],
                        image=str(data.get("ImageId", "")),
                        instance_type=data.get("InstanceType"),
                        user_data=common.user_data(data.get("UserData")),
                        security_groups=self._uses(dict.fromkeys(groups)),
                    )
                )

    def _ecs(self) -> None:
        ecs = self.client("ecs")
        arns = list(_pages(ecs, "list_clusters", "clusterArns"))
        for start in range(0, len(arns), 100):
            for c in ecs.describe_clusters(clusters=arns[start : start + 100], include=["TAGS"])["clusters"]:
                services = self._services(ecs, c["clusterArn"])
                if services or self.wanted(common.tags(c.get("tags"))):
                    self.arch.ecs_clusters[c["clusterArn"]] = c["clusterName"]

    def _services(self, ecs: Any, cluster: str) -> int:
        arns = list(_pages(ecs, "list_services", "serviceArns", cluster=cluster))
        count = 0
        for start in range(0, len(arns), 10):
            found = ecs.describe_services(cluster=cluster, services=arns[start : start + 10], include=["TAGS"])
            for s in found["services"]:
                tags = common.tags(s.get("tags"))
                if s.get("status") != "ACTIVE" or not self.wanted(tags):
                    continue
                count += 1
                td = ecs.describe_task_definition(taskDefinition=s["taskDefinition"])["taskDefinition"]
                body = {k: v for k, v in td.items() if k not in _TASK_DEFINITION_OUTPUT}
                if all(t.get("family") != body["family"] for t in self.arch.task_definitions):
                    self.arch.task_definitions.append(body)
                lbs = s.get("loadBalancers") or []
                self.tg_arns.update(lb["targetGroupArn"] for lb in lbs if lb.get("targetGroupArn"))
                vpc = (s.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
                subnets = vpc.get("subnets", [])
                self.subnet_ids.update(subnets)
                strategy = (s.get("capacityProviderStrategy") or [{}])[0]
                self.arch.services.append(
                    Service(
                        name=s["serviceName"],
                        cluster=cluster,
                        task_definition=body["family"],
                        desired=int(s["desiredCount"]),
                        launch_type=s.get("launchType"),
                        capacity_provider=strategy.get("capacityProvider"),
                        subnets=list(subnets),
                        security_groups=self._uses(vpc.get("securityGroups")),
                        load_balancer=(lbs[0]["targetGroupArn"], lbs[0]["containerName"], int(lbs[0]["containerPort"]))
                        if lbs
                        else None,
                        grace=s.get("healthCheckGracePeriodSeconds"),
                        tags=tags,
                    )
                )
        return count

    # load balancing --------------------------------------------------------------------------
    def _elb_tags(self, arns: list[str]) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        elbv2 = self.client("elbv2")
        for start in range(0, len(arns), 20):
            for d in elbv2.describe_tags(ResourceArns=arns[start : start + 20])["TagDescriptions"]:
                out[d["ResourceArn"]] = common.tags(d.get("Tags"))
        return out

    def _load_balancers(self) -> None:
        elbv2 = self.client("elbv2")
        lbs = list(_pages(elbv2, "describe_load_balancers", "LoadBalancers"))
        tags = self._elb_tags([lb["LoadBalancerArn"] for lb in lbs])
        for lb in lbs:
            arn, name = lb["LoadBalancerArn"], lb["LoadBalancerName"]
            if lb.get("Type", "application") != "application":
                if self.wanted(tags.get(arn, {})):
                    self.arch.skip(f"load balancer {name}", f"type {lb['Type']} is not in the lab (application only)")
                continue
            listeners = list(_pages(elbv2, "describe_listeners", "Listeners", LoadBalancerArn=arn))
            targets = [_forward_target(ln) for ln in listeners]
            # with --tag, an ALB in front of the tagged compute belongs to it even if untagged
            if not self.wanted(tags.get(arn, {})) and not self.tg_arns.intersection(t for t in targets if t):
                continue
            attrs = elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
            idle = next((a["Value"] for a in attrs if a["Key"] == "idle_timeout.timeout_seconds"), None)
            model = LoadBalancer(
                id=arn,
                name=name,
                idle_timeout=int(idle) if idle else None,
                security_groups=self._uses(lb.get("SecurityGroups")),
                tags=tags.get(arn, {}),
            )
            for ln, target in zip(listeners, targets, strict=True):
                if ln.get("Protocol", "HTTP") != "HTTP":
                    self.arch.skip(f"listener {name}:{ln['Port']}", f"{ln['Protocol']} served as plain HTTP (no TLS)")
                if target is None:
                    self.arch.skip(f"listener {name}:{ln['Port']}", "left out: only forward default actions")
                    continue
                self.tg_arns.add(target)
                model.listeners.append(Listener(int(ln["Port"]), target))
            self.arch.load_balancers.append(model)

    def _target_groups(self) -> None:
        elbv2 = self.client("elbv2")
        groups = list(_pages(elbv2, "describe_target_groups", "TargetGroups"))
        tags = self._elb_tags([tg["TargetGroupArn"] for tg in groups])
        for tg in groups:
            arn = tg["TargetGroupArn"]
            if arn not in self.tg_arns and not (self.filter and self.wanted(tags.get(arn, {}))):
                continue
            what = f"target group {tg['TargetGroupName']}"
            attrs = elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
            self.arch.target_groups.append(
                TargetGroup(
                    id=arn,
                    name=tg["TargetGroupName"],
                    port=int(tg.get("Port") or 80),
                    target_type=tg.get("TargetType", "instance"),
                    health_check=common.health_check(tg),
                    attributes=common.target_group_attributes(((a["Key"], a["Value"]) for a in attrs), self.arch, what),
                    tags=tags.get(arn, {}),
                )
            )

    def _network(self) -> None:
        if not self.subnet_ids:
            return
        ec2 = self.client("ec2")
        used = list(_pages(ec2, "describe_subnets", "Subnets", SubnetIds=sorted(self.subnet_ids)))
        vpc_ids = sorted({s["VpcId"] for s in used})
        for vpc in ec2.describe_vpcs(VpcIds=vpc_ids)["Vpcs"]:
            network = Network(id=vpc["VpcId"], cidr=vpc["CidrBlock"])
            subnets = _pages(ec2, "describe_subnets", "Subnets", Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
            network.subnets = [Subnet(s["SubnetId"], s["AvailabilityZone"], s["CidrBlock"]) for s in subnets]
            self.arch.networks.append(network)

    # the rest --------------------------------------------------------------------------------
    def _databases(self) -> None:
        rds = self.client("rds")
        members: dict[str, list[tuple[str, str | None]]] = {}
        for inst in _pages(rds, "describe_db_instances", "DBInstances"):
            ident, az = inst["DBInstanceIdentifier"], inst.get("AvailabilityZone")
            if inst.get("DBClusterIdentifier"):
                members.setdefault(inst["DBClusterIdentifier"], []).append((ident, az))
            elif self.wanted(common.tags(inst.get("TagList"))):
                self._standalone(inst)
        for c in _pages(rds, "describe_db_clusters", "DBClusters"):
            tags = common.tags(c.get("TagList"))
            ident = c["DBClusterIdentifier"]
            if not self.wanted(tags):
                continue
            if c.get("Engine") != "aurora-postgresql":
                self.arch.skip(f"database {ident}", f"engine {c.get('Engine')} is not in the lab (PostgreSQL only)")
                continue
            self.arch.databases.append(
                Database(
                    cluster=ident,
                    database=str(c.get("DatabaseName") or "postgres"),
                    username=str(c.get("MasterUsername") or "postgres"),
                    port=c.get("Port"),
                    instances=members.get(ident, []),
                    security_groups=self._uses(g["VpcSecurityGroupId"] for g in c.get("VpcSecurityGroups", [])),
                    tags=tags,
                )
            )

    def _standalone(self, inst: dict[str, Any]) -> None:
        ident = inst["DBInstanceIdentifier"]
        if inst.get("Engine") != "postgres":
            self.arch.skip(f"database {ident}", f"engine {inst.get('Engine')} is not in the lab (PostgreSQL only)")
            return
        self.arch.databases.append(
            Database(
                cluster=ident,
                database=str(inst.get("DBName") or "postgres"),
                username=str(inst.get("MasterUsername") or "postgres"),
                port=(inst.get("Endpoint") or {}).get("Port"),
                instances=[(ident, inst.get("AvailabilityZone"))],
                security_groups=self._uses(g["VpcSecurityGroupId"] for g in inst.get("VpcSecurityGroups", [])),
                tags=common.tags(inst.get("TagList")),
            )
        )
        self.arch.skip(f"database {ident}", "a single PostgreSQL instance runs as a cluster with one writer")

    def _security_groups(self) -> None:
        if not self.group_ids:
            return
        ec2 = self.client("ec2")
        for g in _pages(ec2, "describe_security_groups", "SecurityGroups", GroupIds=sorted(self.group_ids)):
            what = f"security group {g['GroupName']}"
            self.arch.security_groups.append(
                SecurityGroup(
                    id=g["GroupId"],
                    name=g["GroupName"],
                    description=str(g.get("Description") or ""),
                    ingress=secgroups.ip_permissions(self.arch, f"{what} ingress", g.get("IpPermissions", [])),
                    egress=secgroups.ip_permissions(self.arch, f"{what} egress", g.get("IpPermissionsEgress", [])),
                    tags=common.tags(g.get("Tags")),
                )
            )

    def _roles(self) -> None:
        iam = self.client("iam")
        for r in _pages(iam, "list_roles", "Roles"):
            name = r["RoleName"]
            if str(r.get("Path", "/")).startswith("/aws-service-role/"):
                self.arch.skip(f"role {name}", "service-linked: AWS creates it")
                continue
            tags = common.tags(iam.list_role_tags(RoleName=name).get("Tags")) if self.filter or r.get("Tags") else {}
            if not self.wanted(tags):
                continue
            policies = {
                p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                for p in _pages(iam, "list_role_policies", "PolicyNames", RoleName=name)
            }
            managed = []
            for attached in _pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name):
                arn = attached["PolicyArn"]
                if ":aws:policy/" in arn:
                    managed.append(arn)
                else:  # the account's own: the lab has only AWS's to attach, so it goes inline
                    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
                    got = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
                    policies[attached["PolicyName"]] = got["Document"]
            trust = r.get("AssumeRolePolicyDocument") or iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
            self.arch.roles.append(Role(name=name, trust=trust, policies=policies, managed=managed, tags=tags))

    def _alarms(self) -> None:
        cloudwatch = self.client("cloudwatch")
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
            for c in page.get("CompositeAlarms", []):
                self.arch.skip(f"alarm {c['AlarmName']}", "composite alarms are not in the lab's stack format")
            for a in page.get("MetricAlarms", []):
                if self.filter:
                    tags = common.tags(cloudwatch.list_tags_for_resource(ResourceARN=a["AlarmArn"]).get("Tags"))
                    if not self.wanted(tags):
                        continue
                self.arch.alarms.append(common.alarm(a, self.arch))

    def _experiment_templates(self) -> None:
        fis = self.client("fis")
        for summary in _pages(fis, "list_experiment_templates", "experimentTemplates"):
            if not self.wanted(summary.get("tags") or {}):
                continue
            t = fis.get_experiment_template(id=summary["id"])["experimentTemplate"]
            body = {k: t[k] for k in _TEMPLATE_FIELDS if t.get(k) not in (None, {}, [])}
            body.setdefault("description", "")
            body.setdefault("stopConditions", [{"source": "none"}])
            stem = (t.get("tags") or {}).get("Name") or t["id"]
            self.arch.experiment_templates[str(stem)] = body
