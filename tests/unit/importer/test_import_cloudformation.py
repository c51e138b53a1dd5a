"""CloudFormation → stack: a YAML template with short-form tags, parameters and conditions."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chaoslab.cli import main
from chaoslab.errors import ChaoslabError
from chaoslab.importer import cloudformation, writer
from chaoslab.stack import validate_stack
from chaoslab.validate import check_file

FIXTURE = Path(__file__).parent / "fixtures" / "shop.cfn.yaml"


def _build(**params: str) -> writer.Output:
    arch = cloudformation.read(FIXTURE, params, "us-east-1", "123456789012")
    return writer.build(arch, {}, "123456789012")


def test_defaults_give_a_valid_stack_of_the_template_s_shape() -> None:
    out = _build()
    stack = out.stack
    validate_stack(stack)
    assert stack["vpc"]["subnets"] == {"us-east-1a": "10.0.10.0/24", "us-east-1b": "10.0.11.0/24"}
    assert [tg["name"] for tg in stack["target_groups"]] == ["shop-lab-tg"]
    assert stack["target_groups"][0]["health_check"] == {
        "path": "/health",
        "interval": 10,
        "timeout": 5,
        "healthy_threshold": 2,
        "unhealthy_threshold": 3,
        "matcher": "200",
    }
    assert stack["target_groups"][0]["attributes"] == {"deregistration_delay.timeout_seconds": "30"}
    assert stack["load_balancers"] == [
        {
            "name": "shop-lab-alb",
            "listeners": [{"port": 8080, "target_group": "shop-lab-tg"}],
            "security_groups": ["shop-lab-alb-sg"],
        }
    ]
    (lt,) = stack["launch_templates"]
    assert lt["name"] == "shop-lab-lt" and lt["instance_type"] == "t3.micro"
    assert lt["user_data"].startswith("#!/bin/bash\n") and "region us-east-1" in lt["user_data"]
    (group,) = stack["auto_scaling_groups"]
    assert group["launch_template"] == {"name": "shop-lab-lt", "version": "1"}
    assert group["azs"] == ["us-east-1a", "us-east-1b"] and group["target_groups"] == ["shop-lab-tg"]
    assert (group["min"], group["max"], group["desired"], group["health_check_grace_period"]) == (2, 4, 2, 120)
    assert group["database"] == "shop-lab-aurora" and group["tags"] == {"Project": "chaos-lab"}
    db = stack["database"]
    assert (db["cluster"], db["password"]) == ("shop-lab-aurora", "shop-secret-pw")
    assert db["instances"] == [
        {"id": "shop-lab-aurora-1", "az": "us-east-1a"},
        {"id": "shop-lab-aurora-2", "az": "us-east-1b"},
    ]
    role = stack["roles"][0]
    policy = role["policies"]["stop-tagged"]
    assert policy["Statement"][0]["Resource"] == "arn:aws:ec2:us-east-1:123456789012:instance/*"
    # the template's own managed policy is inlined; of AWS's, the lab attaches those it has
    assert role["policies"]["shop-lab-describe"]["Statement"][0]["Action"] == "ec2:DescribeInstances"
    assert role["managed_policies"] == ["arn:aws:iam::aws:policy/service-role/AWSFaultInjectionSimulatorEC2Access"]
    assert any("managed policy arn:aws:iam::aws:policy/ReadOnlyAccess is not in the lab" in str(n) for n in out.notes)
    assert stack["alarms"][0]["Dimensions"] == [
        {"Name": "LoadBalancer", "Value": "shop-lab-alb"},
        {"Name": "TargetGroup", "Value": "shop-lab-tg"},
    ]


def test_conditions_and_parameter_overrides() -> None:
    stack = _build(Env="prod").stack
    assert stack["launch_templates"][0]["instance_type"] == "m5.large"
    assert [i["id"] for i in stack["database"]["instances"]] == ["shop-prod-aurora-1"]


def test_what_is_not_translated_is_listed_with_its_reason() -> None:
    notes = [str(n) for n in _build(Env="prod").notes]
    assert "Cache (AWS::ElastiCache::CacheCluster): resource type not in the lab" in notes
    # properties a reader does not use are named too, not dropped
    assert "DbWriter (AWS::RDS::DBInstance): DBInstanceClass: not used by the lab" in notes
    assert "Tg (AWS::ElasticLoadBalancingV2::TargetGroup): Protocol: not used by the lab" in notes
    assert any(n.startswith("DbReader (AWS::RDS::DBInstance): condition WantReader is false") for n in notes)
    assert any(n.startswith("alarm shop-prod-target-5xx AlarmActions") for n in notes)
    assert any(n.startswith("subnet PublicA") for n in notes)
    # of security groups, what a stack cannot say: IPv6, prefix lists, ICMP by type, a group not imported
    assert "security group AlbSg ingress: IPv6 range ::/0 left out: the lab's networks are IPv4 only" in notes
    assert "security group AppSg egress: prefix list pl-63a5400a left out: the lab has no managed prefix lists" in notes
    assert any(n.startswith("security group AppSg ingress: left out: ICMP type 8 code -1") for n in notes)
    assert (
        "security group shop-prod-db-sg: a rule naming group sg-0partner0000000 left out: that group is not imported"
        in notes
    )


def test_security_groups_with_their_rules_and_references() -> None:
    stack = _build().stack
    validate_stack(stack)
    assert stack["security_groups"] == [
        {
            "name": "shop-lab-alb-sg",
            "description": "HTTP from anywhere",
            "ingress": [{"port": 8080, "cidr": "0.0.0.0/0"}],
        },
        {
            "name": "AppSg",
            "description": "port 80 from the ALB",
            "ingress": [{"port": 80, "group": "shop-lab-alb-sg", "description": "the ALB"}],
            # given in the template, the egress rules replace AWS's all-traffic one
            "egress": [{"port": 5432, "group": "shop-lab-db-sg"}],
        },
        {
            "name": "shop-lab-db-sg",
            "description": "PostgreSQL from the app",
            # a separate ingress resource joins its group; a separate egress one keeps AWS's default
            "ingress": [{"port": 5432, "group": "AppSg"}],
            "egress": [{"protocol": "all", "cidr": "0.0.0.0/0"}],
        },
    ]
    assert stack["launch_templates"][0]["security_groups"] == ["AppSg"]
    assert stack["database"]["security_groups"] == ["shop-lab-db-sg"]


def test_cli_writes_files_validate_accepts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "cloudformation", str(FIXTURE), "-o", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "not translated: Cache (AWS::ElastiCache::CacheCluster)" in err
    text = (tmp_path / "stack.yaml").read_text()
    assert "#   - Cache (AWS::ElastiCache::CacheCluster): resource type not in the lab" in text
    validate_stack(yaml.safe_load(text))
    report = check_file(tmp_path / "experiment-templates" / "StopOne.json")
    assert report.verdict == "runnable", report.issues
    body = yaml.safe_load((tmp_path / "experiment-templates" / "StopOne.json").read_text())
    assert body["roleArn"] == "arn:aws:iam::123456789012:role/shop-lab-fis-role"
    assert body["stopConditions"][0]["value"] == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:shop-lab-target-5xx"


def test_unknown_parameter_is_refused() -> None:
    with pytest.raises(ChaoslabError, match="Nope"):
        _build(Nope="x")


def test_unreadable_input_exits_1_naming_the_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "cloudformation", str(tmp_path / "missing.yaml")]) == 1
    assert "missing.yaml" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("Resources:\n  A: [unclosed\n")
    assert main(["import", "cloudformation", str(bad), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:" in err and "not valid YAML" in err
    assert not (tmp_path / "out").exists()


def test_json_template_with_an_ecs_service(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURE.with_name("payments.cfn.json")
    out = writer.build(cloudformation.read(path, {}, "us-east-1", "123456789012"), {}, "123456789012")
    validate_stack(out.stack)
    # a protocol by number, as EC2 also takes it
    assert out.stack["security_groups"][0]["ingress"] == [{"port": 80, "cidr": "10.0.0.0/16"}]
    ecs = out.stack["ecs"]
    assert ecs["clusters"] == ["pets"]
    (td,) = ecs["task_definitions"]
    container = td["containerDefinitions"][0]
    assert (td["family"], td["networkMode"], container["portMappings"]) == (
        "payments",
        "awsvpc",
        [{"containerPort": 80}],
    )
    assert container["environment"] == [{"name": "MODE", "value": "live"}]
    assert container["logConfiguration"]["options"]["awslogs-region"] == "us-east-1"  # the user's keys kept
    assert ecs["services"] == [
        {
            "name": "payments",
            "cluster": "pets",
            "task_definition": "payments",
            "desired_count": 2,
            "launch_type": "FARGATE",
            "azs": ["us-east-1a"],
            "database": "pets-db",
            "load_balancer": {"target_group": "payments-tg", "container_name": "api", "container_port": 80},
            "security_groups": ["payments-api"],
            "health_check_grace_period": 30,
        }
    ]
    assert out.stack["load_balancers"][0]["listeners"] == [{"port": 8081, "target_group": "payments-tg"}]
    db = out.stack["database"]
    assert (db["cluster"], db["database"], db["instances"]) == (
        "pets-db",
        "pets",
        [{"id": "pets-db", "az": "us-east-1a"}],
    )
    notes = [str(n) for n in out.notes]
    assert any(
        "needs --map-image 123456789012.dkr.ecr.us-east-1.amazonaws.com/payments:3=chaoslab/<app>" in n for n in notes
    )
    assert any(n.startswith("database pets-db: master password not in the source") for n in notes)
    assert "Logs (AWS::Logs::LogGroup): not needed by the lab" in notes
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/payments:3"
    assert (
        main(
            ["import", "cloudformation", str(path), "-o", str(tmp_path), "--map-image", f"{image}=chaoslab/pet-payment"]
        )
        == 0
    )
    assert "needs --map-image" not in capsys.readouterr().err
    assert main(["import", "cloudformation", str(path), "--map-image", f"{image}=nginx"]) == 1
    assert "nginx is not a bundled app" in capsys.readouterr().err
