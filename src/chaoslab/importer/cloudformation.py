"""A CloudFormation template (JSON, or YAML with the short-form tags) into an `Architecture`.

Every property is evaluated first (`intrinsics.Resolver`), so the readers below see plain values.
`Ref` and `Fn::GetAtt` of a resource give what CloudFormation gives (a name, an ARN), built from
the resource's own name property, or its logical id when it has none; references are then read
back through the same values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from chaoslab.errors import ChaoslabError
from chaoslab.importer import common, secgroups
from chaoslab.importer.intrinsics import Resolver, Unresolvable
from chaoslab.importer.model import (
    Architecture,
    Database,
    Group,
    LaunchTemplate,
    Listener,
    LoadBalancer,
    Network,
    Role,
    Rule,
    SecurityGroup,
    Service,
    Subnet,
    TargetGroup,
)
from chaoslab.lint.cfn import to_api
from chaoslab.lint.source import SourceError, read_source

# type -> the property that names it (what Ref returns for named resources)
_NAME_PROPERTY = {
    "AWS::ElasticLoadBalancingV2::TargetGroup": "Name",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "Name",
    "AWS::EC2::LaunchTemplate": "LaunchTemplateName",
    "AWS::AutoScaling::AutoScalingGroup": "AutoScalingGroupName",
    "AWS::RDS::DBCluster": "DBClusterIdentifier",
    "AWS::RDS::DBInstance": "DBInstanceIdentifier",
    "AWS::ECS::Cluster": "ClusterName",
    "AWS::ECS::TaskDefinition": "Family",
    "AWS::ECS::Service": "ServiceName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::CloudWatch::Alarm": "AlarmName",
}
_NETWORK_ONLY = (
    "AWS::EC2::InternetGateway",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::RouteTable",
    "AWS::EC2::Route",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::NatGateway",
    "AWS::EC2::EIP",
)
_NOT_NEEDED = (
    "AWS::RDS::DBSubnetGroup",
    "AWS::RDS::DBClusterParameterGroup",
    "AWS::RDS::DBParameterGroup",
    "AWS::IAM::InstanceProfile",
    "AWS::Logs::LogGroup",
)
_LT_DATA_KEPT = {"ImageId", "InstanceType", "UserData", "TagSpecifications", "SecurityGroupIds", "SecurityGroups"}
_TD_KEEP_KEYS = ("Options", "DockerLabels")  # maps of the user's own keys, left as written


def read(path: Path, overrides: Mapping[str, str], region: str, account: str) -> Architecture:
    """Read the template at `path`; `overrides` are `--parameter` values."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ChaoslabError(f"cannot read {path}: {exc.strerror}", hint="give the path of a template file") from None
    try:
        data = read_source(path.name, text).data
    except SourceError as exc:
        where = f"{path}:{exc.line}:{exc.column}" if exc.line else str(path)
        raise ChaoslabError(exc.message, path=where, hint=exc.hint) from None
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise ChaoslabError(
            "not a CloudFormation template: no Resources section", path=str(path), hint="give a template file"
        )
    return _Template(path.stem, data, overrides, region, account).read()


