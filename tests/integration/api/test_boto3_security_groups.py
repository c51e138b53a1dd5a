"""Security groups through unmodified boto3 on a real lab, enforced on real sockets: an instance
outside the database's group cannot reach it (the connection times out, as on AWS) until a
rule admits its group; revoking the rule that admits the ALB's group makes the targets
unhealthy and authorizing it again heals them; and `down` leaves no chain behind.

https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html (stateful rules,
group references), https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import time

import pytest
from api_lab import LabHandle, free_port, stack_doc, start_lab, stop_and_check, wait_for
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(180)]

DB_PORT = free_port()
# Connects from inside the instance and says how it went: refused, timed out or connected.
PROBE = (
    'python3 -c "import socket,sys\n'
    "s=socket.socket(); s.settimeout(1)\n"
    "try: s.connect((sys.argv[1], int(sys.argv[2]))); print('connected')\n"
    "except socket.timeout: print('timeout')\n"
    "except OSError as e: print('error', e)\" {host} {port}"
)


def _host_chains() -> str:
    out = []
    for table in ("filter", "mangle"):
        done = subprocess.run(["iptables", "-w", "5", "-t", table, "-S"], capture_output=True, text=True)
        out.append(done.stdout)
    return "".join(out)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    doc = stack_doc(
        "sgtest",
        {
            "security_groups": [
                {"name": "alb-sg", "ingress": [{"port": 80, "cidr": "0.0.0.0/0"}]},
                {"name": "web-sg", "ingress": [{"port": 80, "group": "alb-sg"}]},
                {"name": "db-sg", "ingress": [{"port": DB_PORT, "group": "web-sg"}]},
            ],
            "database": {
                "cluster": "sg-db",
                "database": "shop",
                "username": "admin1",
                "password": "sg-test-secret",
                "port": DB_PORT,
                "instances": [{"id": "sg-db-1", "az": "us-east-1a"}],
                "security_groups": ["db-sg"],
            },
            "target_groups": [{"name": "web-tg", "port": 80, "health_check": {"path": "/health"}}],
            "load_balancers": [
                {
                    "name": "web-alb",
                    "security_groups": ["alb-sg"],
                    "listeners": [{"port": free_port(), "target_group": "web-tg"}],
                }
            ],
            "auto_scaling_groups": [
                {
                    "name": "web",
                    "image": "chaoslab/static",
                    "port": 80,
                    "min": 1,
                    "max": 1,
                    "azs": ["us-east-1a"],
                    "target_groups": ["web-tg"],
                    "security_groups": ["web-sg"],
                }
            ],
        },
    )
    before = _host_chains()
    handle = start_lab(tmp_path_factory.mktemp("sg"), doc)
    yield handle
    stop_and_check(handle)
    assert "CLSG" not in _host_chains() and "CLSG" not in before


def _group(ec2, name: str) -> dict:
    return ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"][0]


def _run(lab: LabHandle, instance_id: str, command: str) -> str:
    ssm = lab.client("ssm")
    cid = ssm.send_command(
        InstanceIds=[instance_id], DocumentName="AWS-RunShellScript", Parameters={"commands": [command]}
    )["Command"]["CommandId"]

    def finished() -> dict | None:
        inv = ssm.get_command_invocation(CommandId=cid, InstanceId=instance_id)
        return inv if inv["Status"] in ("Success", "Failed") else None

    return wait_for(finished, 20, "the probe command")["StandardOutputContent"].strip()


def test_groups_rules_and_aws_errors(lab: LabHandle) -> None:
    ec2 = lab.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    default = _group(ec2, "default")
    assert default["VpcId"] == vpc
    assert default["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == default["GroupId"]
    gid = ec2.create_security_group(GroupName="scratch", Description="scratch", VpcId=vpc)["GroupId"]
    assert _group(ec2, "scratch")["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    perm = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}
    rules = ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[perm])["SecurityGroupRules"]
    listed = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [gid]}])["SecurityGroupRules"]
    assert rules[0]["SecurityGroupRuleId"] in {r["SecurityGroupRuleId"] for r in listed}
    with pytest.raises(ClientError) as err:
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[perm])
    assert err.value.response["Error"]["Code"] == "InvalidPermission.Duplicate"
    with pytest.raises(ClientError) as err:
        ec2.create_security_group(GroupName="scratch", Description="again", VpcId=vpc)
    assert err.value.response["Error"]["Code"] == "InvalidGroup.Duplicate"
    with pytest.raises(ClientError) as err:
        ec2.delete_security_group(GroupId=_group(ec2, "web-sg")["GroupId"])  # the web instance has it
    assert err.value.response["Error"]["Code"] == "DependencyViolation"
    ec2.delete_security_group(GroupId=gid)
    with pytest.raises(ClientError) as err:
        ec2.describe_security_groups(GroupIds=[gid])
    assert err.value.response["Error"]["Code"] == "InvalidGroup.NotFound"
    cluster = lab.client("rds").describe_db_clusters(DBClusterIdentifier="sg-db")["DBClusters"][0]
    assert [g["VpcSecurityGroupId"] for g in cluster["VpcSecurityGroups"]] == [_group(ec2, "db-sg")["GroupId"]]


def test_database_admits_only_its_groups_members(lab: LabHandle) -> None:
    ec2 = lab.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    probe_sg = ec2.create_security_group(GroupName="probe-sg", Description="a client", VpcId=vpc)["GroupId"]
    iid = ec2.run_instances(ImageId="ami-0abcdef1234567890", MinCount=1, MaxCount=1, SecurityGroupIds=[probe_sg])[
        "Instances"
    ][0]["InstanceId"]
    wait_for(
        lambda: (
            ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"
        ),
        30,
        "the probe instance",
    )
    db_host = str(ipaddress.IPv4Network(lab.cidr).network_address + 2)  # the VPC's service address
    started = time.monotonic()
    assert _run(lab, iid, PROBE.format(host=db_host, port=DB_PORT)) == "timeout"  # dropped, not refused
    assert time.monotonic() - started >= 1
    db_sg = _group(ec2, "db-sg")["GroupId"]
    pair = {"IpProtocol": "tcp", "FromPort": DB_PORT, "ToPort": DB_PORT, "UserIdGroupPairs": [{"GroupId": probe_sg}]}
    ec2.authorize_security_group_ingress(GroupId=db_sg, IpPermissions=[pair])
    assert _run(lab, iid, PROBE.format(host=db_host, port=DB_PORT)) == "connected"
    ec2.revoke_security_group_ingress(GroupId=db_sg, IpPermissions=[pair])
    assert _run(lab, iid, PROBE.format(host=db_host, port=DB_PORT)) == "timeout"


def test_revoking_the_albs_rule_makes_targets_unhealthy(lab: LabHandle) -> None:
    ec2, elb = lab.client("ec2"), lab.client("elbv2")
    tg = elb.describe_target_groups(Names=["web-tg"])["TargetGroups"][0]["TargetGroupArn"]

    def states() -> set[str]:
        return {
            d["TargetHealth"]["State"]
            for d in elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        }

    wait_for(lambda: states() == {"healthy"}, 60, "a healthy target")
    web_sg, alb_sg = _group(ec2, "web-sg")["GroupId"], _group(ec2, "alb-sg")["GroupId"]
    pair = {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": alb_sg}]}
    ec2.revoke_security_group_ingress(GroupId=web_sg, IpPermissions=[pair])
    wait_for(lambda: states() == {"unhealthy"}, 30, "the target to fail its health checks")
    ec2.authorize_security_group_ingress(GroupId=web_sg, IpPermissions=[pair])
    wait_for(lambda: states() == {"healthy"}, 30, "the target to heal")


def _connects(ip: str, port: int) -> str:
    with socket.socket() as s:
        s.settimeout(1)
        try:
            s.connect((ip, port))
        except TimeoutError:
            return "timeout"
        except OSError as exc:
            return f"error {exc}"
        return "connected"


def test_a_deny_acl_entry_blocks_its_subnet_until_removed(lab: LabHandle) -> None:
    ec2 = lab.client("ec2")
    web = ec2.describe_instances(Filters=[{"Name": "tag:aws:autoscaling:groupName", "Values": ["web"]}])
    inst = next(i for r in web["Reservations"] for i in r["Instances"] if i["State"]["Name"] == "running")
    (acl,) = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [inst["SubnetId"]]}])[
        "NetworkAcls"
    ]
    assert acl["IsDefault"] and [e["RuleNumber"] for e in acl["Entries"]] == [100, 32767, 100, 32767]
    assert _connects(inst["PrivateIpAddress"], 80) == "connected"
    entry = {"NetworkAclId": acl["NetworkAclId"], "RuleNumber": 50, "Egress": False}
    ec2.create_network_acl_entry(
        **entry, Protocol="6", RuleAction="deny", CidrBlock="0.0.0.0/0", PortRange={"From": 80, "To": 80}
    )
    with pytest.raises(ClientError) as err:
        ec2.create_network_acl_entry(**entry, Protocol="-1", RuleAction="allow", CidrBlock="0.0.0.0/0")
    assert err.value.response["Error"]["Code"] == "NetworkAclEntryAlreadyExists"
    assert _connects(inst["PrivateIpAddress"], 80) == "timeout"  # stateless, dropped at the subnet's edge
    ec2.delete_network_acl_entry(**entry)
    assert _connects(inst["PrivateIpAddress"], 80) == "connected"
