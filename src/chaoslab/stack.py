"""Stack files (YAML): a whole architecture in one document. `load_stack` validates it (every
error names its path, what is allowed and a fix) before anything starts; `apply_stack` turns it
into the same backend calls the AWS API makes, so a resource from a stack is as real as one from
`aws ecs create-service`. The format is documented in docs/stacks.md."""

from __future__ import annotations

import asyncio
import copy
import importlib.resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from chaoslab import stack_discovery, stack_groups
from chaoslab.errors import AwsError, ChaoslabError
from chaoslab.timing import AWS as AWS_DELAYS
from chaoslab.types import LabLike

_HEALTH_CHECK = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "path": {"type": "string", "pattern": "^/"},
        "port": {"type": ["string", "integer"]},
        "interval": {"type": "integer", "minimum": 1, "maximum": 300},
        "timeout": {"type": "integer", "minimum": 1, "maximum": 120},
        "healthy_threshold": {"type": "integer", "minimum": 2, "maximum": 10},
        "unhealthy_threshold": {"type": "integer", "minimum": 2, "maximum": 10},
        "matcher": {"type": "string"},
    },
}
_TAGS = {"type": "object", "additionalProperties": {"type": "string"}}
_ENV = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}
_NAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9-]{0,31}$"}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": _NAME,
        "description": {"type": "string"},
        "settings": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "asg_health_sweep_seconds": {"type": "number", "minimum": 0.5},
                "instance_shutdown_seconds": {"type": "number", "minimum": 0},
                "alarm_evaluation": {"enum": ["aws", "fast"]},
            },
        },
        "timing": {  # single delays of the timing profile, in scenario seconds (docs/timing.md)
            "type": "object",
            "additionalProperties": False,
            "properties": {name: {"type": "number", "minimum": 0} for name in AWS_DELAYS},
        },
        "vpc": {
            "type": "object",
            "additionalProperties": False,
            "required": ["cidr", "subnets"],
            "properties": {
                "cidr": {"type": "string"},
                "subnets": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}},
            },
        },
        "database": {
            "type": "object",
            "additionalProperties": False,
            "required": ["cluster", "database", "username", "password"],
            "properties": {
                "cluster": _NAME,
                "engine": {"enum": ["aurora-postgresql"]},
                "database": {"type": "string"},
                "username": {"type": "string"},
                "password": {"type": "string", "minLength": 8},
                "port": {"type": "integer"},
                "security_groups": stack_groups.REFS,
                "instances": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 2,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["id", "az"],
                        "properties": {"id": _NAME, "az": {"type": "string"}},
                    },
                },
                "tags": _TAGS,
            },
        },
        "target_groups": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "port"],
                "properties": {
                    "name": _NAME,
                    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                    "target_type": {"enum": ["instance", "ip"]},
                    "health_check": _HEALTH_CHECK,
                    "attributes": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
                    "tags": _TAGS,
                },
            },
        },
        "load_balancers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "listeners"],
                "properties": {
                    "name": _NAME,
                    "listeners": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["port", "target_group"],
                            "properties": {
                                "port": {"type": "integer", "minimum": 0, "maximum": 65535},
                                "target_group": {"type": "string"},
                            },
                        },
                    },
                    "idle_timeout": {"type": "integer", "minimum": 1, "maximum": 4000},
                    "security_groups": stack_groups.REFS,
                    "tags": _TAGS,
                },
            },
        },
        "launch_templates": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "image"],
                "properties": {
                    "name": {"type": "string", "pattern": "^[a-zA-Z0-9().\\-/_]{3,128}$"},
                    "image": {"type": "string"},
                    "instance_type": {"type": "string"},
                    "user_data": {"type": "string"},
                    "security_groups": stack_groups.REFS,
                    "tags": _TAGS,
                },
            },
        },
        "auto_scaling_groups": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "min", "max"],
                "properties": {
                    "name": _NAME,
                    "image": {"type": "string"},
                    "launch_template": {
                        "oneOf": [
                            {"type": "string"},
                            {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["name"],
                                "properties": {"name": {"type": "string"}, "version": {"type": ["string", "integer"]}},
                            },
                        ]
                    },
                    "port": {"type": "integer"},
                    "environment": _ENV,
                    "database": {"type": "string"},
                    "min": {"type": "integer", "minimum": 0},
                    "max": {"type": "integer", "minimum": 1},
                    "desired": {"type": "integer", "minimum": 0},
                    "azs": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "target_groups": {"type": "array", "items": {"type": "string"}},
                    "health_check_type": {"enum": ["EC2", "ELB"]},
                    "health_check_grace_period": {"type": "integer", "minimum": 0},
                    "instance_type": {"type": "string"},
                    "security_groups": stack_groups.REFS,
                    "tags": _TAGS,
                },
            },
        },
        "ecs": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "clusters": {"type": "array", "items": {"type": "string"}},
                "task_definitions": {
                    "type": "array",
                    "items": {"type": "object", "required": ["family", "containerDefinitions"]},
                },
                "services": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name", "cluster", "task_definition", "desired_count"],
                        "properties": {
                            "name": {"type": "string"},
                            "cluster": {"type": "string"},
                            "task_definition": {"type": "string"},
                            "desired_count": {"type": "integer", "minimum": 0},
                            "launch_type": {"enum": ["FARGATE", "EC2"]},
                            "capacity_provider": {"enum": ["FARGATE", "FARGATE_SPOT"]},
                            "azs": {"type": "array", "items": {"type": "string"}},
                            "database": {"type": "string"},
                            "load_balancer": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["target_group", "container_name", "container_port"],
                                "properties": {
                                    "target_group": {"type": "string"},
                                    "container_name": {"type": "string"},
                                    "container_port": {"type": "integer"},
                                },
                            },
                            "health_check_grace_period": {"type": "integer", "minimum": 0},
                            "security_groups": stack_groups.REFS,
                            "service_registry": stack_discovery.REGISTRY,
                            "tags": _TAGS,
                        },
                    },
                },
            },
        },
        "alb": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"workers": {"type": "integer", "minimum": 1, "maximum": 64}},
        },
        "iam": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"enforce": {"type": "boolean"}},
        },
        "roles": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "trust"],
                "properties": {
                    "name": {"type": "string"},
                    "trust": {"type": ["object", "string"]},
                    "policies": {"type": "object", "additionalProperties": {"type": ["object", "string"]}},
                    "managed_policies": {"type": "array", "items": {"type": "string"}},
                    "tags": _TAGS,
                },
            },
        },
        "alarms": {"type": "array", "items": {"type": "object", "required": ["AlarmName"]}},
        "application_autoscaling": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "scalable_targets": {
                    "type": "array",
                    "items": {"type": "object", "required": ["ResourceId", "MinCapacity", "MaxCapacity"]},
                },
                "scaling_policies": {
                    "type": "array",
                    "items": {"type": "object", "required": ["PolicyName", "ResourceId", "PolicyType"]},
                },
            },
        },
        "security_groups": stack_groups.SCHEMA,
        "service_discovery": stack_discovery.SCHEMA,
    },
}

