"""The one table of FIS actions and target resource types.

Validation, the ListActions/GetAction/…TargetResourceType operations and the engine all read
these entries, so a new action is added here once and is then listed, validated and (when
`executor` names an implementation) run. Lab-only actions (`chaoslab:` ids) sit in the same
table, so ListActions shows them and templates may use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chaoslab.services.fis.params import (
    BOOLEAN,
    Param,
    arn_of,
    comma_list,
    duration,
    enum,
    int_range,
    json_object,
)


@dataclass(frozen=True)
class ActionSpec:
    """What FIS knows about one actionId, plus which lab executor runs it (None = not yet)."""

    id: str
    description: str
    parameters: dict[str, Param] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)  # action target key -> resource type
    permissions: tuple[str, ...] = ()
    executor: str | None = None
    # The parameter that sets how long the action lasts (the engine waits for it).
    duration_param: str | None = None


@dataclass(frozen=True)
class TargetTypeSpec:
    resource_type: str
    description: str
    parameters: dict[str, Param] = field(default_factory=dict)


ACTION_DURATION = duration("PT1M", "PT12H")
_ALARM_STATES = enum("OK", "ALARM", "INSUFFICIENT_DATA")


def _duration(required: bool = True) -> Param:
    return Param("The duration of the action, e.g. PT5M.", required, None, ACTION_DURATION)


def _install() -> Param:
    return Param("Install the tools the action needs.", False, "True", BOOLEAN)


def _inject_api(kind: str, permission: str) -> ActionSpec:
    return ActionSpec(
        id=f"aws:fis:inject-api-{kind}-error",
        description=f"Inject {kind} errors into requests made by the target IAM role.",
        parameters={
            "duration": _duration(),
            "service": Param("Target AWS API namespace (ec2 or kinesis).", True, None, enum("ec2", "kinesis")),
            "percentage": Param("Percentage (1-100) of calls to fault.", True, None, int_range(1, 100)),
            "operations": Param("Comma-separated API operations to fault.", True, None, comma_list()),
        },
        targets={"Roles": "aws:iam:role"},
        permissions=(permission,),
        executor=f"fis.inject_api_{kind}_error",
        duration_param="duration",
    )


def _ecs_task_action(suffix: str, description: str, params: dict[str, Param], extra: tuple[str, ...] = ()) -> ActionSpec:
    return ActionSpec(
        id=f"aws:ecs:task-{suffix}",
        description=description,
        parameters=params,
        targets={"Tasks": "aws:ecs:task"},
        permissions=("ecs:DescribeTasks", "ssm:SendCommand", "ssm:ListCommands", "ssm:CancelCommand") + extra,
        executor="ecs.task_" + suffix.replace("-", "_"),
        duration_param="duration" if "duration" in params else None,
    )


_ECS_NET_COMMON = {
    "duration": _duration(),
    "installDependencies": _install(),
    "useEcsFaultInjectionEndpoints": Param("Use the ECS fault injection endpoints.", False, "false", BOOLEAN),
}

_SOURCES = Param("Comma-separated sources (IPv4, CIDR, domain, AZ, ALL, DYNAMODB, S3).", False, "ALL", comma_list())
_FLOWS = Param("Percentage of network flows affected (1-100).", False, "100", int_range(1, 100))

_ACTIONS: list[ActionSpec] = [
    _inject_api("internal", "fis:InjectApiInternalError"),
    _inject_api("throttle", "fis:InjectApiThrottleError"),
    _inject_api("unavailable", "fis:InjectApiUnavailableError"),
    ActionSpec(
        id="aws:fis:wait",
        description="Run the AWS FIS wait action.",
        parameters={"duration": _duration()},
        executor="fis.wait",
        duration_param="duration",
    ),
    ActionSpec(
        id="aws:cloudwatch:assert-alarm-state",
        description="Verify that the specified alarms are in one of the specified alarm states.",
        parameters={
            "alarmArns": Param("Comma-separated alarm ARNs (at most 5).", True, None, comma_list(arn_of("cloudwatch"), 5)),
            "alarmStates": Param("Comma-separated alarm states (OK, ALARM, INSUFFICIENT_DATA).", True, None,
                                 comma_list(_ALARM_STATES)),
        },
        permissions=("cloudwatch:DescribeAlarms",),
        executor="cloudwatch.assert_alarm_state",
    ),
    ActionSpec(
        id="aws:ecs:stop-task",
        description="Stop the specified tasks.",
        targets={"Tasks": "aws:ecs:task"},
        permissions=("ecs:DescribeTasks", "ecs:ListTasks", "ecs:StopTask", "tag:GetResources"),
        executor="ecs.stop_task",
    ),
    ActionSpec(
        id="aws:ecs:drain-container-instances",
        description="Drain percentage of underlying EC2 instances on an ECS cluster.",
        parameters={
            "drainagePercentage": Param("Percentage (1-100) of container instances to drain.", True, None, int_range(1, 100)),
            "duration": _duration(),
        },
        targets={"Clusters": "aws:ecs:cluster"},
        permissions=("ecs:DescribeClusters", "ecs:UpdateContainerInstancesState", "ecs:ListContainerInstances",
                     "tag:GetResources"),
        duration_param="duration",
    ),
    _ecs_task_action("cpu-stress", "Run CPU stress on the target tasks.", {
        "duration": _duration(),
        "percent": Param("Target CPU load percentage (0-100).", False, "100", int_range(0, 100)),
        "workers": Param("Number of CPU stressors (0 = all).", False, "0", int_range(0, 1024)),
        "installDependencies": _install(),
    }),
    _ecs_task_action("io-stress", "Run I/O stress on the target tasks.", {
        "duration": _duration(),
        "percent": Param("Percentage of free file system space to use.", False, "80", int_range(1, 100)),
        "workers": Param("Number of I/O stressors.", False, "1", int_range(1, 1024)),
        "installDependencies": _install(),
    }),
    _ecs_task_action("kill-process", "Kill the specified process in the target tasks.", {
        "processName": Param("Name of the process to kill.", True),
        "signal": Param("SIGTERM or SIGKILL.", False, "SIGTERM", enum("SIGTERM", "SIGKILL")),
        "installDependencies": _install(),
    }),
    _ecs_task_action("network-blackhole-port", "Drop traffic on a port for the target tasks.", {
        **_ECS_NET_COMMON,
        "port": Param("The port number.", True, None, int_range(0, 65535)),
        "trafficType": Param("ingress or egress.", True, None, enum("ingress", "egress")),
        "protocol": Param("tcp or udp.", False, "tcp", enum("tcp", "udp")),
    }),
    _ecs_task_action("network-latency", "Add latency to egress traffic of the target tasks.", {
        **_ECS_NET_COMMON,
        "delayMilliseconds": Param("Delay in milliseconds.", False, "200", int_range(0, 1_000_000)),
        "jitterMilliseconds": Param("Jitter in milliseconds.", False, "10", int_range(0, 1_000_000)),
        "flowsPercent": _FLOWS,
        "sources": _SOURCES,
    }, ("ecs:DescribeContainerInstances", "ec2:DescribeInstances", "ec2:DescribeSubnets")),
    _ecs_task_action("network-packet-loss", "Drop a share of egress packets of the target tasks.", {
        **_ECS_NET_COMMON,
        "lossPercent": Param("Percentage of packets lost (0-100).", False, "7", int_range(0, 100)),
        "flowsPercent": _FLOWS,
        "sources": _SOURCES,
    }),
    ActionSpec(
        id="aws:ec2:stop-instances",
        description="Stop the specified EC2 instances.",
        parameters={
            "startInstancesAfterDuration": Param(
                "The time to wait before restarting the instances (PT1M-PT12H).", False, None, ACTION_DURATION),
            "completeIfInstancesTerminated": Param(
                "Complete the action if the instances get terminated.", False, "false", BOOLEAN),
        },
        targets={"Instances": "aws:ec2:instance"},
        permissions=("ec2:StopInstances", "ec2:StartInstances", "ec2:DescribeInstances"),
        executor="ec2.stop_instances",
        duration_param="startInstancesAfterDuration",
    ),
    ActionSpec(
        id="aws:ec2:reboot-instances",
        description="Reboot the specified EC2 instances.",
        targets={"Instances": "aws:ec2:instance"},
        permissions=("ec2:RebootInstances", "ec2:DescribeInstances"),
        executor="ec2.reboot_instances",
    ),
    ActionSpec(
        id="aws:ec2:terminate-instances",
        description="Terminate the specified EC2 instances.",
        targets={"Instances": "aws:ec2:instance"},
        permissions=("ec2:TerminateInstances", "ec2:DescribeInstances"),
        executor="ec2.terminate_instances",
    ),
    ActionSpec(
        id="aws:ec2:send-spot-instance-interruptions",
        description="Send a Spot interruption notice to the target Spot Instances.",
        parameters={"durationBeforeInterruption": Param(
            "Time between the notice and the interruption (PT2M-PT15M).", True, None, duration("PT2M", "PT15M"))},
        targets={"SpotInstances": "aws:ec2:spot-instance"},
        permissions=("ec2:SendSpotInstanceInterruptions", "ec2:DescribeInstances"),
        executor="ec2.send_spot_instance_interruptions",
        duration_param="durationBeforeInterruption",
    ),
    ActionSpec(
        id="aws:ec2:api-insufficient-instance-capacity-error",
        description="Return InsufficientInstanceCapacity errors to the target IAM roles.",
        parameters={
            "duration": _duration(),
            "availabilityZoneIdentifiers": Param("Comma-separated AZ names or IDs.", True, None, comma_list()),
            "percentage": Param("Percentage (1-100) of calls to fault.", False, "100", int_range(1, 100)),
        },
        targets={"Roles": "aws:iam:role"},
        permissions=("ec2:InjectApiError",),
        duration_param="duration",
    ),
    ActionSpec(
        id="aws:ssm:send-command",
        description="Run the specified SSM document on the target instances.",
        parameters={
            "documentArn": Param("The ARN of the SSM document.", True, None, arn_of("ssm")),
            "documentVersion": Param("The version of the document."),
            "documentParameters": Param("The document parameters as a JSON object string.", False, None, json_object),
            "duration": _duration(),
        },
        targets={"Instances": "aws:ec2:instance"},
        permissions=("ssm:SendCommand", "ssm:ListCommands", "ssm:CancelCommand"),
        executor="ssm.send_command",
        duration_param="duration",
    ),
    ActionSpec(
        id="aws:ssm:start-automation-execution",
        description="Run the specified SSM Automation document.",
        parameters={
            "documentArn": Param("The ARN of the Automation document.", True, None, arn_of("ssm")),
            "documentVersion": Param("The version of the document."),
            "documentParameters": Param("The document parameters as a JSON object string.", False, None, json_object),
            "maxDuration": Param("The longest the automation may run.", True, None, ACTION_DURATION),
        },
        permissions=("ssm:GetAutomationExecution", "ssm:StartAutomationExecution", "ssm:StopAutomationExecution"),
        duration_param="maxDuration",
    ),
    ActionSpec(
        id="aws:rds:reboot-db-instances",
        description="Reboot the specified DB instances.",
        parameters={"forceFailover": Param("Fail over a Multi-AZ instance (true/false).", False, "false", BOOLEAN)},
        targets={"DBInstances": "aws:rds:db"},
        permissions=("rds:RebootDBInstance", "rds:DescribeDBInstances", "tag:GetResources"),
        executor="rds.reboot_db_instances",
    ),
    ActionSpec(
        id="aws:rds:failover-db-cluster",
        description="Fail over the specified Aurora DB clusters.",
        targets={"Clusters": "aws:rds:cluster"},
        permissions=("rds:FailoverDBCluster", "rds:DescribeDBClusters", "tag:GetResources"),
        executor="rds.failover_db_cluster",
    ),
    ActionSpec(
        id="aws:network:disrupt-connectivity",
        description="Deny network traffic to or from the target subnets.",
        parameters={
            "duration": _duration(),
            "scope": Param("all, availability-zone, dynamodb, prefix-list, s3, s3express or vpc.", False, "all",
                           enum("all", "availability-zone", "dynamodb", "prefix-list", "s3", "s3express", "vpc")),
            "prefixListIdentifier": Param("The prefix list (scope prefix-list only)."),
        },
        targets={"Subnets": "aws:ec2:subnet"},
        permissions=("ec2:CreateNetworkAcl", "ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAcl",
                     "ec2:DescribeNetworkAcls", "ec2:DescribeSubnets", "ec2:ReplaceNetworkAclAssociation",
                     "ec2:CreateTags", "ec2:DescribeVpcs"),
        executor="network.disrupt_connectivity",
        duration_param="duration",
    ),
]

SSM_DOCUMENTS = (
    "AWSFIS-Run-CPU-Stress", "AWSFIS-Run-Memory-Stress", "AWSFIS-Run-IO-Stress", "AWSFIS-Run-Disk-Fill",
    "AWSFIS-Run-Kill-Process", "AWSFIS-Run-Network-Blackhole-Port", "AWSFIS-Run-Network-Latency",
    "AWSFIS-Run-Network-Latency-Sources", "AWSFIS-Run-Network-Packet-Loss",
    "AWSFIS-Run-Network-Packet-Loss-Sources", "AWSFIS-Run-Network-Blackhole-Port-ECS",
    "AWSFIS-Run-Network-Latency-ECS", "AWSFIS-Run-Network-Packet-Loss-ECS",
)
"""Pre-configured SSM documents `aws:ssm:send-command` may name (arn:aws:ssm:<region>::document/<name>)."""

_LAB_ACTIONS: list[ActionSpec] = [
    # Lab-only: what a chaos practitioner needs and FIS has no action for. The `chaoslab:` prefix
    # keeps a template that uses one from passing for a template AWS would accept.
    ActionSpec(
        id="chaoslab:ecs:fargate-spot-interruption",
        description="(chaoslab only) Interrupt Fargate Spot tasks: a Spot interruption warning, then the "
                    "task stops with stopCode SpotInterruption after durationBeforeInterruption.",
        parameters={"durationBeforeInterruption": Param(
            "Time between the warning and the stop (AWS gives two minutes).", False, "PT2M",
            duration("PT0S", "PT15M"))},
        targets={"Tasks": "aws:ecs:task"},
        permissions=("ecs:DescribeTasks", "ecs:StopTask"),
        executor="ecs.fargate_spot_interruption",
        duration_param="durationBeforeInterruption",
    ),
]

ACTIONS: dict[str, ActionSpec] = {a.id: a for a in _ACTIONS + _LAB_ACTIONS}


def _p(description: str, required: bool = False) -> Param:
    return Param(description, required)


TARGET_TYPES: dict[str, TargetTypeSpec] = {t.resource_type: t for t in [
    TargetTypeSpec("aws:ec2:instance", "An Amazon EC2 instance."),
    TargetTypeSpec("aws:ec2:spot-instance", "An Amazon EC2 Spot Instance."),
    TargetTypeSpec("aws:ec2:subnet", "An Amazon VPC subnet.", {
        "availabilityZoneIdentifier": _p("The Availability Zone name or ID."),
        "vpc": _p("The VPC of the subnets."),
    }),
    TargetTypeSpec("aws:ec2:ebs-volume", "An Amazon EBS volume.", {
        "availabilityZoneIdentifier": _p("The Availability Zone name or ID.", True)}),
    TargetTypeSpec("aws:ec2:autoscaling-group", "An EC2 Auto Scaling group."),
    TargetTypeSpec("aws:ec2:transit-gateway", "A transit gateway."),
    TargetTypeSpec("aws:ec2:vpc-endpoint", "A VPC endpoint."),
    TargetTypeSpec("aws:ecs:cluster", "An Amazon ECS cluster."),
    TargetTypeSpec("aws:ecs:task", "An Amazon ECS task.", {
        "cluster": _p("The cluster of the tasks."),
        "service": _p("The service of the tasks (needs cluster)."),
    }),
    TargetTypeSpec("aws:eks:pod", "A Kubernetes pod.", {
        "clusterIdentifier": _p("The EKS cluster.", True),
        "namespace": _p("The Kubernetes namespace.", True),
        "selectorType": _p("labelSelector, deploymentName or podName.", True),
        "selectorValue": _p("The selector value.", True),
        "availabilityZoneIdentifier": _p("The Availability Zone name or ID."),
        "targetContainerName": _p("The container to target."),
    }),
    TargetTypeSpec("aws:eks:nodegroup", "An Amazon EKS node group."),
    TargetTypeSpec("aws:iam:role", "An IAM role."),
    TargetTypeSpec("aws:lambda:function", "An AWS Lambda function.", {
        "functionQualifier": _p("The function version or alias.")}),
    TargetTypeSpec("aws:rds:cluster", "An Amazon Aurora DB cluster.", {
        "writerAvailabilityZoneIdentifiers": _p("Comma-separated AZs of the writers, or all.")}),
    TargetTypeSpec("aws:rds:db", "An Amazon RDS DB instance.", {
        "availabilityZoneIdentifiers": _p("Comma-separated AZs of the instances, or all.")}),
    TargetTypeSpec("aws:s3:bucket", "An Amazon S3 bucket."),
]}
