"""Security groups' rules (services/ec2/security_groups.py) and the iptables chains they become
(services/ec2/firewall.py), without a lab.

https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html (the default
group), https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html (rules,
statefulness), https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
(the error codes)."""

from __future__ import annotations

import pytest

from chaoslab.errors import AwsError
from chaoslab.services.ec2.firewall import IN_CHAIN, OUT_CHAIN, Endpoint, admits, restore_text
from chaoslab.services.ec2.security_groups import SecurityGroups


def _tcp(port: int, cidr: str | None = None, group: str | None = None) -> dict[str, object]:
    perm: dict[str, object] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
    if cidr:
        perm["IpRanges"] = [{"CidrIp": cidr}]
    if group:
        perm["UserIdGroupPairs"] = [{"GroupId": group}]
    return perm


def test_default_group_admits_its_members_and_all_egress() -> None:
    groups = SecurityGroups()
    default = groups.create_default("vpc-1")
    (inbound,) = default.ingress()
    (outbound,) = default.egress()
    assert (inbound.group, inbound.protocol) == (default.group_id, "-1")
    assert (outbound.cidr, outbound.protocol) == ("0.0.0.0/0", "-1")
    with pytest.raises(AwsError) as err:
        groups.delete(default.group_id, None)
    assert err.value.code == "CannotDelete"
    with pytest.raises(AwsError) as err:
        groups.create("default", "again", "vpc-1")
    assert err.value.code == "InvalidGroup.Reserved"


def test_a_new_group_has_only_the_all_egress_rule_and_names_are_unique_per_vpc() -> None:
    groups = SecurityGroups()
    web = groups.create("web", "web tier", "vpc-1")
    assert web.ingress() == [] and [r.cidr for r in web.egress()] == ["0.0.0.0/0"]
    with pytest.raises(AwsError) as err:
        groups.create("web", "again", "vpc-1")
    assert err.value.code == "InvalidGroup.Duplicate"
    groups.create("web", "another VPC's", "vpc-2")


def test_duplicate_and_unknown_rules_are_refused_with_aws_codes() -> None:
    groups = SecurityGroups()
    db = groups.create("db", "database", "vpc-1")
    groups.authorize(db, groups.parse(db, False, [_tcp(5432, cidr="10.0.0.0/16")]))
    with pytest.raises(AwsError) as err:
        groups.authorize(db, groups.parse(db, False, [_tcp(5432, cidr="10.0.0.0/16")]))
    assert err.value.code == "InvalidPermission.Duplicate"
    with pytest.raises(AwsError) as err:
        groups.revoke(db, False, groups.parse(db, False, [_tcp(5433, cidr="10.0.0.0/16")]), [])
    assert err.value.code == "InvalidPermission.NotFound"
    with pytest.raises(AwsError) as err:
        groups.parse(db, False, [_tcp(5432, group="sg-0000000000000000a")])
    assert err.value.code == "InvalidGroup.NotFound"
    with pytest.raises(AwsError) as err:
        groups.parse(
            db, False, [{"IpProtocol": "tcp", "FromPort": 90, "ToPort": 80, "IpRanges": [{"CidrIp": "1.2.3.4/32"}]}]
        )
    assert err.value.code == "InvalidParameterValue"


def test_a_group_in_use_or_referenced_cannot_be_deleted() -> None:
    used: set[str] = set()
    groups = SecurityGroups(in_use=lambda gid: gid in used)
    app = groups.create("app", "app", "vpc-1")
    db = groups.create("db", "db", "vpc-1")
    groups.authorize(db, groups.parse(db, False, [_tcp(5432, group=app.group_id)]))
    with pytest.raises(AwsError) as err:
        groups.delete(app.group_id, None)
    assert err.value.code == "DependencyViolation"
    used.add(db.group_id)
    with pytest.raises(AwsError) as err:
        groups.delete(db.group_id, None)
    assert err.value.code == "DependencyViolation"
    used.clear()
    groups.delete(db.group_id, None)
    groups.delete(app.group_id, None)


def test_describe_folds_rules_into_ip_permissions() -> None:
    groups = SecurityGroups()
    app = groups.create("app", "app", "vpc-1")
    db = groups.create("db", "db", "vpc-1")
    groups.authorize(db, groups.parse(db, False, [_tcp(5432, cidr="10.0.10.0/24") | _tcp(5432, group=app.group_id)]))
    (perm,) = db.to_record("123456789012", "us-east-1")["IpPermissions"]
    assert (perm["FromPort"], perm["ToPort"], perm["IpProtocol"]) == (5432, 5432, "tcp")
    assert perm["IpRanges"] == [{"CidrIp": "10.0.10.0/24"}]
    assert [p["GroupId"] for p in perm["UserIdGroupPairs"]] == [app.group_id]


def test_chains_admit_peers_by_group_membership_and_drop_the_rest() -> None:
    groups = SecurityGroups()
    alb = groups.create("alb", "alb", "vpc-1")
    app = groups.create("app", "app", "vpc-1")
    groups.authorize(app, groups.parse(app, False, [_tcp(80, group=alb.group_id)]))
    members = {alb.group_id: ["10.0.10.1", "10.0.11.1"], app.group_id: ["10.0.10.5"]}
    text = restore_text("10.0.10.5", app.ingress(), app.egress(), members, [], "10.0.0.2", hook=True)
    lines = text.splitlines()
    assert f"-A {IN_CHAIN} -s 10.0.10.1/32 -p tcp --dport 80:80 -j RETURN" in lines
    assert f"-A {IN_CHAIN} -s 10.0.11.1/32 -p tcp --dport 80:80 -j RETURN" in lines
    assert lines.index(f"-A {IN_CHAIN} -j DROP") > lines.index(
        f"-A {IN_CHAIN} -s 10.0.11.1/32 -p tcp --dport 80:80 -j RETURN"
    )
    assert f"-A {IN_CHAIN} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN" in lines  # stateful
    assert f"-A INPUT -j {IN_CHAIN}" in lines and f"-A OUTPUT -j {OUT_CHAIN}" in lines
    unhooked = restore_text("10.0.10.5", app.ingress(), app.egress(), members, [], "10.0.0.2", hook=False)
    assert "-A INPUT" not in unhooked


def test_an_endpoint_admits_only_what_its_groups_ingress_admits() -> None:
    groups = SecurityGroups()
    app = groups.create("app", "app", "vpc-1")
    db = groups.create("db", "db", "vpc-1")
    groups.authorize(db, groups.parse(db, False, [_tcp(5432, group=app.group_id)]))
    members = {app.group_id: ["10.0.10.5"]}
    assert admits(db.ingress(), members, "10.0.10.5", 5432)
    assert not admits(db.ingress(), members, "10.0.10.6", 5432)
    assert not admits(db.ingress(), members, "10.0.10.5", 5433)
    endpoint = Endpoint("10.0.0.2", 5433, 5432, (db.group_id,))
    outsider = restore_text("10.0.10.6", [], app.egress(), members, [(endpoint, db.ingress())], "10.0.0.2", False)
    assert "-d 10.0.0.2/32 -p tcp --dport 5433 -j MARK" in outsider  # the port it listens on
    member = restore_text("10.0.10.5", [], app.egress(), members, [(endpoint, db.ingress())], "10.0.0.2", False)
    assert "--dport 5433 -j MARK" not in member
