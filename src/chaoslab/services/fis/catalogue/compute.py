"""EC2, EBS, Systems Manager and Lambda actions."""

from __future__ import annotations

from chaoslab.services.fis.catalogue.spec import (
    ACTION_DURATION,
    ActionSpec,
    duration_of,
    flag,
    open_duration,
    percentage,
)
from chaoslab.services.fis.params import Param, arn_of, comma_list, duration, float_range, int_range, json_object

_NO_LAMBDA = "the lab has no Lambda functions"
_AZS = Param("Comma-separated Availability Zone names or IDs.", True, None, comma_list(spaces=True))


def _ebs_latency(op: str) -> dict[str, Param]:
    return {
        f"{op}IOPercentage": Param(
            f"Percentage (0.1-100) of {op} I/O operations delayed.", False, "100", float_range(0.1, 100)
        ),
        f"{op}IOLatencyMilliseconds": Param(
            f"Latency added to {op} I/O, in milliseconds (from 1 on io2 volumes, 10 on others, up to 60000).",
            False,
            "100",
            int_range(1, 60_000),
        ),
    }


def _document(what: str) -> dict[str, Param]:
    return {
        "documentArn": Param(f"The ARN of the {what}.", True, None, arn_of("ssm")),
        "documentVersion": Param("The document version (the default version when empty)."),
        "documentParameters": Param(
            "The document's parameters: a JSON object (as a string) of strings or lists of strings.",
            False,
            None,
            json_object,
        ),
    }


def _lambda(suffix: str, description: str, extra: dict[str, Param]) -> ActionSpec:
    return ActionSpec(
        id=f"aws:lambda:{suffix}",
        description=description,
        parameters={
            "duration": open_duration(),
            "invocationPercentage": percentage("Percentage (1-100) of invocations faulted", False, "100"),
            **extra,
        },
        targets={"Functions": "aws:lambda:function"},
        permissions=("s3:PutObject", "s3:DeleteObject", "lambda:GetFunction", "tag:GetResources"),
        unsupported=_NO_LAMBDA,
        duration_param="duration",
    )


_PREVENT = "true: answer without running the function code; false: run it first."