class _Properties(dict[str, Any]):
    """A resource's evaluated Properties that remember which keys a reader looked at, so the
    rest can be listed as not translated instead of vanishing."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.seen: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.seen.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.seen.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.seen.add(str(key))
        return super().__contains__(key)

    def touch(self, keys: Any) -> None:
        """Mark `keys` as read by a reader that takes them wholesale."""
        self.seen.update(keys)

    def unread(self) -> list[str]:
        return sorted(set(self) - self.seen)


def _camel(node: Any) -> Any:
    """CloudFormation's PascalCase ECS properties as the API's camelCase, user maps left alone."""
    if isinstance(node, list):
        return [_camel(v) for v in node]
    if not isinstance(node, dict):
        return node
    return {k[:1].lower() + k[1:]: (v if k in _TD_KEEP_KEYS else _camel(v)) for k, v in node.items()}


class _Template:
    def __init__(
        self, stem: str, data: dict[str, Any], overrides: Mapping[str, str], region: str, account: str
    ) -> None:
        self.data = data
        self.resources: dict[str, Any] = data["Resources"]
        self.arch = Architecture(name=stem, region=region, account=account)
        try:
            self.resolver = Resolver(data, overrides, region, account, self._ref, self._attr, stem)
        except Unresolvable as exc:
            raise ChaoslabError(str(exc), hint="--parameter names a parameter of the template") from None
        self._names: dict[str, str] = {}
        self.subnets: list[tuple[str, Subnet]] = []  # (VPC id, subnet)
        self.listeners: list[tuple[str, Listener]] = []  # (load balancer id, listener)
        self.policies: list[tuple[list[str], str, Any]] = []  # (role names, policy name, document)
        self.customer_policies: dict[str, tuple[str, Any]] = {}  # ARN -> (name, document)
        self.instances: list[tuple[str, str, str | None]] = []  # (cluster, instance, AZ)
        self.sg_rules: list[tuple[str, bool, Rule]] = []  # (group id, egress?, rule) of rule resources

    # what Ref and GetAtt give ---------------------------------------------------------------
    def _type(self, logical: str) -> str:
        if logical not in self.resources:
            raise Unresolvable(f"{logical} is not a parameter or resource of the template")
        return str(self.resources[logical].get("Type", ""))

    def name(self, logical: str) -> str:
        if logical not in self._names:
            self._names[logical] = logical  # a name that refers to itself ends here
            prop = _NAME_PROPERTY.get(self._type(logical))
            given = (self.resources[logical].get("Properties") or {}).get(prop) if prop else None
            if given is not None:
                self._names[logical] = str(self.resolver.resolve(given))
                if self._type(logical).startswith("AWS::RDS::"):
                    self._names[logical] = self._names[logical].lower()
        return self._names[logical]

    def _ref(self, logical: str) -> Any:
        kind, name = self._type(logical), self.name(logical)
        r, a = self.arch.region, self.arch.account
        if kind == "AWS::ElasticLoadBalancingV2::TargetGroup":
            return f"arn:aws:elasticloadbalancing:{r}:{a}:targetgroup/{name}/{logical}"
        if kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            return f"arn:aws:elasticloadbalancing:{r}:{a}:loadbalancer/app/{name}/{logical}"
        if kind == "AWS::ECS::TaskDefinition":
            return f"arn:aws:ecs:{r}:{a}:task-definition/{name}:1"
        if kind == "AWS::ECS::Service":
            return f"arn:aws:ecs:{r}:{a}:service/{name}"
        if kind == "AWS::IAM::ManagedPolicy":
            return f"arn:aws:iam::{a}:policy/{name}"
        if kind in ("AWS::EC2::LaunchTemplate", "AWS::FIS::ExperimentTemplate"):
            return logical  # an id, not the name
        return name

    def _attr(self, logical: str, attribute: str) -> Any:
        kind, name = self._type(logical), self.name(logical)
        r, a = self.arch.region, self.arch.account
        props = self.resources[logical].get("Properties") or {}
        table: dict[str, Callable[[], Any]] = {
            "Arn": lambda: (
                {
                    "AWS::IAM::Role": f"arn:aws:iam::{a}:role/{name}",
                    "AWS::CloudWatch::Alarm": f"arn:aws:cloudwatch:{r}:{a}:alarm:{name}",
                    "AWS::ECS::Cluster": f"arn:aws:ecs:{r}:{a}:cluster/{name}",
                }.get(kind)
                or self._ref(logical)
            ),
            "TargetGroupArn": lambda: self._ref(logical),
            "LoadBalancerArn": lambda: self._ref(logical),
            "TaskDefinitionArn": lambda: self._ref(logical),
            "TargetGroupFullName": lambda: f"targetgroup/{name}/{logical}",
            "LoadBalancerFullName": lambda: f"app/{name}/{logical}",
            "TargetGroupName": lambda: name,
            "LoadBalancerName": lambda: name,
            "DNSName": lambda: f"{name}.{r}.elb.amazonaws.com",
            "LaunchTemplateId": lambda: logical,
            "GroupId": lambda: logical,
            "LatestVersionNumber": lambda: "1",
            "DefaultVersionNumber": lambda: "1",
            "Endpoint.Address": lambda: self._endpoint(logical, f"{name}.cluster-imported.{r}.rds.amazonaws.com"),
            "ReadEndpoint.Address": lambda: self._endpoint(
                logical, f"{name}.cluster-ro-imported.{r}.rds.amazonaws.com"
            ),
            "Endpoint.Port": lambda: str(self.resolver.resolve(props.get("Port", 5432))),
            "CidrBlock": lambda: self.resolver.resolve(props.get("CidrBlock")),
            "AvailabilityZone": lambda: self.resolver.resolve(props.get("AvailabilityZone")),
            "RoleId": lambda: f"AROA{logical.upper()}"[:21],
            "Name": lambda: name,
        }
        if attribute not in table:
            raise Unresolvable(f"Fn::GetAtt {logical}.{attribute} is known only to a deployed stack")
        return table[attribute]()

    def _endpoint(self, logical: str, host: str) -> str:
        self.arch.skip(
            f"{logical} endpoint {host}",
            "the lab's endpoint has another name: units get the writer's as DB_ENDPOINT (and DB_PORT)",
        )
        return host

    # reading ---------------------------------------------------------------------------------
    def read(self) -> Architecture:
        readers: dict[str, Callable[[str, _Properties], None]] = {
            "AWS::EC2::VPC": self._vpc,
            "AWS::EC2::Subnet": self._subnet,
            "AWS::EC2::SecurityGroup": self._security_group,
            "AWS::EC2::SecurityGroupIngress": lambda logical, p: self._rule_resource(logical, p, False),
            "AWS::EC2::SecurityGroupEgress": lambda logical, p: self._rule_resource(logical, p, True),
            "AWS::EC2::LaunchTemplate": self._launch_template,
            "AWS::AutoScaling::AutoScalingGroup": self._group,
            "AWS::ElasticLoadBalancingV2::LoadBalancer": self._load_balancer,
            "AWS::ElasticLoadBalancingV2::TargetGroup": self._target_group,
            "AWS::ElasticLoadBalancingV2::Listener": self._listener,
            "AWS::ECS::Cluster": self._ecs_cluster,
            "AWS::ECS::TaskDefinition": self._task_definition,
            "AWS::ECS::Service": self._service,
            "AWS::RDS::DBCluster": self._db_cluster,
            "AWS::RDS::DBInstance": self._db_instance,
            "AWS::IAM::Role": self._role,
            "AWS::IAM::Policy": self._policy,
            "AWS::IAM::ManagedPolicy": self._managed_policy,
            "AWS::CloudWatch::Alarm": self._alarm,
            "AWS::FIS::ExperimentTemplate": self._experiment_template,
        }
        for logical, resource in self.resources.items():
            kind = str(resource.get("Type", ""))
            what = f"{logical} ({kind})"
            try:
                condition = resource.get("Condition")
                if condition and not self.resolver.condition(str(condition)):
                    self.arch.skip(what, f"condition {condition} is false: CloudFormation would not create it")
                    continue
                if kind in _NETWORK_ONLY:
                    self.arch.skip(what, "not needed: a lab VPC has no route off the machine")
                elif kind in _NOT_NEEDED:
                    self.arch.skip(what, "not needed by the lab")
                elif kind in readers:
                    props = _Properties(self.resolver.resolve(resource.get("Properties") or {}))
                    props.touch([_NAME_PROPERTY.get(kind, "VpcId"), "VpcId"])  # read by `name`; the lab has one VPC
                    readers[kind](logical, props)
                    if props.unread():
                        self.arch.skip(what, f"{', '.join(props.unread())}: not used by the lab")
                else:
                    self.arch.skip(what, "resource type not in the lab")
            except Unresolvable as exc:
                self.arch.skip(what, f"left out: {exc}")
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                self.arch.skip(what, f"left out: cannot read its properties ({type(exc).__name__}: {exc})")
        self._finish()
        return self.arch

    def _finish(self) -> None:
        common.attach_subnets_and_listeners(self.arch, self.subnets, self.listeners, "template")
        secgroups.attach(self.arch, self.sg_rules, "template")
        self._group_names_as_ids()
        roles = {r.name: r for r in self.arch.roles}
        for names, pname, document in self.policies:
            for role in names:
                if role in roles:
                    roles[role].policies[pname] = document
                else:
                    self.arch.skip(f"policy {pname}", f"role {role} is not in the template")
        common.inline_customer_policies(self.arch, self.customer_policies)
        common.attach_db_instances(self.arch, self.instances)

    def _vpc(self, logical: str, p: dict[str, Any]) -> None:
        self.arch.networks.append(Network(id=logical, cidr=p["CidrBlock"]))

    def _subnet(self, logical: str, p: dict[str, Any]) -> None:
        self.subnets.append((p["VpcId"], Subnet(id=logical, az=p["AvailabilityZone"], cidr=p["CidrBlock"])))

    def _security_group(self, logical: str, p: dict[str, Any]) -> None:
        what = f"security group {logical}"
        group = SecurityGroup(
            id=logical,
            name=str(p.get("GroupName") or logical),
            description=str(p.get("GroupDescription") or ""),
            tags=common.tags(p.get("Tags")),
        )
        for entry in p.get("SecurityGroupIngress") or []:
            group.ingress += self._rules(f"{what} ingress", entry, False)
        if "SecurityGroupEgress" in p:  # given, it replaces AWS's all-traffic egress rule
            group.egress = []
            for entry in p["SecurityGroupEgress"] or []:
                group.egress += self._rules(f"{what} egress", entry, True)
        self.arch.security_groups.append(group)

    def _rule_resource(self, logical: str, p: dict[str, Any], egress: bool) -> None:
        group = p.get("GroupId")
        if group is None:
            self.arch.skip(f"security group rule {logical}", "left out: it names its group by name, not GroupId")
            return
        for rule in self._rules(f"security group rule {logical}", p, egress):
            self.sg_rules.append((str(group), egress, rule))

    def _rules(self, what: str, entry: dict[str, Any], egress: bool) -> list[Rule]:
        """One CloudFormation rule (a property entry or a rule resource's properties)."""
        side = "Destination" if egress else "Source"
        if entry.get("SourceSecurityGroupName"):
            self.arch.skip(what, "left out: a peer group named by name (EC2-Classic and default VPCs only)")
        return secgroups.rules(
            self.arch,
            what,
            entry.get("IpProtocol", "-1"),
            (entry.get("FromPort"), entry.get("ToPort")),
            cidrs=[entry["CidrIp"]] if entry.get("CidrIp") else [],
            groups=[entry[f"{side}SecurityGroupId"]] if entry.get(f"{side}SecurityGroupId") else [],
            description=entry.get("Description"),
            untranslatable={
                "IPv6 range": [entry.get("CidrIpv6")],
                "prefix list": [entry.get(f"{side}PrefixListId")],
            },
        )

    def _group_ids(self, values: Any) -> list[str]:
        return [str(v) for v in values or []]

    def _group_names_as_ids(self) -> None:
        """A reference by GroupName (a launch template's `SecurityGroups`, or a literal name)
        is that template group's id; resolved once every group is read."""
        by_name = {g.name: g.id for g in self.arch.security_groups}
        holders: list[LoadBalancer | LaunchTemplate | Service | Database] = [
            *self.arch.load_balancers,
            *self.arch.launch_templates,
            *self.arch.services,
            *self.arch.databases,
        ]
        for holder in holders:
            holder.security_groups = [by_name.get(ref, ref) for ref in holder.security_groups]

    def _launch_template(self, logical: str, p: dict[str, Any]) -> None:
        data = p.get("LaunchTemplateData") or {}
        dropped = sorted(set(data) - _LT_DATA_KEPT - {"NetworkInterfaces"})
        if dropped:
            self.arch.skip(f"launch template {logical}", f"{', '.join(dropped)} (not used by the lab)")
        groups = self._group_ids(data.get("SecurityGroupIds")) + self._group_ids(data.get("SecurityGroups"))
        for nic in data.get("NetworkInterfaces") or []:
            groups += self._group_ids(nic.get("Groups"))
            if other := sorted(set(nic) - {"Groups", "DeviceIndex", "SubnetId"}):
                self.arch.skip(
                    f"launch template {logical} network interface", f"{', '.join(other)} (not used by the lab)"
                )
        lt_tags: dict[str, str] = {}
        for spec in data.get("TagSpecifications") or []:
            lt_tags.update(common.tags(spec.get("Tags")))
        self.arch.launch_templates.append(
            LaunchTemplate(
                id=logical,
                name=self.name(logical),
                image=str(data.get("ImageId", "")),
                instance_type=data.get("InstanceType"),
                user_data=common.user_data(data.get("UserData")),
                security_groups=list(dict.fromkeys(groups)),
                tags=lt_tags,
            )
        )

    def _group(self, logical: str, p: dict[str, Any]) -> None:
        ref = p.get("LaunchTemplate") or {}
        if not ref:
            self.arch.skip(f"Auto Scaling group {logical}", "left out: only launch templates are translated")
            return
        template = ref.get("LaunchTemplateId")
        if template is None:
            by_name = {
                self.name(k): k for k, r in self.resources.items() if r.get("Type") == "AWS::EC2::LaunchTemplate"
            }
            template = by_name.get(str(ref.get("LaunchTemplateName")), str(ref.get("LaunchTemplateName")))
        self.arch.groups.append(
            Group(
                name=self.name(logical),
                min=common.number(p["MinSize"]),
                max=common.number(p["MaxSize"]),
                desired=common.number(p["DesiredCapacity"]) if "DesiredCapacity" in p else None,
                subnets=[str(s) for s in p.get("VPCZoneIdentifier", [])],
                target_groups=[str(t) for t in p.get("TargetGroupARNs", [])],
                launch_template=str(template),
                version=str(ref["Version"]) if "Version" in ref else None,
                health_check_type=p.get("HealthCheckType"),
                grace=common.number(p["HealthCheckGracePeriod"]) if "HealthCheckGracePeriod" in p else None,
                tags=common.tags(p.get("Tags")),
            )
        )

    def _load_balancer(self, logical: str, p: dict[str, Any]) -> None:
        if p.get("Type", "application") != "application":
            self.arch.skip(f"load balancer {logical}", f"type {p['Type']} is not in the lab (application only)")
            return
        attrs = {a["Key"]: a["Value"] for a in p.get("LoadBalancerAttributes", [])}
        idle = attrs.pop("idle_timeout.timeout_seconds", None)
        for key in attrs:
            self.arch.skip(f"load balancer {logical} attribute {key}", "not an attribute the lab's load balancers use")
        self.arch.load_balancers.append(
            LoadBalancer(
                id=self._ref(logical),
                name=self.name(logical),
                idle_timeout=common.number(idle) if idle is not None else None,
                security_groups=self._group_ids(p.get("SecurityGroups")),
                tags=common.tags(p.get("Tags")),
            )
        )

    def _target_group(self, logical: str, p: dict[str, Any]) -> None:
        what = f"target group {logical}"
        pairs = [(a["Key"], a["Value"]) for a in p.get("TargetGroupAttributes", [])]
        self.arch.target_groups.append(
            TargetGroup(
                id=self._ref(logical),
                name=self.name(logical),
                port=common.number(p.get("Port", 80)),
                target_type=str(p.get("TargetType", "instance")),
                health_check=common.health_check(p),
                attributes=common.target_group_attributes(pairs, self.arch, what),
                tags=common.tags(p.get("Tags")),
            )
        )

    def _listener(self, logical: str, p: dict[str, Any]) -> None:
        if p.get("Protocol", "HTTP") != "HTTP":
            self.arch.skip(f"listener {logical}", f"{p['Protocol']} served as plain HTTP (the lab has no TLS)")
        forward = [a for a in p.get("DefaultActions", []) if a.get("Type") == "forward"]
        if not forward:
            self.arch.skip(f"listener {logical}", "left out: only forward default actions are translated")
            return
        action = forward[0]
        target = action.get("TargetGroupArn") or action["ForwardConfig"]["TargetGroups"][0]["TargetGroupArn"]
        self.listeners.append((str(p["LoadBalancerArn"]), Listener(common.number(p["Port"]), str(target))))

    def _ecs_cluster(self, logical: str, p: dict[str, Any]) -> None:
        name = self.name(logical)
        self.arch.ecs_clusters[name] = name

    def _task_definition(self, logical: str, p: _Properties) -> None:
        p.touch(k for k in p if k != "Tags")
        body = _camel({k: v for k, v in p.items() if k != "Tags"})
        body["family"] = self.name(logical)
        self.arch.task_definitions.append(body)

    def _service(self, logical: str, p: dict[str, Any]) -> None:
        lbs = p.get("LoadBalancers") or []
        if len(lbs) > 1:
            self.arch.skip(f"ECS service {logical}", "only its first load balancer is translated")
        strategy = p.get("CapacityProviderStrategy") or [{}]
        vpc = (p.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {}
        self.arch.services.append(
            Service(
                name=self.name(logical),
                cluster=str(p.get("Cluster", "default")),
                task_definition=str(p["TaskDefinition"]),
                desired=common.number(p.get("DesiredCount", 1)),
                launch_type=p.get("LaunchType"),
                capacity_provider=strategy[0].get("CapacityProvider"),
                subnets=[str(s) for s in vpc.get("Subnets", [])],
                security_groups=self._group_ids(vpc.get("SecurityGroups")),
                load_balancer=(
                    (
                        str(lbs[0]["TargetGroupArn"]),
                        str(lbs[0]["ContainerName"]),
                        common.number(lbs[0]["ContainerPort"]),
                    )
                    if lbs
                    else None
                ),
                grace=common.number(p["HealthCheckGracePeriodSeconds"])
                if "HealthCheckGracePeriodSeconds" in p
                else None,
                tags=common.tags(p.get("Tags")),
            )
        )

    def _database(self, logical: str, p: dict[str, Any]) -> Database | None:
        engine = str(p.get("Engine", ""))
        if engine not in ("aurora-postgresql", "postgres"):
            self.arch.skip(f"database {logical}", f"engine {engine} is not in the lab (PostgreSQL only)")
            return None
        password = p.get("MasterUserPassword")
        if isinstance(password, str) and password.startswith("{{resolve:"):
            password = None
        return Database(
            cluster=self.name(logical),
            database=str(p.get("DatabaseName") or p.get("DBName") or "postgres"),
            username=str(p.get("MasterUsername", "postgres")),
            password=str(password) if password is not None else None,
            port=common.number(p["Port"]) if "Port" in p else None,
            security_groups=self._group_ids(p.get("VpcSecurityGroupIds")),
            tags=common.tags(p.get("Tags")),
        )

    def _db_cluster(self, logical: str, p: dict[str, Any]) -> None:
        db = self._database(logical, p)
        if db is not None:
            self.arch.databases.append(db)

    def _db_instance(self, logical: str, p: _Properties) -> None:
        if "DBClusterIdentifier" in p:
            p.touch(["Engine"])  # the cluster's, checked there
            self.instances.append(
                (str(p["DBClusterIdentifier"]).lower(), self.name(logical), p.get("AvailabilityZone"))
            )
            return
        db = self._database(logical, p)
        if db is not None:
            db.instances.append((db.cluster, p.get("AvailabilityZone")))
            self.arch.databases.append(db)
            self.arch.skip(f"database {logical}", "a single PostgreSQL instance runs as a cluster with one writer")

    def _role(self, logical: str, p: dict[str, Any]) -> None:
        self.arch.roles.append(
            Role(
                name=self.name(logical),
                trust=p["AssumeRolePolicyDocument"],
                policies={x["PolicyName"]: x["PolicyDocument"] for x in p.get("Policies", [])},
                managed=[str(m) for m in p.get("ManagedPolicyArns", [])],
                tags=common.tags(p.get("Tags")),
            )
        )

    def _policy(self, logical: str, p: dict[str, Any]) -> None:
        if p.get("Users") or p.get("Groups"):
            self.arch.skip(f"policy {logical}", "only its roles are translated (users and groups are not in the lab)")
        self.policies.append(([str(r) for r in p.get("Roles", [])], str(p["PolicyName"]), p["PolicyDocument"]))

    def _managed_policy(self, logical: str, p: dict[str, Any]) -> None:
        name = self.name(logical)
        self.customer_policies[self._ref(logical)] = (name, p["PolicyDocument"])
        self._policy(logical, {**p, "PolicyName": name})

    def _alarm(self, logical: str, p: _Properties) -> None:
        p.touch(common.ALARM_INPUT)
        self.arch.alarms.append(common.alarm({**p, "AlarmName": self.name(logical)}, self.arch))

    def _experiment_template(self, logical: str, p: _Properties) -> None:
        p.touch(p)  # to_api names what it does not know
        body, _, issues = to_api(dict(p), f"Resources.{logical}.Properties")
        for issue in issues:
            self.arch.skip(f"experiment template {logical}", f"{issue.path}: {issue.message}")
        self.arch.experiment_templates[logical] = body
