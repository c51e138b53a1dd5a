"""Security groups' and network ACLs' rules (services/ec2/security_groups.py, network_acls.py)
and the iptables chains they become (services/ec2/firewall.py), without a lab.

https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html (the default
group), https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html (rules,
statefulness), https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
(the error codes), https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html (ACLs)."""

from __future__ import annotations

import pytest

from chaoslab.errors import AwsError
from chaoslab.services.ec2.firewall import IN_CHAIN, OUT_CHAIN, Endpoint, SubnetAcl, admits, restore_text
from chaoslab.services.ec2.network_acls import AclEntry, NetworkAcls
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
    admit = "-p tcp -m conntrack --ctorigdstport 80:80 -j RETURN"  # the port it was sent to
    assert f"-A {IN_CHAIN} -s 10.0.10.1/32 {admit}" in lines
    assert f"-A {IN_CHAIN} -s 10.0.11.1/32 {admit}" in lines
    assert lines.index(f"-A {IN_CHAIN} -j DROP") > lines.index(f"-A {IN_CHAIN} -s 10.0.11.1/32 {admit}")
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


def _acl_entry(acls: NetworkAcls, number: int, action: str, egress: bool = False, port: int | None = None) -> AclEntry:
    params: dict[str, object] = {"RuleNumber": number, "RuleAction": action, "Egress": egress}
    params |= {"CidrBlock": "0.0.0.0/0", "Protocol": "6" if port else "-1"}
    if port:
        params["PortRange"] = {"From": port, "To": port}
    return acls.entry(params)


def test_network_acls_default_new_entries_and_associations() -> None:
    acls = NetworkAcls()
    default = acls.create_default("vpc-1", ["subnet-a"])
    record = default.to_record("123456789012", acls.associations_of(default.acl_id))
    assert [(e["RuleNumber"], e["RuleAction"], e["Egress"]) for e in record["Entries"]] == [
        (100, "allow", True),
        (32767, "deny", True),
        (100, "allow", False),
        (32767, "deny", False),
    ]
    custom = acls.create("vpc-1")
    assert custom.rules(egress=False) == []  # a new ACL denies everything
    acls.add_entry(custom, _acl_entry(acls, 200, "allow"))
    acls.add_entry(custom, _acl_entry(acls, 100, "deny", port=22))
    assert [e.number for e in custom.rules(egress=False)] == [100, 200]  # lowest number first
    with pytest.raises(AwsError) as err:
        acls.add_entry(custom, _acl_entry(acls, 100, "allow"))
    assert err.value.code == "NetworkAclEntryAlreadyExists"
    with pytest.raises(AwsError) as err:
        acls.entry(
            {"RuleNumber": 32767, "RuleAction": "deny", "Egress": False, "CidrBlock": "0.0.0.0/0", "Protocol": "-1"}
        )
    assert err.value.code == "InvalidParameterValue"
    ((assoc, _subnet),) = acls.associations_of(default.acl_id)
    new_assoc = acls.replace_association(assoc, custom.acl_id)
    assert acls.of_subnet("subnet-a") == (new_assoc, custom)
    with pytest.raises(AwsError) as err:
        acls.delete(custom.acl_id)
    assert err.value.code == "DependencyViolation"
    with pytest.raises(AwsError) as err:
        acls.replace_association(assoc, default.acl_id)  # the old association id is gone
    assert err.value.code == "InvalidAssociationID.NotFound"


def test_acl_chains_are_stateless_ordered_and_spare_the_subnet() -> None:
    acls = NetworkAcls()
    acl = acls.create("vpc-1")
    acls.add_entry(acl, _acl_entry(acls, 100, "deny", port=22))
    acls.add_entry(acl, _acl_entry(acls, 200, "allow"))
    subnet = SubnetAcl("10.0.10.0/24", "10.0.10.1", acl.rules(False), acl.rules(True))
    lines = restore_text("10.0.10.5", [], [], {}, [], "10.0.0.2", hook=True, acl=subnet).splitlines()
    rules = [line for line in lines if line.startswith("-A CLACL-in-r")]
    assert rules == [
        "-A CLACL-in-r -s 0.0.0.0/0 -p tcp --dport 22:22 -j DROP",
        "-A CLACL-in-r -s 0.0.0.0/0 -j RETURN",
        "-A CLACL-in-r -j DROP",
    ]
    assert not any("conntrack" in line for line in lines if "CLACL" in line)  # stateless
    # the host's address in the subnet is judged; the rest of the subnet is not (NACLs sit at its edge)
    assert lines.index("-A CLACL-in -s 10.0.10.1/32 -j CLACL-in-r") < lines.index(
        "-A CLACL-in -s 10.0.10.0/24 -j RETURN"
    )
    assert [line for line in lines if line.startswith("-A CLACL-out-r")][-1].endswith("--set-xmark 0x400000/0x400000")
    for table in "\n".join(lines).split("*")[1:]:  # every chain declared before any rule jumps to it
        body = table.splitlines()
        first_rule = next(i for i, line in enumerate(body) if line.startswith("-A"))
        assert all(i < first_rule for i, line in enumerate(body) if line.startswith(":"))


def test_queries_to_the_vpc_resolver_pass_groups_and_acls() -> None:
    """AWS's groups and ACLs never filter traffic to the VPC's DNS server (its `.2`); here a group
    with no egress and an ACL that denies everything still let a unit's DNS query out.
    https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html"""
    acls = NetworkAcls()
    acl = acls.create("vpc-1")  # a new ACL denies everything
    subnet = SubnetAcl("10.0.10.0/24", "10.0.10.1", acl.rules(False), acl.rules(True))
    lines = restore_text("10.0.10.5", [], [], {}, [], "10.0.0.2", hook=True, acl=subnet).splitlines()
    dns = "-d 10.0.0.2/32 -p udp --dport 53 -j RETURN"
    sink = next(line for line in lines if line.startswith(f"-A {OUT_CHAIN} -j MARK"))
    assert lines.index(f"-A {OUT_CHAIN} {dns}") < lines.index(sink)
    assert lines.index(f"-A CLACL-out {dns}") < lines.index("-A CLACL-out -j CLACL-out-r")