ACTIONS: list[ActionSpec] = [
    ActionSpec(
        id="aws:ec2:api-insufficient-instance-capacity-error",
        description="Answer the target IAM roles' capacity requests (RunInstances, StartInstances, CreateFleet, "
        "CreateCapacityReservation) with InsufficientInstanceCapacity.",
        parameters={
            "duration": open_duration(),
            "availabilityZoneIdentifiers": _AZS,
            "percentage": percentage(required=False, default="100"),
        },
        targets={"Roles": "aws:iam:role"},
        permissions=("ec2:InjectApiError",),
        executor="ec2.api_insufficient_instance_capacity_error",
        duration_param="duration",
        selection="arns",
    ),
    ActionSpec(
        id="aws:ec2:asg-insufficient-instance-capacity-error",
        description="Make the target Auto Scaling groups' launches fail with InsufficientInstanceCapacity.",
        parameters={
            "duration": open_duration(),
            "availabilityZoneIdentifiers": _AZS,
            "percentage": percentage("Percentage (1-100) of launch requests faulted", False, "100"),
        },
        targets={"AutoScalingGroups": "aws:ec2:autoscaling-group"},
        permissions=("ec2:InjectApiError", "autoscaling:DescribeAutoScalingGroups"),
        executor="ec2.asg_insufficient_instance_capacity_error",
        duration_param="duration",
    ),
    ActionSpec(
        id="aws:ec2:reboot-instances",
        description="Reboot the target EC2 instances (RebootInstances).",
        targets={"Instances": "aws:ec2:instance"},
        permissions=("ec2:RebootInstances", "ec2:DescribeInstances"),
        executor="ec2.reboot_instances",
    ),
    ActionSpec(
        id="aws:ec2:send-spot-instance-interruptions",
        description="Send the target Spot Instances an interruption notice, then interrupt them.",
        parameters={
            "durationBeforeInterruption": Param(
                "Time between the notice and the interruption (PT2M..PT15M).", True, None, duration("PT2M", "PT15M")
            )
        },
        targets={"SpotInstances": "aws:ec2:spot-instance"},
        permissions=("ec2:SendSpotInstanceInterruptions", "ec2:DescribeInstances"),
        executor="ec2.send_spot_instance_interruptions",
        duration_param="durationBeforeInterruption",
    ),
    ActionSpec(
        id="aws:ec2:stop-instances",
        description="Stop the target EC2 instances (StopInstances), and optionally start them again.",
        parameters={
            "startInstancesAfterDuration": Param(
                "The time to wait before starting the instances again (PT1M..PT12H).", False, None, ACTION_DURATION
            ),
            "completeIfInstancesTerminated": flag("Complete the action if the instances get terminated."),
        },
        targets={"Instances": "aws:ec2:instance"},
        permissions=("ec2:StopInstances", "ec2:StartInstances", "ec2:DescribeInstances"),
        executor="ec2.stop_instances",
        duration_param="startInstancesAfterDuration",
    ),
    ActionSpec(
        id="aws:ec2:terminate-instances",
        description="Terminate the target EC2 instances (TerminateInstances).",
        targets={"Instances": "aws:ec2:instance"},
        permissions=("ec2:TerminateInstances", "ec2:DescribeInstances"),
        executor="ec2.terminate_instances",
    ),
    ActionSpec(
        id="aws:ebs:pause-volume-io",
        description="Pause I/O on the target EBS volumes (one Availability Zone, Nitro instances).",
        parameters={"duration": duration_of("PT1S")},
        targets={"Volumes": "aws:ec2:ebs-volume"},
        permissions=("ec2:DescribeVolumes", "ec2:PauseVolumeIO", "tag:GetResources"),
        executor="ebs.pause_volume_io",
        duration_param="duration",
    ),
    ActionSpec(
        id="aws:ebs:volume-io-latency",
        description="Add latency to I/O on the target EBS volumes (one Availability Zone, Nitro instances).",
        parameters={**_ebs_latency("read"), **_ebs_latency("write"), "duration": duration_of("PT1S")},
        targets={"Volumes": "aws:ec2:ebs-volume"},
        permissions=("ec2:DescribeVolumes", "ec2:InjectVolumeIOLatency", "tag:GetResources"),
        executor="ebs.volume_io_latency",
        duration_param="duration",
    ),
    ActionSpec(
        id="aws:ssm:send-command",
        description="Run an SSM document on the target instances (SendCommand).",
        parameters={**_document("SSM document"), "duration": duration_of()},
        targets={"Instances": "aws:ec2:instance"},
        permissions=("ssm:SendCommand", "ssm:ListCommands", "ssm:CancelCommand"),
        executor="ssm.send_command",
        duration_param="duration",
    ),
    ActionSpec(
        id="aws:ssm:start-automation-execution",
        description="Start an SSM Automation runbook (StartAutomationExecution).",
        parameters={
            **_document("Automation document"),
            "maxDuration": duration_of(what="The longest the automation may run"),
        },
        permissions=(
            "ssm:GetAutomationExecution",
            "ssm:StartAutomationExecution",
            "ssm:StopAutomationExecution",
            "iam:PassRole",
        ),
        executor="ssm.start_automation_execution",
        duration_param="maxDuration",
    ),
    _lambda(
        "invocation-add-delay",
        "Delay the start of the target functions' invocations.",
        {
            "startupDelayMilliseconds": Param(
                "Delay before the function code runs, 0..900000 ms.", False, "1000", int_range(0, 900_000)
            )
        },
    ),
    _lambda(
        "invocation-error",
        "Mark the target functions' invocations as failed.",
        {"preventExecution": flag(_PREVENT, None)},
    ),
    _lambda(
        "invocation-http-integration-response",
        "Answer the target functions' invocations with a chosen HTTP status and content type.",
        {
            "contentTypeHeader": Param("The Content-Type header to return.", True),
            "preventExecution": flag(_PREVENT, None),
            "statusCode": Param("The HTTP status code to return (000-999).", True, None, int_range(0, 999)),
        },
    ),
]
