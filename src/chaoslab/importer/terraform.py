"""`terraform show -json` (a plan's `planned_values` or a state's `values`) into an `Architecture`.

Terraform has already evaluated everything: attributes are plain values and references between
resources are the ids (`id`, `arn`, `name`) the provider recorded, so the readers below only map
`aws_*` attributes onto the model. Modules are walked recursively (`child_modules`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from chaoslab.errors import ChaoslabError
from chaoslab.importer import common, secgroups, tfplan
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

_NETWORK_ONLY = (
    "aws_internet_gateway",
    "aws_nat_gateway",
    "aws_eip",
    "aws_route_table",
    "aws_route",
    "aws_route_table_association",
)
_NOT_NEEDED = ("aws_db_subnet_group", "aws_iam_instance_profile", "aws_cloudwatch_log_group")


def read(path: Path) -> Architecture:
    """Read `terraform show -json` output from `path`."""
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise ChaoslabError(f"cannot read {path}: {exc.strerror}", hint="terraform show -json > plan.json") from None
    except json.JSONDecodeError as exc:
        raise ChaoslabError(
            f"not valid JSON: {exc.msg}",
            path=f"{path}:{exc.lineno}:{exc.colno}",
            hint="give the output of `terraform show -json` (of a plan file or of the state)",
        ) from None
    values = (doc.get("planned_values") or doc.get("values")) if isinstance(doc, dict) else None
    root = (values or {}).get("root_module")
    if not isinstance(root, dict):
        raise ChaoslabError(
            "no planned_values.root_module or values.root_module",
            path=str(path),
            hint="`terraform show -json PLANFILE` or `terraform show -json` (state); HCL is not read",
        )
    if doc.get("planned_values"):
        tfplan.fill(root, doc.get("configuration") or {})
    return _Reader(path.stem, root).read()


def _resources(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _resources(child)


def _first(block: Any) -> dict[str, Any]:
    """Terraform nests a single block as a one-element list."""
    if isinstance(block, list):
        return block[0] if block else {}
    return block or {}


def _policy(document: Any) -> Any:
    return json.loads(document) if isinstance(document, str) else document


class _Reader:
    def __init__(self, stem: str, root: dict[str, Any]) -> None:
        self.root = root
        self.arch = Architecture(name=stem)
        self.subnets: list[tuple[str, Subnet]] = []
        self.listeners: list[tuple[str, Listener]] = []
        self.policies: list[tuple[str, str, Any]] = []  # (role, name, document)
        self.attachments: list[tuple[str, str]] = []
        self.customer_policies: dict[str, tuple[str, Any]] = {}  # ARN (or a plan's address) -> (name, document)
        self.instances: list[tuple[str, str, str | None]] = []
        self.names: dict[str, str] = {}  # a plan's placeholder (an address) -> the resource's name
        self.sg_rules: list[tuple[str, bool, Rule]] = []  # (group id, egress?, rule) of rule resources

    def read(self) -> Architecture:
        readers: dict[str, Callable[[dict[str, Any]], None]] = {
            "aws_vpc": self._vpc,
            "aws_subnet": self._subnet,
            "aws_security_group": self._security_group,
            "aws_security_group_rule": self._rule_resource,
            "aws_vpc_security_group_ingress_rule": lambda v: self._vpc_rule(v, False),
            "aws_vpc_security_group_egress_rule": lambda v: self._vpc_rule(v, True),
            "aws_launch_template": self._launch_template,
            "aws_autoscaling_group": self._group,
            "aws_lb": self._load_balancer,
            "aws_alb": self._load_balancer,
            "aws_lb_target_group": self._target_group,
            "aws_alb_target_group": self._target_group,
            "aws_lb_listener": self._listener,
            "aws_alb_listener": self._listener,
            "aws_ecs_cluster": self._ecs_cluster,
            "aws_ecs_task_definition": self._task_definition,
            "aws_ecs_service": self._service,
            "aws_rds_cluster": self._db_cluster,
            "aws_rds_cluster_instance": self._db_instance,
            "aws_db_instance": self._standalone_db,
            "aws_iam_role": self._role,
            "aws_iam_role_policy": lambda v: self.policies.append((v["role"], v["name"], _policy(v["policy"]))),
            "aws_iam_role_policy_attachment": lambda v: self.attachments.append((v["role"], v["policy_arn"])),
            "aws_iam_policy": self._customer_policy,
            "aws_cloudwatch_metric_alarm": self._alarm,
            "aws_fis_experiment_template": self._experiment_template,
        }
        for res in _resources(self.root):
            kind, what = str(res.get("type")), str(res.get("address"))
            values = res.get("values") or {}
            if values.get("_unknown"):
                unknown = ", ".join(sorted(set(values["_unknown"])))
                self.arch.skip(what, f"{unknown}: known only after apply (import the state after `terraform apply`)")
            if res.get("mode") == "data":
                self.arch.skip(what, "a data source: read by Terraform, nothing to create")
            elif kind in _NETWORK_ONLY:
                self.arch.skip(what, "not needed: a lab VPC has no route off the machine")
            elif kind in _NOT_NEEDED:
                self.arch.skip(what, "not needed by the lab")
            elif kind not in readers:
                self.arch.skip(what, "resource type not in the lab")
            else:
                try:
                    readers[kind]({**values, "_address": what})
                except (KeyError, TypeError, ValueError, IndexError) as exc:
                    self.arch.skip(what, f"left out: a value is missing or unknown until apply ({exc})")
        self._finish()
        return self.arch

    def _finish(self) -> None:
        common.attach_subnets_and_listeners(self.arch, self.subnets, self.listeners, "plan")
        secgroups.attach(self.arch, self.sg_rules, "plan")
        roles = {r.name: r for r in self.arch.roles}
        roles.update({a: roles[n] for a, n in self.names.items() if n in roles})
        for role, pname, document in self.policies:
            if role in roles:
                roles[role].policies[pname] = document
            else:
                self.arch.skip(f"policy {pname}", f"role {role} is not in the plan")
        for role, arn in self.attachments:
            if role in roles:
                roles[role].managed.append(arn)
            else:
                self.arch.skip(f"policy attachment {arn}", f"role {role} is not in the plan")
        common.inline_customer_policies(self.arch, self.customer_policies)
        common.attach_db_instances(self.arch, self.instances, self.names)
        for svc in self.arch.services:
            svc.task_definition = self.names.get(svc.task_definition, svc.task_definition)
        for tmpl in self.arch.experiment_templates.values():
            role = str(tmpl.get("roleArn", ""))
            if role in self.names:
                tmpl["roleArn"] = f"arn:aws:iam::{self.arch.account}:role/{self.names[role]}"
            self._account(role)

    def _account(self, arn: str) -> None:
        parts = arn.split(":")
        if len(parts) > 4 and parts[4].isdigit():
            self.arch.account = parts[4]

    def _vpc(self, v: dict[str, Any]) -> None:
        self.arch.networks.append(Network(id=str(v.get("id") or v["_address"]), cidr=v["cidr_block"]))

    def _subnet(self, v: dict[str, Any]) -> None:
        subnet = Subnet(id=str(v.get("id") or v["_address"]), az=v["availability_zone"], cidr=v["cidr_block"])
        self.subnets.append((str(v["vpc_id"]), subnet))

    def _security_group(self, v: dict[str, Any]) -> None:
        group_id, what = str(v.get("id") or v["_address"]), v["_address"]
        ingress = [r for block in v.get("ingress") or [] for r in self._rules(f"{what} ingress", block, group_id)]
        # Terraform removes AWS's all-traffic egress rule from the groups it makes: only these stay
        egress = [r for block in v.get("egress") or [] for r in self._rules(f"{what} egress", block, group_id)]
        self.arch.security_groups.append(
            SecurityGroup(
                id=group_id,
                name=str(v.get("name") or v["_address"].rsplit(".", 1)[-1]),
                description=str(v.get("description") or ""),
                ingress=ingress,
                egress=egress,
                tags=common.tags(v.get("tags")),
            )
        )

    def _rules(self, what: str, block: dict[str, Any], group_id: str) -> list[Rule]:
        """An `ingress`/`egress` block or an `aws_security_group_rule`'s values."""
        peers = [str(g) for g in block.get("security_groups") or []]
        if block.get("source_security_group_id"):
            peers.append(str(block["source_security_group_id"]))
        if block.get("self"):
            peers.append(group_id)
        return secgroups.rules(
            self.arch,
            what,
            block.get("protocol", "-1"),
            (block.get("from_port"), block.get("to_port")),
            cidrs=block.get("cidr_blocks") or [],
            groups=peers,
            description=block.get("description"),
            untranslatable={
                "IPv6 range": block.get("ipv6_cidr_blocks") or [],
                "prefix list": block.get("prefix_list_ids") or [],
            },
        )

    def _rule_resource(self, v: dict[str, Any]) -> None:
        egress = v["type"] == "egress"
        group_id = str(v["security_group_id"])
        for rule in self._rules(v["_address"], v, group_id):
            self.sg_rules.append((group_id, egress, rule))

    def _vpc_rule(self, v: dict[str, Any], egress: bool) -> None:
        rules = secgroups.rules(
            self.arch,
            v["_address"],
            v.get("ip_protocol", "-1"),
            (v.get("from_port"), v.get("to_port")),
            cidrs=[v["cidr_ipv4"]] if v.get("cidr_ipv4") else [],
            groups=[v["referenced_security_group_id"]] if v.get("referenced_security_group_id") else [],
            description=v.get("description"),
            untranslatable={"IPv6 range": [v.get("cidr_ipv6")], "prefix list": [v.get("prefix_list_id")]},
        )
        self.sg_rules += [(str(v["security_group_id"]), egress, rule) for rule in rules]

    def _launch_template(self, v: dict[str, Any]) -> None:
        groups = [str(g) for g in v.get("vpc_security_group_ids") or []]
        groups += [str(g) for nic in v.get("network_interfaces") or [] for g in nic.get("security_groups") or []]
        self.arch.launch_templates.append(
            LaunchTemplate(
                id=str(v.get("id") or v["name"]),
                name=v["name"],
                image=str(v.get("image_id") or ""),
                instance_type=v.get("instance_type"),
                user_data=common.user_data(v.get("user_data")),
                security_groups=list(dict.fromkeys(groups)),
                tags=common.tags(v.get("tags")),
            )
        )

    def _group(self, v: dict[str, Any]) -> None:
        ref = _first(v.get("launch_template"))
        if not ref:
            self.arch.skip(v["_address"], "left out: only launch templates are translated")
            return
        names = {lt.name: lt.id for lt in self.arch.launch_templates}
        template = ref.get("id") or names.get(ref.get("name", ""), ref.get("name"))
        self.arch.groups.append(
            Group(
                name=v["name"],
                min=int(v["min_size"]),
                max=int(v["max_size"]),
                desired=int(v["desired_capacity"]) if v.get("desired_capacity") is not None else None,
                subnets=[str(s) for s in v.get("vpc_zone_identifier") or []],
                target_groups=[str(t) for t in v.get("target_group_arns") or []],
                launch_template=str(template),
                version=str(ref["version"]) if ref.get("version") else None,
                health_check_type=v.get("health_check_type"),
                grace=int(v["health_check_grace_period"]) if v.get("health_check_grace_period") is not None else None,
                tags={t["key"]: str(t["value"]) for t in v.get("tag") or []},
            )
        )

    def _load_balancer(self, v: dict[str, Any]) -> None:
        if v.get("load_balancer_type", "application") != "application":
            self.arch.skip(v["_address"], f"type {v['load_balancer_type']} is not in the lab (application only)")
            return
        self.arch.load_balancers.append(
            LoadBalancer(
                id=str(v.get("arn") or v.get("id") or v["name"]),
                name=v["name"],
                idle_timeout=int(v["idle_timeout"]) if v.get("idle_timeout") else None,
                security_groups=[str(g) for g in v.get("security_groups") or []],
                tags=common.tags(v.get("tags")),
            )
        )

    def _target_group(self, v: dict[str, Any]) -> None:
        hc = _first(v.get("health_check"))
        fields = {
            "HealthCheckPath": hc.get("path"),
            "HealthCheckPort": hc.get("port"),
            "HealthCheckIntervalSeconds": hc.get("interval"),
            "HealthCheckTimeoutSeconds": hc.get("timeout"),
            "HealthyThresholdCount": hc.get("healthy_threshold"),
            "UnhealthyThresholdCount": hc.get("unhealthy_threshold"),
            "Matcher": {"HttpCode": hc.get("matcher")},
        }
        pairs = []
        if v.get("deregistration_delay") is not None:
            pairs.append(("deregistration_delay.timeout_seconds", v["deregistration_delay"]))
        self.arch.target_groups.append(
            TargetGroup(
                id=str(v.get("arn") or v.get("id") or v["name"]),
                name=v["name"],
                port=int(v.get("port") or 80),
                target_type=str(v.get("target_type") or "instance"),
                health_check=common.health_check(fields),
                attributes=common.target_group_attributes(pairs, self.arch, v["_address"]),
                tags=common.tags(v.get("tags")),
            )
        )

    def _listener(self, v: dict[str, Any]) -> None:
        if (v.get("protocol") or "HTTP") != "HTTP":
            self.arch.skip(v["_address"], f"{v['protocol']} served as plain HTTP (the lab has no TLS)")
        action = _first(v.get("default_action"))
        if action.get("type") != "forward":
            self.arch.skip(v["_address"], "left out: only forward default actions are translated")
            return
        target = action.get("target_group_arn") or _first(_first(action.get("forward")).get("target_group"))["arn"]
        self.listeners.append((str(v["load_balancer_arn"]), Listener(int(v["port"]), str(target))))

    def _ecs_cluster(self, v: dict[str, Any]) -> None:
        self.arch.ecs_clusters[str(v.get("arn") or v.get("id") or v["name"])] = v["name"]

    def _task_definition(self, v: dict[str, Any]) -> None:
        self.names[v["_address"]] = v["family"]
        body: dict[str, Any] = {"family": v["family"], "containerDefinitions": _policy(v["container_definitions"])}
        for api, tf in (
            ("cpu", "cpu"),
            ("memory", "memory"),
            ("networkMode", "network_mode"),
            ("requiresCompatibilities", "requires_compatibilities"),
            ("executionRoleArn", "execution_role_arn"),
            ("taskRoleArn", "task_role_arn"),
        ):
            if v.get(tf):
                body[api] = sorted(v[tf]) if isinstance(v[tf], list) else v[tf]
        self.arch.task_definitions.append(body)

    def _service(self, v: dict[str, Any]) -> None:
        lb = _first(v.get("load_balancer"))
        strategy = _first(v.get("capacity_provider_strategy"))
        self.arch.services.append(
            Service(
                name=v["name"],
                cluster=str(v["cluster"]),
                task_definition=str(v["task_definition"]),
                desired=int(v.get("desired_count") or 0),
                launch_type=v.get("launch_type"),
                capacity_provider=strategy.get("capacity_provider"),
                subnets=[str(s) for s in _first(v.get("network_configuration")).get("subnets") or []],
                security_groups=[str(g) for g in _first(v.get("network_configuration")).get("security_groups") or []],
                load_balancer=(str(lb["target_group_arn"]), lb["container_name"], int(lb["container_port"]))
                if lb
                else None,
                grace=int(v["health_check_grace_period_seconds"])
                if v.get("health_check_grace_period_seconds")
                else None,
                tags=common.tags(v.get("tags")),
            )
        )

    def _db_cluster(self, v: dict[str, Any]) -> None:
        if v.get("engine") != "aurora-postgresql":
            self.arch.skip(v["_address"], f"engine {v.get('engine')} is not in the lab (PostgreSQL only)")
            return
        self.names[v["_address"]] = v["cluster_identifier"]
        self.arch.databases.append(
            Database(
                cluster=v["cluster_identifier"],
                database=str(v.get("database_name") or "postgres"),
                username=str(v.get("master_username") or "postgres"),
                password=v.get("master_password"),
                port=int(v["port"]) if v.get("port") else None,
                security_groups=[str(g) for g in v.get("vpc_security_group_ids") or []],
                tags=common.tags(v.get("tags")),
            )
        )

    def _db_instance(self, v: dict[str, Any]) -> None:
        self.instances.append((v["cluster_identifier"], v["identifier"], v.get("availability_zone")))

    def _standalone_db(self, v: dict[str, Any]) -> None:
        if v.get("engine") != "postgres":
            self.arch.skip(v["_address"], f"engine {v.get('engine')} is not in the lab (PostgreSQL only)")
            return
        self.names[v["_address"]] = v["identifier"]
        self.arch.databases.append(
            Database(
                cluster=v["identifier"],
                database=str(v.get("db_name") or "postgres"),
                username=str(v.get("username") or "postgres"),
                password=v.get("password"),
                port=int(v["port"]) if v.get("port") else None,
                security_groups=[str(g) for g in v.get("vpc_security_group_ids") or []],
                instances=[(v["identifier"], v.get("availability_zone"))],
                tags=common.tags(v.get("tags")),
            )
        )
        self.arch.skip(v["_address"], "a single PostgreSQL instance runs as a cluster with one writer")

    def _role(self, v: dict[str, Any]) -> None:
        self.names[v["_address"]] = v["name"]
        inline = {p["name"]: _policy(p["policy"]) for p in v.get("inline_policy") or [] if p.get("name")}
        self.arch.roles.append(
            Role(
                name=v["name"],
                trust=_policy(v["assume_role_policy"]),
                policies=inline,
                managed=[str(m) for m in v.get("managed_policy_arns") or []],
                tags=common.tags(v.get("tags")),
            )
        )

    def _customer_policy(self, v: dict[str, Any]) -> None:
        for key in {v.get("arn"), v.get("id"), v["_address"]} - {None}:
            self.customer_policies[str(key)] = (v["name"], _policy(v["policy"]))

    def _alarm(self, v: dict[str, Any]) -> None:
        fields = {
            "AlarmName": v["alarm_name"],
            "AlarmDescription": v.get("alarm_description") or None,
            "Namespace": v.get("namespace"),
            "MetricName": v.get("metric_name"),
            "Dimensions": [{"Name": k, "Value": str(x)} for k, x in (v.get("dimensions") or {}).items()] or None,
            "Statistic": v.get("statistic") or None,
            "ExtendedStatistic": v.get("extended_statistic") or None,
            "Period": v.get("period"),
            "EvaluationPeriods": v.get("evaluation_periods"),
            "DatapointsToAlarm": v.get("datapoints_to_alarm") or None,
            "Threshold": v.get("threshold"),
            "ComparisonOperator": v.get("comparison_operator"),
            "TreatMissingData": v.get("treat_missing_data") or None,
            "AlarmActions": v.get("alarm_actions"),
            "OKActions": v.get("ok_actions"),
            "InsufficientDataActions": v.get("insufficient_data_actions"),
        }
        self.arch.alarms.append(common.alarm(fields, self.arch))

    def _experiment_template(self, v: dict[str, Any]) -> None:
        targets = {}
        for t in v.get("target") or []:
            target: dict[str, Any] = {"resourceType": t["resource_type"], "selectionMode": t["selection_mode"]}
            if t.get("resource_arns"):
                target["resourceArns"] = list(t["resource_arns"])
            if t.get("resource_tag"):
                target["resourceTags"] = {x["key"]: x["value"] for x in t["resource_tag"]}
            if t.get("filter"):
                target["filters"] = [{"path": f["path"], "values": list(f["values"])} for f in t["filter"]]
            if t.get("parameters"):
                target["parameters"] = dict(t["parameters"])
            targets[t["name"]] = target
        actions = {}
        for a in v.get("action") or []:
            action: dict[str, Any] = {"actionId": a["action_id"]}
            if a.get("description"):
                action["description"] = a["description"]
            if a.get("parameter"):
                action["parameters"] = {p["key"]: p["value"] for p in a["parameter"]}
            if a.get("target"):
                action["targets"] = {x["key"]: x["value"] for x in a["target"]}
            if a.get("start_after"):
                action["startAfter"] = list(a["start_after"])
            actions[a["name"]] = action
        body: dict[str, Any] = {
            "description": v.get("description") or "",
            "roleArn": v["role_arn"],
            "targets": targets,
            "actions": actions,
            "stopConditions": [
                {k: s[k] for k in ("source", "value") if s.get(k)} for s in v.get("stop_condition") or []
            ],
        }
        if v.get("tags"):
            body["tags"] = dict(v["tags"])
        stem = v["_address"].replace("aws_fis_experiment_template.", "").replace("module.", "")
        self.arch.experiment_templates[stem] = body
