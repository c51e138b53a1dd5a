"""An `Architecture` as files the lab reads: a stack (validated before it is written), one JSON
file per FIS experiment template (a CreateExperimentTemplate body) and the notes of what was not
translated, at the top of the stack as a comment block. Names, references and images are
resolved here, once for every source."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chaoslab.apps.registry import is_bundled
from chaoslab.importer.model import Architecture, Group, LaunchTemplate, Note, Role, Rule, SecurityGroup, Subnet
from chaoslab.importer.secgroups import ALL_OUT
from chaoslab.services.iam import managed
from chaoslab.stack import validate_stack

PLACEHOLDER_PASSWORD = "chaoslab-imported"  # lab-only; the notes say it was set
_ARN_ACCOUNT = re.compile(r"(arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:)(\d{12})(:)")


@dataclass
class Output:
    """What `write` produced: the stack document, template bodies by file stem, and the notes."""

    stack: dict[str, Any]
    templates: dict[str, dict[str, Any]]
    notes: list[Note]


def stack_name(text: str) -> str:
    """A stack-file name (letters, digits, hyphens, at most 32) from any resource name."""
    cleaned = re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-")[:32].strip("-")
    return cleaned or "imported"


class _Builder:
    def __init__(self, arch: Architecture, image_map: Mapping[str, str], lab_account: str) -> None:
        self.arch = arch
        self.image_map = dict(image_map)
        self.lab_account = lab_account
        self.notes = list(arch.notes)
        self.subnet_az: dict[str, str] = {}
        self.tg_names = {tg.id: self._name(tg.name, "target group") for tg in arch.target_groups}
        self.tg_by_name = {tg.name: self.tg_names[tg.id] for tg in arch.target_groups}
        self.lb_by_name = {lb.name: self._name(lb.name, "load balancer") for lb in arch.load_balancers}
        self.templates = {lt.id: lt for lt in arch.launch_templates}
        self.sg_names: dict[str, str] = {}
        for sg in arch.security_groups:
            name = self._group_name(sg)
            if name in self.sg_names.values():
                self.notes.append(Note(f"security group {sg.id}", f"left out: another group is named {name!r}"))
            else:
                self.sg_names[sg.id] = name

    def _name(self, name: str, kind: str) -> str:
        safe = stack_name(name)
        if safe != name:
            self.notes.append(
                Note(f"{kind} {name}", f"renamed {safe!r}: stack names are 1-32 letters, digits, hyphens")
            )
        return safe

    def build(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": stack_name(self.arch.name)}
        doc["description"] = f"imported from {self.arch.name}"
        if vpc := self._vpc():
            doc["vpc"] = vpc
        if doc.get("vpc"):
            doc["security_groups"] = [
                self._security_group(g) for g in self.arch.security_groups if g.id in self.sg_names
            ]
        elif self.arch.security_groups:
            self.notes.append(Note("security groups", "left out: no VPC was imported to put them in"))
            self.sg_names.clear()
        if db := self._database():
            doc["database"] = db
        doc["target_groups"] = [self._target_group(tg.id) for tg in self.arch.target_groups]
        doc["load_balancers"] = self._load_balancers()
        doc["launch_templates"], doc["auto_scaling_groups"] = self._compute(db)
        doc["ecs"] = self._ecs(db)
        doc["roles"] = [self._role(r) for r in self.arch.roles]
        doc["alarms"] = [self._alarm(a) for a in self.arch.alarms]
        return {k: v for k, v in doc.items() if v not in ([], {}, None)}

    # network ---------------------------------------------------------------------------------
    def _vpc(self) -> dict[str, Any] | None:
        used = [s for g in self.arch.groups for s in g.subnets] + [s for svc in self.arch.services for s in svc.subnets]
        networks = self.arch.networks
        if not networks:
            return None
        chosen = next((n for n in networks if any(s.id in used for s in n.subnets)), networks[0])
        for other in networks:
            if other is not chosen:
                self.notes.append(Note(f"VPC {other.id}", f"the lab builds one VPC per stack; {chosen.id} was kept"))
        picked: dict[str, Subnet] = {}
        ordered = sorted(chosen.subnets, key=lambda s: (s.id not in used, used.index(s.id) if s.id in used else 0))
        for subnet in ordered:
            self.subnet_az[subnet.id] = subnet.az
            if subnet.az not in picked:
                picked[subnet.az] = subnet
            else:
                self.notes.append(
                    Note(
                        f"subnet {subnet.id} ({subnet.cidr})",
                        f"the lab has one subnet per AZ; {subnet.az} uses {picked[subnet.az].cidr}",
                    )
                )
        if not picked:
            return None
        return {"cidr": chosen.cidr, "subnets": {az: picked[az].cidr for az in sorted(picked)}}

    def _azs(self, subnets: list[str], what: str) -> list[str]:
        azs: list[str] = []
        for subnet in subnets:
            az = self.subnet_az.get(subnet)
            if az is None:
                self.notes.append(Note(what, f"subnet {subnet} is not in the imported VPC; left out"))
            elif az not in azs:
                azs.append(az)
        return azs

    # security groups -----------------------------------------------------------------------
    def _group_name(self, sg: SecurityGroup) -> str:
        name = re.sub(r"[^A-Za-z0-9 ._-]+", "-", sg.name).strip(" ._-")[:255] or sg.id
        if name.lower() == "default" or name.startswith("sg-"):
            name = f"imported-{name}"  # EC2 keeps `default` for the VPC's own and refuses `sg-*`
        if name != sg.name:
            self.notes.append(Note(f"security group {sg.name}", f"renamed {name!r}: a name the lab's EC2 takes"))
        return name

    def _security_group(self, sg: SecurityGroup) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.sg_names[sg.id]}
        if sg.description:
            out["description"] = sg.description
        ingress = [r for rule in sg.ingress if (r := self._rule(rule, sg))]
        if ingress:
            out["ingress"] = ingress
        if sg.egress is not None and sg.egress != [ALL_OUT]:
            out["egress"] = [r for rule in sg.egress if (r := self._rule(rule, sg))]
        if sg.tags:
            out["tags"] = sg.tags
        return out

    def _rule(self, rule: Rule, sg: SecurityGroup) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        if rule.protocol != "tcp":
            out["protocol"] = rule.protocol
        if rule.ports and rule.protocol != "all":
            low, high = rule.ports
            if low == high:
                out["port"] = low
            else:
                out["ports"] = f"{low}-{high}"
        if rule.cidr is not None:
            out["cidr"] = rule.cidr
        elif rule.group in self.sg_names:
            out["group"] = self.sg_names[rule.group]
        else:
            self.notes.append(
                Note(
                    f"security group {sg.name}",
                    f"a rule naming group {rule.group} left out: that group is not imported",
                )
            )
            return None
        if rule.description:
            out["description"] = rule.description
        return out

    def _refs(self, ids: list[str], what: str) -> list[str]:
        """The stack names of the groups a resource names; one not imported is listed."""
        names = []
        for group_id in ids:
            if group_id in self.sg_names:
                names.append(self.sg_names[group_id])
            else:
                self.notes.append(Note(what, f"security group {group_id} left out: it is not imported"))
        return names

    # database --------------------------------------------------------------------------------
    def _database(self) -> dict[str, Any] | None:
        if not self.arch.databases:
            return None
        db, *others = self.arch.databases
        for other in others:
            self.notes.append(
                Note(f"database {other.cluster}", f"the lab runs one database per stack; {db.cluster} was kept")
            )
        name = self._name(db.cluster, "database")
        password = db.password
        if password is None or len(password) < 8:
            password = PLACEHOLDER_PASSWORD
            self.notes.append(
                Note(
                    f"database {db.cluster}",
                    f"master password not in the source (or under 8 characters): set to {password!r}",
                )
            )
        out: dict[str, Any] = {
            "cluster": name,
            "engine": "aurora-postgresql",
            "database": db.database,
            "username": db.username,
            "password": password,
        }
        if db.port:
            out["port"] = db.port
        azs = sorted(set(self.subnet_az.values())) or ["us-east-1a"]
        instances = []
        for i, (ident, az) in enumerate(db.instances):
            if i >= 2:
                self.notes.append(Note(f"database instance {ident}", "the lab runs a writer and one reader at most"))
                continue
            instances.append({"id": self._name(ident, "database instance"), "az": az or azs[i % len(azs)]})
        if instances:
            out["instances"] = instances
        if groups := self._refs(db.security_groups, f"database {db.cluster}"):
            out["security_groups"] = groups
        if db.tags:
            out["tags"] = db.tags
        return out

    # load balancing --------------------------------------------------------------------------
    def _target_group(self, tg_id: str) -> dict[str, Any]:
        tg = next(t for t in self.arch.target_groups if t.id == tg_id)
        out: dict[str, Any] = {"name": self.tg_names[tg.id], "port": tg.port, "target_type": tg.target_type}
        if tg.target_type not in ("instance", "ip"):
            self.notes.append(
                Note(f"target group {tg.name}", f"target type {tg.target_type} is not in the lab; using ip")
            )
            out["target_type"] = "ip"
        if tg.health_check:
            out["health_check"] = tg.health_check
        if tg.attributes:
            out["attributes"] = tg.attributes
        if tg.tags:
            out["tags"] = tg.tags
        return out

    def _load_balancers(self) -> list[dict[str, Any]]:
        out = []
        for lb in self.arch.load_balancers:
            listeners = []
            for ln in lb.listeners:
                if ln.target_group not in self.tg_names:
                    self.notes.append(Note(f"listener {lb.name}:{ln.port}", "forwards to no imported target group"))
                    continue
                listeners.append({"port": ln.port, "target_group": self.tg_names[ln.target_group]})
            if not listeners:
                self.notes.append(Note(f"load balancer {lb.name}", "no listener forwards to a target group; left out"))
                continue
            item: dict[str, Any] = {"name": self.lb_by_name[lb.name], "listeners": listeners}
            if lb.idle_timeout:
                item["idle_timeout"] = lb.idle_timeout
            if groups := self._refs(lb.security_groups, f"load balancer {lb.name}"):
                item["security_groups"] = groups
            if lb.tags:
                item["tags"] = lb.tags
            out.append(item)
        return out

    # compute ---------------------------------------------------------------------------------
    def _image(self, image: str) -> str:
        return self.image_map.get(image, image)

    def _compute(self, db: dict[str, Any] | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        used: dict[str, str] = {}  # template id -> how groups use it: "inline" or "reference"
        groups = []
        for g in self.arch.groups:
            item = self._group(g, db, used)
            if item:
                groups.append(item)
        templates = []
        for lt in self.arch.launch_templates:
            if used.get(lt.id) == "inline":
                continue
            templates.append(self._template(lt))
        return templates, groups

    def _template(self, lt: LaunchTemplate) -> dict[str, Any]:
        image = self._image(lt.image)
        if not lt.user_data and not is_bundled(image):
            self.notes.append(
                Note(
                    f"launch template {lt.name}",
                    f"image {lt.image} has no user data and is not a bundled app: its instances run nothing "
                    f"(--map-image {lt.image}=chaoslab/<app>)",
                )
            )
        out: dict[str, Any] = {"name": lt.name, "image": image}
        if lt.instance_type:
            out["instance_type"] = lt.instance_type
        if lt.user_data:
            out["user_data"] = lt.user_data
        if groups := self._refs(lt.security_groups, f"launch template {lt.name}"):
            out["security_groups"] = groups
        if lt.tags:
            out["tags"] = lt.tags
        return out

    def _group(self, g: Group, db: dict[str, Any] | None, used: dict[str, str]) -> dict[str, Any] | None:
        name = self._name(g.name, "Auto Scaling group")
        lt = self.templates.get(g.launch_template or "")
        if lt is None:
            self.notes.append(Note(f"Auto Scaling group {g.name}", "no imported launch template; left out"))
            return None
        out: dict[str, Any] = {"name": name}
        image = self._image(lt.image)
        if not lt.user_data and is_bundled(image) and lt.name == f"{name}-lt":
            out["image"] = image  # the stack makes this very template again
            used.setdefault(lt.id, "inline")
            if groups := self._refs(lt.security_groups, f"launch template {lt.name}"):
                out["security_groups"] = groups
        else:
            out["launch_template"] = {"name": lt.name, "version": g.version} if g.version else lt.name
            used[lt.id] = "reference"
        tgs = [self.tg_names[t] for t in g.target_groups if t in self.tg_names]
        ports = [tg.port for tg in self.arch.target_groups if tg.id in g.target_groups]
        out["port"] = ports[0] if ports else 80
        if db:
            out["database"] = db["cluster"]
        out["min"], out["max"] = g.min, g.max
        if g.desired is not None:
            out["desired"] = g.desired
        if azs := self._azs(g.subnets, f"Auto Scaling group {g.name}"):
            out["azs"] = azs
        if tgs:
            out["target_groups"] = tgs
        if g.health_check_type:
            out["health_check_type"] = g.health_check_type
        if g.grace is not None:
            out["health_check_grace_period"] = g.grace
        if g.tags:
            out["tags"] = g.tags
        return out

    def _ecs(self, db: dict[str, Any] | None) -> dict[str, Any]:
        clusters = self.arch.ecs_clusters
        tds = [self._task_definition(td) for td in self.arch.task_definitions]
        services = []
        for svc in self.arch.services:
            item: dict[str, Any] = {
                "name": svc.name,
                "cluster": clusters.get(svc.cluster, svc.cluster.rsplit("/", 1)[-1]),
                "task_definition": svc.task_definition.rsplit("/", 1)[-1].split(":")[0],
                "desired_count": svc.desired,
            }
            if svc.capacity_provider in ("FARGATE", "FARGATE_SPOT"):
                item["capacity_provider"] = svc.capacity_provider
            elif svc.launch_type in ("FARGATE", "EC2"):
                item["launch_type"] = svc.launch_type
            if azs := self._azs(svc.subnets, f"ECS service {svc.name}"):
                item["azs"] = azs
            if db:
                item["database"] = db["cluster"]
            if svc.load_balancer and svc.load_balancer[0] in self.tg_names:
                tg, container, port = svc.load_balancer
                item["load_balancer"] = {
                    "target_group": self.tg_names[tg],
                    "container_name": container,
                    "container_port": port,
                }
            if groups := self._refs(svc.security_groups, f"ECS service {svc.name}"):
                item["security_groups"] = groups
            if svc.grace is not None:
                item["health_check_grace_period"] = svc.grace
            if svc.tags:
                item["tags"] = svc.tags
            services.append(item)
        out: dict[str, Any] = {"clusters": sorted(set(clusters.values()))}
        if tds:
            out["task_definitions"] = tds
        if services:
            out["services"] = services
        return {k: v for k, v in out.items() if v}

    def _task_definition(self, td: dict[str, Any]) -> dict[str, Any]:
        td = json.loads(json.dumps(td))
        for c in td.get("containerDefinitions", []):
            image = c.get("image", "")
            c["image"] = self._image(image)
            if not is_bundled(c["image"]) and not c.get("command") and not c.get("entryPoint"):
                self.notes.append(
                    Note(
                        f"task definition {td.get('family')} container {c.get('name')}",
                        f"image {image} is not a bundled app and has no command: it needs --map-image {image}=chaoslab/<app>",
                    )
                )
        return td

    # IAM -----------------------------------------------------------------------------------
    def _role(self, r: Role) -> dict[str, Any]:
        attachable = {managed.arn_of(name) for name in managed.POLICIES}
        for arn in r.managed:
            if arn not in attachable:
                self.notes.append(
                    Note(f"role {r.name}", f"managed policy {arn} is not in the lab's IAM (AWS's FIS policies are)")
                )
        out: dict[str, Any] = {"name": r.name, "trust": self._moved(r.trust, f"role {r.name}")}
        if r.policies:
            out["policies"] = self._moved(r.policies, f"role {r.name}")
        if kept := [a for a in r.managed if a in attachable]:
            out["managed_policies"] = kept
        if r.tags:
            out["tags"] = r.tags
        return out

    # alarms ----------------------------------------------------------------------------------
    def _alarm(self, alarm: dict[str, Any]) -> dict[str, Any]:
        alarm = json.loads(json.dumps(alarm))
        for dim in alarm.get("Dimensions", []):
            value = str(dim.get("Value", ""))
            parts = value.split("/")
            if dim.get("Name") == "LoadBalancer" and len(parts) == 3 and parts[1] in self.lb_by_name:
                dim["Value"] = self.lb_by_name[parts[1]]
            elif dim.get("Name") == "TargetGroup" and len(parts) == 3 and parts[1] in self.tg_by_name:
                dim["Value"] = self.tg_by_name[parts[1]]
        return alarm

    # FIS -------------------------------------------------------------------------------------
    def experiment_templates(self) -> dict[str, dict[str, Any]]:
        return {
            stem: self._moved(body, f"experiment template {stem}")
            for stem, body in self.arch.experiment_templates.items()
        }

    def _moved(self, value: Any, what: str) -> Any:
        """`value` with the account of every ARN in it made the lab's (policies and templates name
        the source account; in the lab only its own account's resources exist)."""
        text = json.dumps(value)
        moved = _ARN_ACCOUNT.sub(lambda m: m.group(1) + self.lab_account + m.group(3), text)
        if moved != text:
            self.notes.append(Note(what, f"ARNs moved to the lab's account {self.lab_account}"))
        return json.loads(moved)


