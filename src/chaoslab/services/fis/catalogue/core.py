"""FIS's own actions (API faults, wait), CloudWatch's assertion, and the lab-only actions."""

from __future__ import annotations

from chaoslab.services.fis.catalogue.spec import ActionSpec, duration_of, percentage
from chaoslab.services.fis.params import Param, arn_of, comma_list, duration, enum


def _inject_api(kind: str, permission: str) -> ActionSpec:
    return ActionSpec(
        id=f"aws:fis:inject-api-{kind}-error",
        description=f"Inject {kind} errors into the API calls the target IAM roles make.",
        parameters={
            "duration": duration_of(),
            "service": Param("The target API namespace: ec2 or kinesis.", True, None, enum("ec2", "kinesis")),
            "percentage": percentage(),
            "operations": Param("Comma-separated API operations to fault.", True, None, comma_list(spaces=True)),
        },
        targets={"Roles": "aws:iam:role"},
        permissions=(permission,),
        executor=f"fis.inject_api_{kind}_error",
        duration_param="duration",
    )


_ALARM_STATES = enum("OK", "ALARM", "INSUFFICIENT_DATA")

ACTIONS: list[ActionSpec] = [
    _inject_api("internal", "fis:InjectApiInternalError"),
    _inject_api("throttle", "fis:InjectApiThrottleError"),
    _inject_api("unavailable", "fis:InjectApiUnavailableError"),
    ActionSpec(
        id="aws:fis:wait",
        description="Wait, while the stop conditions are still watched.",
        parameters={"duration": duration_of()},
        executor="fis.wait",
        duration_param="duration",
    ),
    ActionSpec(
        id="aws:cloudwatch:assert-alarm-state",
        description="Check that each of the alarms is in one of the given states.",
        parameters={
            "alarmArns": Param(
                "Comma-separated alarm ARNs (at most 5).", True, None, comma_list(arn_of("cloudwatch"), 5)
            ),
            "alarmStates": Param(
                "Comma-separated alarm states (OK, ALARM, INSUFFICIENT_DATA).", True, None, comma_list(_ALARM_STATES)
            ),
        },
        permissions=("cloudwatch:DescribeAlarms",),
        executor="cloudwatch.assert_alarm_state",
    ),
]

# What a chaos practitioner needs and FIS has no action for. The `chaoslab:` prefix keeps a
# template that uses one from passing for a template AWS would accept.
LAB_ACTIONS: list[ActionSpec] = [
    ActionSpec(
        id="chaoslab:ecs:fargate-spot-interruption",
        description="(chaoslab only) Interrupt Fargate Spot tasks: a Spot interruption warning, then the "
        "task stops with stopCode SpotInterruption after durationBeforeInterruption.",
        parameters={
            "durationBeforeInterruption": Param(
                "Time between the warning and the stop (AWS gives two minutes).",
                False,
                "PT2M",
                duration("PT0S", "PT15M"),
            )
        },
        targets={"Tasks": "aws:ecs:task"},
        permissions=("ecs:DescribeTasks", "ecs:StopTask"),
        executor="ecs.fargate_spot_interruption",
        duration_param="durationBeforeInterruption",
    ),
]
