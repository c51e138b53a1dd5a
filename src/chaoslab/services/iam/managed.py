"""The AWS managed policies for FIS experiment roles, pre-loaded so templates written for AWS (which
attach e.g. `service-role/AWSFaultInjectionSimulatorEC2Access`) work unchanged.

The statements are written from knowledge of the published documents and are APPROXIMATE: they
grant the actions each FIS action family needs, on the resource types AWS scopes them to, but
they are not byte-for-byte copies of a particular AWS policy version (see docs/iam.md)."""

from __future__ import annotations

from typing import Any

PATH = "/service-role/"
PREFIX = "arn:aws:iam::aws:policy/service-role/"
_INSTANCE = "arn:aws:ec2:*:*:instance/*"
_SSM_DOCUMENT = "arn:aws:ssm:*:*:document/*"


def _allow(sid: str, actions: list[str], resources: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources, **extra}


_SSM_COMMANDS = [
    _allow("AllowSSMSendOnEc2", ["ssm:SendCommand"], [_INSTANCE, _SSM_DOCUMENT]),
    _allow("AllowSSMStopOnEc2", ["ssm:CancelCommand", "ssm:ListCommands"]),
]

POLICIES: dict[str, tuple[str, list[dict[str, Any]]]] = {
    # Not a FIS policy, but seed 004 attaches it to its task execution role.
    "AmazonECSTaskExecutionRolePolicy": (
        "Provides access to other AWS service resources that are required to run Amazon ECS tasks.",
        [
            _allow(
                "TaskExecution",
                [
                    "ecr:GetAuthorizationToken",
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                ],
            )
        ],
    ),
    "AWSFaultInjectionSimulatorEC2Access": (
        "Grants FIS permission to stop, start, reboot and terminate EC2 instances and run SSM commands on them.",
        [
            _allow(
                "AllowEc2Actions",
                [
                    "ec2:RebootInstances",
                    "ec2:SendSpotInstanceInterruptions",
                    "ec2:StartInstances",
                    "ec2:StopInstances",
                    "ec2:TerminateInstances",
                ],
                _INSTANCE,
            ),
            _allow(
                "AllowEc2InstancesWithEncryptedEbsVolumes",
                ["kms:CreateGrant"],
                "arn:aws:kms:*:*:key/*",
                Condition={
                    "StringLike": {"kms:ViaService": "ec2.*.amazonaws.com"},
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                },
            ),
            *_SSM_COMMANDS,
            _allow("DescribeInstances", ["ec2:DescribeInstances"]),
            _allow("TargetResolutionByTags", ["tag:GetResources"]),
        ],
    ),
    "AWSFaultInjectionSimulatorECSAccess": (
        "Grants FIS permission to stop ECS tasks, drain container instances and run task faults via SSM.",
        [
            _allow(
                "AllowEcsDescribe",
                ["ecs:DescribeClusters", "ecs:DescribeTasks", "ecs:ListTasks", "ecs:ListContainerInstances"],
            ),
            _allow("AllowEcsStopTask", ["ecs:StopTask"], "arn:aws:ecs:*:*:task/*"),
            _allow("AllowEcsDrain", ["ecs:UpdateContainerInstancesState"], "arn:aws:ecs:*:*:container-instance/*"),
            _allow("DescribeInstances", ["ec2:DescribeInstances"]),
            *_SSM_COMMANDS,
            _allow(
                "AllowSSMManagedInstances",
                [
                    "ssm:AddTagsToResource",
                    "ssm:DeregisterManagedInstance",
                    "ssm:DescribeInstanceInformation",
                    "ssm:GetCommandInvocation",
                    "ssm:CreateActivation",
                    "ssm:DeleteActivation",
                ],
            ),
            _allow(
                "AllowPassRoleToSsm",
                ["iam:PassRole"],
                "*",
                Condition={"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}},
            ),
            _allow("TargetResolutionByTags", ["tag:GetResources"]),
        ],
    ),
    "AWSFaultInjectionSimulatorEKSAccess": (
        "Grants FIS permission to terminate EKS node group instances and inject pod faults.",
        [
            _allow("AllowEc2Terminate", ["ec2:TerminateInstances"], _INSTANCE),
            _allow("AllowEksDescribe", ["eks:DescribeNodegroup", "eks:DescribeCluster"]),
            _allow("DescribeInstances", ["ec2:DescribeInstances", "ec2:DescribeSubnets"]),
            _allow("TargetResolutionByTags", ["tag:GetResources"]),
        ],
    ),
    "AWSFaultInjectionSimulatorNetworkAccess": (
        "Grants FIS permission to disrupt subnet connectivity with network ACLs it creates and removes.",
        [
            _allow(
                "AllowCreateFisNetworkAcls",
                ["ec2:CreateNetworkAcl"],
                "arn:aws:ec2:*:*:network-acl/*",
                Condition={"StringEquals": {"aws:RequestTag/managedByFIS": "true"}},
            ),
            _allow(
                "AllowTagFisNetworkAcls",
                ["ec2:CreateTags"],
                "arn:aws:ec2:*:*:network-acl/*",
                Condition={
                    "StringEquals": {"ec2:CreateAction": "CreateNetworkAcl", "aws:RequestTag/managedByFIS": "true"}
                },
            ),
            _allow(
                "AllowChangeFisNetworkAcls",
                ["ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAcl"],
                ["arn:aws:ec2:*:*:network-acl/*", "arn:aws:ec2:*:*:vpc/*"],
                Condition={"StringEquals": {"ec2:ResourceTag/managedByFIS": "true"}},
            ),
            _allow("AllowCreateNetworkAclInVpc", ["ec2:CreateNetworkAcl"], "arn:aws:ec2:*:*:vpc/*"),
            _allow(
                "AllowDescribeNetwork",
                [
                    "ec2:DescribeVpcs",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeNetworkAcls",
                    "ec2:DescribeManagedPrefixLists",
                    "ec2:DescribeVpcPeeringConnections",
                    "ec2:DescribeTransitGatewayAttachments",
                    "ec2:GetManagedPrefixListEntries",
                ],
            ),
            _allow(
                "AllowReplaceAclAssociation",
                ["ec2:ReplaceNetworkAclAssociation"],
                ["arn:aws:ec2:*:*:subnet/*", "arn:aws:ec2:*:*:network-acl/*"],
            ),
            _allow("TargetResolutionByTags", ["tag:GetResources"]),
        ],
    ),
    "AWSFaultInjectionSimulatorRDSAccess": (
        "Grants FIS permission to fail over RDS/Aurora clusters and reboot DB instances.",
        [
            _allow("AllowFailover", ["rds:FailoverDBCluster"], "arn:aws:rds:*:*:cluster:*"),
            _allow("AllowReboot", ["rds:RebootDBInstance"], "arn:aws:rds:*:*:db:*"),
            _allow("AllowDescribe", ["rds:DescribeDBClusters", "rds:DescribeDBInstances"]),
            _allow("TargetResolutionByTags", ["tag:GetResources"]),
        ],
    ),
    "AWSFaultInjectionSimulatorSSMAccess": (
        "Grants FIS permission to run SSM documents and automations against EC2 instances.",
        [
            *_SSM_COMMANDS,
            _allow("AllowAutomation", ["ssm:StartAutomationExecution"], "arn:aws:ssm:*:*:automation-definition/*:*"),
            _allow("AllowAutomationControl", ["ssm:GetAutomationExecution", "ssm:StopAutomationExecution"]),
            _allow(
                "AllowPassRoleToSsm",
                ["iam:PassRole"],
                "*",
                Condition={"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}},
            ),
            _allow("DescribeInstances", ["ec2:DescribeInstances"]),
        ],
    ),
}


def arn_of(name: str) -> str:
    return PREFIX + name


def documents() -> dict[str, dict[str, Any]]:
    """Policy name -> full policy document."""
    return {name: {"Version": "2012-10-17", "Statement": stmts} for name, (_, stmts) in POLICIES.items()}