def build(arch: Architecture, image_map: Mapping[str, str], lab_account: str) -> Output:
    """The stack and template bodies of `arch`, and every note; raises ChaoslabError if the
    stack would not validate (a bug in a source, never the user's input)."""
    builder = _Builder(arch, image_map, lab_account)
    stack = builder.build()
    templates = builder.experiment_templates()
    validate_stack(stack, "imported stack")
    return Output(stack, templates, builder.notes)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (user data) as `|` blocks, so the script reads as it was written."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def write(output: Output, out_dir: Path) -> list[Path]:
    """`stack.yaml` (the notes as its opening comment block) and `experiment-templates/*.json`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by `chaoslab import`."]
    if output.notes:
        lines.append("# Not translated (or only in part):")
        lines += [f"#   - {note}" for note in output.notes]
    else:
        lines.append("# Everything in the source was translated.")
    stack_path = out_dir / "stack.yaml"
    stack_path.write_text("\n".join(lines) + "\n" + yaml.dump(output.stack, Dumper=_Dumper, sort_keys=False, width=110))
    paths = [stack_path]
    if output.templates:
        folder = out_dir / "experiment-templates"
        folder.mkdir(exist_ok=True)
        for stem, body in output.templates.items():
            path = folder / f"{stack_name(stem)}.json"
            path.write_text(json.dumps(body, indent=2) + "\n")
            paths.append(path)
    return paths