_DB_TASK = "chaoslab-stack-database"

_HINTS = {
    "additionalProperties": "remove the key or check its spelling against docs/stacks.md",
    "required": "add the missing key (docs/stacks.md lists what each section needs)",
    "enum": "use one of the allowed values",
    "pattern": "names are 1-32 letters, digits and hyphens, starting with a letter or digit",
}


def bundled_stacks() -> dict[str, Path]:
    """Stack files shipped in the package, by name (`default`, `pet-payment`, …)."""
    root = importlib.resources.files("chaoslab") / "stacks"
    return {Path(str(p)).stem: Path(str(p)) for p in root.iterdir() if str(p).endswith(".yaml")}


def resolve_stack_path(ref: str | None) -> Path:
    """A path, or the name of a bundled stack; none = the default (seed 003's Chaos Shop)."""
    ref = ref or "default"
    path = Path(ref)
    if path.suffix in (".yaml", ".yml", ".json") or path.exists():
        if not path.exists():
            raise ChaoslabError(
                f"stack file {ref} does not exist", hint=f"bundled stacks: {', '.join(sorted(bundled_stacks()))}"
            )
        return path
    stacks = bundled_stacks()
    if ref not in stacks:
        raise ChaoslabError(
            f"unknown stack {ref!r}", hint=f"bundled stacks: {', '.join(sorted(stacks))}, or a path to a .yaml file"
        )
    return stacks[ref]


