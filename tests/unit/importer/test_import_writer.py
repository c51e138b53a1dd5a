"""The shared writer: images mapped to bundled apps, names, intrinsics evaluated as CloudFormation does."""

from __future__ import annotations

from typing import Any

import pytest

from chaoslab.importer import writer
from chaoslab.importer.intrinsics import NO_VALUE, Resolver, Unresolvable
from chaoslab.importer.model import (
    Architecture,
    Group,
    LaunchTemplate,
    Network,
    Rule,
    SecurityGroup,
    Service,
    Subnet,
    TargetGroup,
)
from chaoslab.importer.secgroups import ALL_OUT
from chaoslab.stack import validate_stack


def _arch() -> Architecture:
    arch = Architecture(name="shop")
    arch.networks.append(Network("vpc-1", "10.0.0.0/16", [Subnet("s-a", "us-east-1a", "10.0.10.0/24")]))
    arch.target_groups.append(TargetGroup("tg-arn", "a-target-group-with-a-name-over-32", 8080))
    arch.launch_templates.append(LaunchTemplate("lt-1", "web-lt", "ami-123"))
    arch.groups.append(Group("web", 1, 2, subnets=["s-a"], target_groups=["tg-arn"], launch_template="lt-1"))
    return arch


def test_a_mapped_image_runs_the_bundled_app_inline() -> None:
    out = writer.build(_arch(), {"ami-123": "chaoslab/static"}, "123456789012")
    (group,) = out.stack["auto_scaling_groups"]
    assert group["image"] == "chaoslab/static" and "launch_template" not in group
    assert "launch_templates" not in out.stack  # the stack makes web-lt itself
    tg_name = out.stack["target_groups"][0]["name"]
    assert tg_name == "a-target-group-with-a-name-over-"[:32].strip("-")
    assert group["port"] == 8080 and group["target_groups"] == [tg_name]
    assert any("renamed" in str(n) for n in out.notes)


def test_an_unmapped_ami_without_user_data_is_noted() -> None:
    out = writer.build(_arch(), {}, "123456789012")
    assert out.stack["auto_scaling_groups"][0]["launch_template"] == "web-lt"
    assert any("--map-image ami-123=chaoslab/<app>" in str(n) for n in out.notes)


def test_an_ecs_image_without_command_needs_map_image() -> None:
    arch = _arch()
    arch.ecs_clusters["c"] = "c"
    arch.task_definitions.append({"family": "api", "containerDefinitions": [{"name": "api", "image": "repo/api:1"}]})
    arch.services.append(Service("api", "c", "arn:aws:ecs:us-east-1:1:task-definition/api:7", 1, subnets=["s-a"]))
    out = writer.build(arch, {}, "123456789012")
    assert out.stack["ecs"]["services"][0]["task_definition"] == "api"
    assert any("needs --map-image repo/api:1=chaoslab/<app>" in str(n) for n in out.notes)
    mapped = writer.build(arch, {"repo/api:1": "chaoslab/pet-payment"}, "123456789012")
    assert mapped.stack["ecs"]["task_definitions"][0]["containerDefinitions"][0]["image"] == "chaoslab/pet-payment"


def _resolver(template: dict[str, Any], **overrides: str) -> Resolver:
    def ref(name: str) -> Any:
        raise Unresolvable(name)

    return Resolver(template, overrides, "eu-west-1", "111122223333", ref, lambda r, a: f"{r}.{a}")


def test_intrinsics() -> None:
    template = {
        "Parameters": {
            "Env": {"Type": "String", "Default": "lab"},
            "Ids": {"Type": "CommaDelimitedList", "Default": "a,b"},
        },
        "Conditions": {"Prod": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
        "Mappings": {"Size": {"lab": {"Count": 1}}},
    }
    r = _resolver(template)
    assert r.resolve({"Fn::Sub": "${AWS::Region}-${Env}-${!Literal}-${Db.Port}"}) == "eu-west-1-lab-${Literal}-Db.Port"
    assert r.resolve({"Fn::Sub": ["${X}/${AWS::AccountId}", {"X": {"Ref": "Env"}}]}) == "lab/111122223333"
    assert r.resolve({"Fn::Join": [",", {"Ref": "Ids"}]}) == "a,b"
    assert r.resolve({"Fn::Select": [1, {"Fn::GetAZs": ""}]}) == "eu-west-1b"
    assert r.resolve({"Fn::Select": ["0", {"Fn::Split": ["/", "x/y"]}]}) == "x"
    assert r.resolve({"Fn::FindInMap": ["Size", {"Ref": "Env"}, "Count"]}) == 1
    assert r.resolve({"Fn::If": ["Prod", "big", {"Ref": "AWS::NoValue"}]}) is NO_VALUE
    assert r.resolve({"A": {"Fn::If": ["Prod", 1, {"Ref": "AWS::NoValue"}]}, "B": [1, {"Ref": "AWS::NoValue"}]}) == {
        "B": [1]
    }
    assert _resolver(template, Env="prod").resolve({"Fn::If": ["Prod", "big", "small"]}) == "big"
    assert r.resolve({"Fn::Base64": "hi"}) == "aGk="
    with pytest.raises(Unresolvable, match="ImportValue"):
        r.resolve({"Fn::ImportValue": "x"})


def test_security_groups_names_egress_and_references_not_imported() -> None:
    arch = _arch()
    arch.security_groups += [
        SecurityGroup("sg-1", "default", "the VPC's", [Rule("all", group="sg-1")], egress=[ALL_OUT]),
        SecurityGroup(
            "sg-2", "web", ingress=[Rule("tcp", (8000, 8100), cidr="10.0.0.0/16"), Rule("udp", (53, 53), group="sg-9")]
        ),
    ]
    arch.launch_templates[0].security_groups = ["sg-2", "sg-9"]
    out = writer.build(arch, {}, "123456789012")
    validate_stack(out.stack)
    assert out.stack["security_groups"] == [
        # EC2 keeps `default` for the VPC's own group; AWS's own egress rule is left implicit
        {
            "name": "imported-default",
            "description": "the VPC's",
            "ingress": [{"protocol": "all", "group": "imported-default"}],
        },
        {"name": "web", "ingress": [{"ports": "8000-8100", "cidr": "10.0.0.0/16"}]},
    ]
    assert out.stack["launch_templates"][0]["security_groups"] == ["web"]
    notes = [str(n) for n in out.notes]
    assert "security group web: a rule naming group sg-9 left out: that group is not imported" in notes
    assert "launch template web-lt: security group sg-9 left out: it is not imported" in notes
    assert any(n.startswith("security group default: renamed 'imported-default'") for n in notes)
