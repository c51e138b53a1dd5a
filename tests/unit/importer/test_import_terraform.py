"""Terraform show -json → stack: seed 003's architecture as state and as plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaoslab.cli import main
from chaoslab.importer import terraform, writer
from chaoslab.stack import validate_stack
from chaoslab.validate import check_file

FIXTURE = Path(__file__).parent / "fixtures" / "seed003.tfstate.json"


def _build(path: Path = FIXTURE) -> writer.Output:
    return writer.build(terraform.read(path), {}, "123456789012")


def test_state_gives_seed_003_s_stack() -> None:
    out = _build()
    stack = out.stack
    validate_stack(stack)
    # the group's private subnets are the lab's subnets; the public ones are noted
    assert stack["vpc"] == {
        "cidr": "10.0.0.0/16",
        "subnets": {"us-east-1a": "10.0.10.0/24", "us-east-1b": "10.0.11.0/24"},
    }
    (group,) = stack["auto_scaling_groups"]
    assert group["launch_template"] == {"name": "chaos-lab-lt", "version": "$Latest"}
    assert group["azs"] == ["us-east-1a", "us-east-1b"] and group["target_groups"] == ["chaos-lab-tg"]
    assert (group["health_check_type"], group["health_check_grace_period"]) == ("ELB", 120)
    assert stack["launch_templates"][0]["user_data"].startswith("#!/bin/bash\nset -e\n")
    assert stack["target_groups"][0]["health_check"]["unhealthy_threshold"] == 3
    assert stack["load_balancers"][0]["listeners"] == [{"port": 80, "target_group": "chaos-lab-tg"}]
    assert stack["database"]["instances"] == [{"id": "chaos-lab-aurora-1", "az": "us-east-1a"}]
    (role,) = stack["roles"]
    statement = role["policies"]["chaos-lab-fis-policy"]["Statement"][0]
    assert statement["Resource"] == "arn:aws:ec2:us-east-1:123456789012:instance/*"
    assert role["policies"]["chaos-lab-describe"]["Statement"][0]["Action"] == "ec2:DescribeInstances"
    assert "managed_policies" not in role  # the account's own policy is inlined: the lab attaches AWS's only
    # the alarm lives in a child module; its dimensions name the stack's resources
    assert stack["alarms"][0]["Dimensions"] == [
        {"Name": "LoadBalancer", "Value": "chaos-lab-alb"},
        {"Name": "TargetGroup", "Value": "chaos-lab-tg"},
    ]
    body = out.templates["stop_instance"]
    assert body["roleArn"] == "arn:aws:iam::123456789012:role/chaos-lab-fis-role"
    assert body["targets"]["chaos-lab-instances"]["resourceTags"] == {"Project": "chaos-lab"}
    notes = [str(n) for n in out.notes]
    assert "aws_security_group.alb ingress: IPv6 range ::/0 left out: the lab's networks are IPv4 only" in notes
    assert (
        "aws_vpc_security_group_ingress_rule.app_admin: prefix list pl-0admin left out: "
        "the lab has no managed prefix lists"
    ) in notes
    assert any(n.startswith("subnet subnet-pub0 (10.0.1.0/24): the lab has one subnet per AZ") for n in notes)
    assert any(n.startswith("data.aws_caller_identity.current: a data source") for n in notes)


def test_security_groups_inline_blocks_and_rule_resources() -> None:
    stack = _build().stack
    assert stack["security_groups"] == [
        {
            "name": "chaos-lab-alb-sg",
            "description": "HTTP from anywhere",
            "ingress": [{"port": 80, "cidr": "0.0.0.0/0"}],  # its egress block is AWS's default: left implicit
            "tags": {"Project": "chaos-lab"},
        },
        {
            "name": "chaos-lab-app-sg",
            "description": "app instances",
            "ingress": [
                {"port": 80, "group": "chaos-lab-alb-sg", "description": "from the ALB"},
                {"protocol": "all", "group": "chaos-lab-app-sg"},  # `self = true`
            ],
            "egress": [{"port": 5432, "group": "chaos-lab-db-sg"}],  # aws_vpc_security_group_egress_rule
        },
        # aws_security_group_rule; no egress block: Terraform leaves the group none
        {
            "name": "chaos-lab-db-sg",
            "description": "Aurora",
            "ingress": [{"port": 5432, "group": "chaos-lab-app-sg"}],
            "egress": [],
        },
    ]
    assert stack["load_balancers"][0]["security_groups"] == ["chaos-lab-alb-sg"]
    assert stack["launch_templates"][0]["security_groups"] == ["chaos-lab-app-sg"]
    assert stack["database"]["security_groups"] == ["chaos-lab-db-sg"]


def test_a_plan_s_unknown_ids_are_filled_from_its_configuration() -> None:
    """Before apply, ids and ARNs are unknown: the configuration's references stand in for them."""
    planned, state = _build(FIXTURE.with_name("seed003.plan.json")), _build()
    for lt in state.stack["launch_templates"]:
        del lt["security_groups"]  # the plan has the ALB's group only
    for key in ("vpc", "target_groups", "load_balancers", "launch_templates", "auto_scaling_groups", "roles"):
        assert planned.stack[key] == state.stack[key], key
    assert planned.stack["database"]["instances"] == state.stack["database"]["instances"]
    assert planned.templates == state.templates
    notes = [str(n) for n in planned.notes]
    # a reference inside a map cannot be placed: said, and the alarm is kept without it
    assert (
        "module.alarms.aws_cloudwatch_metric_alarm.target_5xx: dimensions: known only after apply "
        "(import the state after `terraform apply`)"
    ) in notes
    assert any(n.startswith("database chaos-lab-aurora: master password not in the source") for n in notes)


def test_cli_writes_a_runnable_template(tmp_path: Path) -> None:
    assert main(["import", "terraform", str(FIXTURE), "-o", str(tmp_path), "--name", "shop"]) == 0
    assert check_file(tmp_path / "experiment-templates" / "stop-instance.json").verdict == "runnable"
    assert check_file(tmp_path / "stack.yaml").verdict != "invalid"


def test_not_terraform_json_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "main.tf"
    other.write_text('resource "aws_vpc" "main" {}\n')
    assert main(["import", "terraform", str(other)]) == 1
    assert "not valid JSON" in capsys.readouterr().err
    empty = tmp_path / "x.json"
    empty.write_text("{}")
    assert main(["import", "terraform", str(empty)]) == 1
    assert "root_module" in capsys.readouterr().err


def test_a_lone_postgres_instance_is_a_one_writer_cluster(tmp_path: Path) -> None:
    def instance(name: str, engine: str) -> dict[str, object]:
        values = {
            "identifier": name,
            "engine": engine,
            "db_name": "pets",
            "username": "pets",
            "password": "pets-secret",
        }
        return {"address": f"aws_db_instance.{name}", "mode": "managed", "type": "aws_db_instance", "values": values}

    state = {"values": {"root_module": {"resources": [instance("pets", "postgres"), instance("legacy", "mysql")]}}}
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))
    out = _build(path)
    db = out.stack["database"]
    assert (db["cluster"], db["database"], db["password"]) == ("pets", "pets", "pets-secret")
    assert db["instances"] == [{"id": "pets", "az": "us-east-1a"}]
    notes = [str(n) for n in out.notes]
    assert "aws_db_instance.legacy: engine mysql is not in the lab (PostgreSQL only)" in notes
    assert "aws_db_instance.pets: a single PostgreSQL instance runs as a cluster with one writer" in notes
