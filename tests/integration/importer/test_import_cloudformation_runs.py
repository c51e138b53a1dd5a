"""A CloudFormation template, imported, runs: its launch template's user data serves behind the
ALB while its security groups admit the app's port from the ALB's group only, its roles and FIS
template are accepted by the lab. Marked slow (about 10 s): the round trip
in test_import_aws_roundtrip.py is the import's test in `make test`."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
import yaml

from chaoslab.api import Lab
from chaoslab.cli import main

FIXTURE = Path(__file__).parents[2] / "unit" / "importer" / "fixtures" / "shop.cfn.yaml"


@pytest.mark.slow
@pytest.mark.realistic
def test_an_imported_template_comes_up(tmp_path: Path) -> None:
    assert main(["import", "cloudformation", str(FIXTURE), "-o", str(tmp_path / "out")]) == 0
    doc = yaml.safe_load((tmp_path / "out" / "stack.yaml").read_text())
    body = json.loads((tmp_path / "out" / "experiment-templates" / "StopOne.json").read_text())
    with Lab(doc, fast=True, home=tmp_path / "lab") as lab:
        with urllib.request.urlopen(lab.alb_url() + "/health", timeout=5) as resp:
            assert resp.read() == b"ok\n"  # written and served by the user data
        ec2 = lab.client("ec2")
        ids = {g["GroupName"]: g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]}
        (app,) = ec2.describe_security_groups(GroupIds=[ids["AppSg"]])["SecurityGroups"]
        assert [(p["FromPort"], [u["GroupId"] for u in p["UserIdGroupPairs"]]) for p in app["IpPermissions"]] == [
            (80, [ids["shop-lab-alb-sg"]])
        ]
        instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
        assert instances and all([g["GroupId"] for g in i["SecurityGroups"]] == [ids["AppSg"]] for i in instances)
        iam = lab.client("iam")
        assert sorted(iam.list_role_policies(RoleName="shop-lab-fis-role")["PolicyNames"]) == [
            "shop-lab-describe",
            "stop-tagged",
        ]
        created = lab.client("fis").create_experiment_template(clientToken="import-test", **body)
        assert created["experimentTemplate"]["roleArn"].endswith(":role/shop-lab-fis-role")