def load_stack(ref: str | Path | None) -> dict[str, Any]:
    path = resolve_stack_path(str(ref) if ref is not None else None)
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ChaoslabError(f"{path}: not valid YAML: {exc}") from None
    validate_stack(doc, str(path))
    return doc


def validate_stack(doc: Any, source: str = "stack") -> None:
    """Schema first, then cross-references; the first problem is raised with its path."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
        message = err.message
        if err.validator == "enum":
            message = f"{err.instance!r} is not allowed; allowed values: {', '.join(map(str, err.validator_value))}"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        hint = _HINTS.get(str(err.validator))
        if path == "$.timing" and err.validator == "additionalProperties":
            hint = f"allowed delays: {', '.join(sorted(AWS_DELAYS))} (docs/timing.md)"
        raise ChaoslabError(message + more, path=f"{source}: {path}", hint=hint)
    _check_references(doc, source)


def _check_references(doc: dict[str, Any], source: str) -> None:
    tgs = {tg["name"] for tg in doc.get("target_groups", [])}
    azs = set((doc.get("vpc") or {}).get("subnets", {}))
    db = (doc.get("database") or {}).get("cluster")
    families = {td["family"] for td in (doc.get("ecs") or {}).get("task_definitions", [])}
    clusters = set((doc.get("ecs") or {}).get("clusters", []))

    def fail(path: str, message: str, hint: str) -> None:
        raise ChaoslabError(message, path=f"{source}: {path}", hint=hint)

    for i, lb in enumerate(doc.get("load_balancers", [])):
        for j, ln in enumerate(lb["listeners"]):
            if ln["target_group"] not in tgs:
                fail(
                    f"$.load_balancers[{i}].listeners[{j}].target_group",
                    f"unknown target group {ln['target_group']!r}",
                    f"defined target groups: {', '.join(sorted(tgs)) or 'none'}",
                )
    templates = {lt["name"] for lt in doc.get("launch_templates", [])}
    for i, g in enumerate(doc.get("auto_scaling_groups", [])):
        if ("image" in g) == ("launch_template" in g):
            fail(
                f"$.auto_scaling_groups[{i}]",
                "a group needs exactly one of image and launch_template",
                "image: chaoslab/<app> runs a bundled app; launch_template: <name> runs a template's user data",
            )
        lt_ref = g.get("launch_template")
        lt_name = lt_ref if isinstance(lt_ref, str) else (lt_ref or {}).get("name")
        if lt_name is not None and lt_name not in templates:
            fail(
                f"$.auto_scaling_groups[{i}].launch_template",
                f"unknown launch template {lt_name!r}",
                f"defined launch templates: {', '.join(sorted(templates)) or 'none'}",
            )
        for az in g.get("azs", []):
            if az not in azs:
                fail(
                    f"$.auto_scaling_groups[{i}].azs",
                    f"no subnet in {az}",
                    f"the VPC has subnets in: {', '.join(sorted(azs))}",
                )
        for tg in g.get("target_groups", []):
            if tg not in tgs:
                fail(
                    f"$.auto_scaling_groups[{i}].target_groups",
                    f"unknown target group {tg!r}",
                    f"defined target groups: {', '.join(sorted(tgs)) or 'none'}",
                )
        if g.get("database") and g["database"] != db:
            fail(
                f"$.auto_scaling_groups[{i}].database",
                f"unknown database {g['database']!r}",
                f"the stack's database is {db!r}",
            )
        desired = g.get("desired", g["min"])
        if not g["min"] <= desired <= g["max"]:
            fail(
                f"$.auto_scaling_groups[{i}]",
                f"desired ({desired}) must be between min ({g['min']}) and max ({g['max']})",
                "adjust min, max or desired",
            )
    for i, svc in enumerate((doc.get("ecs") or {}).get("services", [])):
        if svc["task_definition"].split(":")[0] not in families:
            fail(
                f"$.ecs.services[{i}].task_definition",
                f"unknown task definition {svc['task_definition']!r}",
                f"defined families: {', '.join(sorted(families)) or 'none'}",
            )
        if svc["cluster"] not in clusters:
            fail(f"$.ecs.services[{i}].cluster", f"unknown cluster {svc['cluster']!r}", "list it under ecs.clusters")
        lb = svc.get("load_balancer")
        if lb and lb["target_group"] not in tgs:
            fail(
                f"$.ecs.services[{i}].load_balancer.target_group",
                f"unknown target group {lb['target_group']!r}",
                f"defined target groups: {', '.join(sorted(tgs)) or 'none'}",
            )
        if svc.get("database") and svc["database"] != db:
            fail(
                f"$.ecs.services[{i}].database",
                f"unknown database {svc['database']!r}",
                f"the stack's database is {db!r}",
            )
    if (doc.get("auto_scaling_groups") or (doc.get("ecs") or {}).get("services")) and not doc.get("vpc"):
        fail("$.vpc", "compute needs a VPC", "add vpc: {cidr: 10.0.0.0/16, subnets: {us-east-1a: 10.0.10.0/24}}")
    if doc.get("security_groups") and not doc.get("vpc"):
        fail("$.vpc", "security groups need a VPC", "add vpc: {cidr: 10.0.0.0/16, subnets: {us-east-1a: 10.0.10.0/24}}")
    for i, g in enumerate(doc.get("auto_scaling_groups", [])):
        if g.get("launch_template") and g.get("security_groups"):
            fail(
                f"$.auto_scaling_groups[{i}].security_groups",
                "a group launching from a launch template takes the template's security groups",
                "move security_groups to the launch template",
            )
    stack_groups.check(doc, fail)
    stack_discovery.check(doc, fail)


async def apply_stack(lab: LabLike, doc: dict[str, Any], *, fast: bool = False, progress: Any = None) -> None:
    """Build the stack through the backends. `fast` shortens health checks and sweeps for CI."""
    say = progress or (lambda message: None)
    doc = copy.deepcopy(doc)
    settings = doc.get("settings", {})
    if fast:
        _make_fast(doc, settings)
    lab.stack_name = doc["name"]
    if "instance_shutdown_seconds" in settings:
        lab.ec2.shutdown_seconds = float(settings["instance_shutdown_seconds"])
    try:
        await _apply(lab, doc, settings, say)
    except AwsError as exc:
        await _cancel_background(lab)
        raise ChaoslabError(f"building stack {doc['name']!r} failed: {exc.code}: {exc.message}") from None
    except BaseException:  # any other failure, or a stop mid-build: the readers may still be cloning
        await _cancel_background(lab)
        raise


async def _cancel_background(lab: LabLike) -> None:
    """A failed or stopped build must not leave its database start running unobserved."""
    for task in [t for t in asyncio.all_tasks() if t.get_name() == _DB_TASK]:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _make_fast(doc: dict[str, Any], settings: dict[str, Any]) -> None:
    for tg in doc.get("target_groups", []):
        hc = tg.setdefault("health_check", {})
        hc.update(interval=1, timeout=1, healthy_threshold=2, unhealthy_threshold=2)
        tg.setdefault("attributes", {})["deregistration_delay.timeout_seconds"] = 2
    for g in doc.get("auto_scaling_groups", []):
        g["health_check_grace_period"] = min(g.get("health_check_grace_period", 0), 5)
    settings["asg_health_sweep_seconds"] = 2
    settings.setdefault("instance_shutdown_seconds", 1)
    lab_settings = doc.setdefault("settings", settings)
    lab_settings.update(settings)


async def _apply(lab: LabLike, doc: dict[str, Any], settings: dict[str, Any], say: Any) -> None:
    vpc = None
    if doc.get("vpc"):
        say(f"network: VPC {doc['vpc']['cidr']}")
        vpc = await lab.ec2.create_vpc(doc["vpc"]["cidr"], doc["vpc"]["subnets"], {"Name": doc["name"]})
    sg_ids = stack_groups.create(lab, doc, vpc.vpc_id) if vpc is not None else {}
    for role in doc.get("roles", []):
        _ensure_role(lab, role)
    db_env: dict[str, str] = {}
    db_task = writer_up = None
    if doc.get("database"):
        writer_up, db_task = _start_database(lab, doc["database"], vpc, stack_groups.ids_of(doc["database"], sg_ids))
        say(f"database: {doc['database']['cluster']} (writer + reader, real PostgreSQL)")
    tg_arns = {}
    for tg in doc.get("target_groups", []):
        hc = tg.get("health_check", {})
        params = {
            "Name": tg["name"],
            "Protocol": "HTTP",
            "Port": tg["port"],
            "VpcId": vpc.vpc_id if vpc else None,
            "TargetType": tg.get("target_type", "instance"),
            "HealthCheckPath": hc.get("path", "/"),
            "HealthCheckPort": str(hc.get("port", "traffic-port")),
            "HealthCheckIntervalSeconds": hc.get("interval", 30),
            "HealthCheckTimeoutSeconds": hc.get("timeout", 5),
            "HealthyThresholdCount": hc.get("healthy_threshold", 5),
            "UnhealthyThresholdCount": hc.get("unhealthy_threshold", 2),
            "Matcher": {"HttpCode": hc.get("matcher", "200")},
            "Tags": [{"Key": k, "Value": v} for k, v in tg.get("tags", {}).items()],
        }
        arn = lab.elbv2.create_target_group(**{k: v for k, v in params.items() if v is not None})["TargetGroups"][0][
            "TargetGroupArn"
        ]
        if tg.get("attributes"):
            lab.elbv2.modify_target_group_attributes(
                TargetGroupArn=arn, Attributes=[{"Key": k, "Value": str(v)} for k, v in tg["attributes"].items()]
            )
        tg_arns[tg["name"]] = arn
    for lb in doc.get("load_balancers", []):
        subnets = [s.subnet_id for s in vpc.subnets.values()] if vpc else []
        lb_arn = lab.elbv2.create_load_balancer(
            Name=lb["name"],
            Subnets=subnets,
            SecurityGroups=stack_groups.ids_of(lb, sg_ids),
            Tags=[{"Key": k, "Value": v} for k, v in lb.get("tags", {}).items()],
        )["LoadBalancers"][0]["LoadBalancerArn"]
        if lb.get("idle_timeout"):
            lab.elbv2.modify_load_balancer_attributes(
                LoadBalancerArn=lb_arn,
                Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": str(lb["idle_timeout"])}],
            )
        for ln in lb["listeners"]:
            await lab.elbv2.create_listener(
                LoadBalancerArn=lb_arn,
                Protocol="HTTP",
                Port=ln["port"],
                DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arns[ln["target_group"]]}],
            )
            say(f"load balancer: {lb['name']} listening on port {ln['port']}")
    if writer_up is not None and db_task is not None:
        # Apps need the writer only; the readers keep cloning while the compute starts.
        await asyncio.wait({writer_up, db_task}, return_when=asyncio.FIRST_COMPLETED)
        if not writer_up.done():
            await db_task  # it ended before the writer came up: its error, else the writer's absence
        db_env = _database_env(lab, doc["database"], vpc)
    for alarm in doc.get("alarms", []):
        lab.cloudwatch.put_metric_alarm(_resolve_alarm(lab, alarm, tg_arns))
    for lt in doc.get("launch_templates", []):
        _create_launch_template(lab, lt["name"], lt, lt.get("tags"), stack_groups.ids_of(lt, sg_ids))
    compute = []
    for g in doc.get("auto_scaling_groups", []):
        compute.append(_create_group(lab, g, vpc, tg_arns, db_env, settings, stack_groups.ids_of(g, sg_ids)))
    registries = await stack_discovery.create(lab, doc, vpc.vpc_id) if vpc is not None else {}
    ecs = doc.get("ecs") or {}
    for cluster in ecs.get("clusters", []):
        lab.ecs.create_cluster(cluster)
    for td in ecs.get("task_definitions", []):
        lab.ecs.task_definitions.register(td)
    for svc in ecs.get("services", []):
        registry = stack_discovery.registries_of(svc, registries)
        _create_service(lab, svc, vpc, tg_arns, db_env, stack_groups.ids_of(svc, sg_ids), registry)
    _apply_scaling(lab, doc.get("application_autoscaling") or {})
    if compute:
        say("compute: launching instances")
        await asyncio.gather(*compute)
    if db_task is not None:
        await db_task  # ready includes every database instance the stack names


def _ensure_role(lab: LabLike, role: dict[str, Any]) -> None:
    """IAM outlives a lab run (it is the account's): create the role or bring it up to date."""
    try:
        lab.iam.get_role(role["name"])
        lab.iam.update_assume_role_policy(role["name"], role["trust"])
    except AwsError as exc:
        if exc.code != "NoSuchEntity":
            raise
        lab.iam.create_role(role["name"], role["trust"], tags=role.get("tags"))
    for pname, policy in role.get("policies", {}).items():
        lab.iam.put_role_policy(role["name"], pname, policy)
    for arn in role.get("managed_policies", []):
        lab.iam.attach_role_policy(role["name"], arn)


def _start_database(
    lab: LabLike, db: dict[str, Any], vpc: Any, groups: list[str]
) -> tuple[asyncio.Future[None], asyncio.Future[None]]:
    """Open the cluster endpoints where units can reach them; start the postmasters in the
    background while the rest of the stack is built. Returns (the writer is available, the
    whole cluster is): apps need only the first, readers are cloned meanwhile."""
    writer_up: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    hosts = ["127.0.0.1"]
    if vpc is not None and vpc.network.service_ip not in hosts:
        hosts.insert(0, vpc.network.service_ip)
    lab.rds.bind_hosts = hosts

    async def build() -> None:
        await lab.rds.create_db_cluster(
            DBClusterIdentifier=db["cluster"],
            Engine=db.get("engine", "aurora-postgresql"),
            MasterUsername=db["username"],
            MasterUserPassword=db["password"],
            DatabaseName=db["database"],
            Port=db.get("port", 5432),
            Tags=[{"Key": k, "Value": v} for k, v in db.get("tags", {}).items()],
            VpcSecurityGroupIds=groups,
        )
        instances = db.get("instances") or [
            {"id": f"{db['cluster']}-1", "az": next(iter(vpc.subnets.values())).az if vpc else "us-east-1a"}
        ]
        for inst in instances:
            await lab.rds.create_db_instance(
                DBInstanceIdentifier=inst["id"],
                DBClusterIdentifier=db["cluster"],
                AvailabilityZone=inst["az"],
                Engine="aurora-postgresql",
            )
            if not writer_up.done():
                writer_up.set_result(None)

    task = asyncio.ensure_future(build())
    task.set_name(_DB_TASK)
    return writer_up, task


def _database_env(lab: LabLike, db: dict[str, Any], vpc: Any) -> dict[str, str]:
    """Seed 003's DB_* variables. In netns mode DB_ENDPOINT is the cluster's DNS name, which
    resolves inside every unit (its /etc/hosts) to the address the writer endpoint listens on."""
    cluster = lab.rds.clusters[db["cluster"].lower()]
    endpoint = cluster.endpoint_ip
    if vpc is not None and vpc.network.mode == "netns":
        lab.ec2.extra_hosts[cluster.endpoint_host] = cluster.endpoint_ip
        lab.ec2.extra_hosts[cluster.reader_endpoint_host] = cluster.reader_endpoint_ip
        endpoint = cluster.endpoint_host
    return {
        "DB_ENDPOINT": endpoint,
        "DB_PORT": str(cluster.endpoint_port),
        "DB_NAME": db["database"],
        "DB_USERNAME": db["username"],
        "DB_PASSWORD": db["password"],
    }


def _resolve_alarm(lab: LabLike, alarm: dict[str, Any], tg_arns: dict[str, str]) -> dict[str, Any]:
    """Dimension values may name stack resources: `TargetGroup: chaos-lab-tg` becomes the ARN suffix."""
    alarm = copy.deepcopy(alarm)
    for dim in alarm.get("Dimensions", []):
        if dim["Name"] == "TargetGroup" and dim["Value"] in tg_arns:
            dim["Value"] = tg_arns[dim["Value"]].split(":", 5)[5]
        if dim["Name"] == "LoadBalancer" and not dim["Value"].startswith("app/"):
            for lb in lab.elbv2.describe_load_balancers()["LoadBalancers"]:
                if lb["LoadBalancerName"] == dim["Value"]:
                    dim["Value"] = lb["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    return alarm


async def _create_group(
    lab: LabLike,
    g: dict[str, Any],
    vpc: Any,
    tg_arns: dict[str, str],
    db_env: dict[str, str],
    settings: dict[str, Any],
    groups: list[str],
) -> None:
    from chaoslab.services.autoscaling.backend import DEFAULT_SWEEP_SECONDS, GroupTemplate

    env = {k: str(v) for k, v in g.get("environment", {}).items()}
    if g.get("database"):
        env = {**db_env, **env}
    ref = g.get("launch_template")
    if ref is None:  # `image:` is a template of its own, named after the group
        ref = f"{g['name']}-lt"
        _create_launch_template(lab, ref, g, None, groups)
    if isinstance(ref, str):  # an image's own template says $Latest, as groups described before templates existed
        name, version = ref, "$Latest" if g.get("image") else "$Default"
    else:
        name, version = ref["name"], str(ref.get("version", "$Default"))
    template = GroupTemplate(name, version, g.get("port", 80), env)
    lab.autoscaling.template_defaults[name] = template
    azs = g.get("azs") or [s.az for s in vpc.subnets.values()]
    subnets = [vpc.subnet_in(az) for az in azs]
    await lab.autoscaling.create_group(
        g["name"],
        template,
        subnets,
        min_size=g["min"],
        max_size=g["max"],
        desired=g.get("desired"),
        target_group_arns=[tg_arns[t] for t in g.get("target_groups", [])],
        health_check_type=g.get("health_check_type", "EC2"),
        grace=g.get("health_check_grace_period", 300),
        tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in g.get("tags", {}).items()],
        sweep_seconds=float(settings.get("asg_health_sweep_seconds", DEFAULT_SWEEP_SECONDS)),
    )


def _create_launch_template(
    lab: LabLike, name: str, spec: dict[str, Any], tags: dict[str, str] | None, groups: list[str]
) -> None:
    """An EC2 launch template from a stack entry (`image`, `instance_type`, `user_data` as plain
    text, security group ids)."""
    from chaoslab.services.ec2.userdata import encode_user_data

    data: dict[str, Any] = {"ImageId": spec["image"], "InstanceType": spec.get("instance_type", "t3.micro")}
    if spec.get("user_data"):
        data["UserData"] = encode_user_data(spec["user_data"])
    if groups:
        data["SecurityGroupIds"] = groups
    lab.ec2.launch_templates.create(name, data, tags=tags)


def _create_service(
    lab: LabLike,
    svc: dict[str, Any],
    vpc: Any,
    tg_arns: dict[str, str],
    db_env: dict[str, str],
    groups: list[str],
    registries: list[dict[str, Any]],
) -> None:
    if svc.get("database"):
        td = lab.ecs.task_definitions.get(svc["task_definition"])
        for c in td["containerDefinitions"]:
            names = {e["name"] for e in c["environment"]}
            c["environment"].extend({"name": k, "value": v} for k, v in db_env.items() if k not in names)
    lbs = []
    if svc.get("load_balancer"):
        lb = svc["load_balancer"]
        lbs.append(
            {
                "targetGroupArn": tg_arns[lb["target_group"]],
                "containerName": lb["container_name"],
                "containerPort": lb["container_port"],
            }
        )
    azs = svc.get("azs") or [s.az for s in vpc.subnets.values()]
    network: dict[str, Any] = {
        "awsvpcConfiguration": {"subnets": [vpc.subnet_in(az).subnet_id for az in azs], "assignPublicIp": "DISABLED"}
    }
    if groups:
        network["awsvpcConfiguration"]["securityGroups"] = groups
    provider = svc.get("capacity_provider")
    lab.ecs.create_service(
        svc["cluster"],
        svc["name"],
        svc["task_definition"],
        svc["desired_count"],
        launch_type=None if provider else svc.get("launch_type", "FARGATE"),
        capacity_provider_strategy=[{"capacityProvider": provider, "weight": 1}] if provider else None,
        load_balancers=lbs,
        network_configuration=network,
        grace=svc.get("health_check_grace_period", 0),
        tags=svc.get("tags"),
        service_registries=registries,
    )


def _apply_scaling(lab: LabLike, section: dict[str, Any]) -> None:
    """Application Auto Scaling's RegisterScalableTarget and PutScalingPolicy bodies, for the
    stack's ECS services (namespace and dimension default to `ecs`, `ecs:service:DesiredCount`)."""
    from chaoslab.services.applicationautoscaling.models import ECS_DIMENSION, TargetKey

    def key(body: dict[str, Any]) -> TargetKey:
        return TargetKey(
            body.get("ServiceNamespace", "ecs"), body["ResourceId"], body.get("ScalableDimension", ECS_DIMENSION)
        )

    for target in section.get("scalable_targets", []):
        lab.applicationautoscaling.register_target(
            key(target), target["MinCapacity"], target["MaxCapacity"], suspended=target.get("SuspendedState")
        )
    for policy in section.get("scaling_policies", []):
        lab.applicationautoscaling.put_policy(key(policy), policy["PolicyName"], policy["PolicyType"], policy)


def relocated(doc: dict[str, Any], octet: int) -> dict[str, Any]:
    """A copy of a stack on 10.<octet>.0.0/16 (subnets keep their third octet) with its listeners
    on port 0: the same architecture, runnable beside another lab."""
    doc = copy.deepcopy(doc)
    old = doc["vpc"]["cidr"].split(".")[1]
    doc["vpc"]["cidr"] = f"10.{octet}.0.0/16"
    doc["vpc"]["subnets"] = {
        az: cidr.replace(f"10.{old}.", f"10.{octet}.", 1) for az, cidr in doc["vpc"]["subnets"].items()
    }
    for lb in doc.get("load_balancers", []):
        for listener in lb["listeners"]:
            listener["port"] = 0
    return doc
