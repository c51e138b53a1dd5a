"""What an experiment run needs from the place it runs in: the lab (`labclient.LabClient`) or a
real AWS account (`awsaccount.AwsAccount`). The runner sees only this, so the workload, probe,
hypothesis, integrity check, windows and report are the same code for both."""

from __future__ import annotations

from typing import Any, Protocol

import aiohttp


class Target(Protocol):
    api: str  # where the AWS APIs were called, as the journal records it
    fault_events: bool  # whether `events` reports fault.applied/reverted (the lab does, AWS does not)

    def client(self, service: str) -> Any:
        """A botocore client for an AWS service of the target."""
        ...

    def status(self) -> dict[str, Any]:
        """`time_scale`, `started_at`, `stack`, `network_mode` and `load_balancers` as the lab's
        /_chaoslab/status shapes them."""
        ...

    async def events(self, session: aiohttp.ClientSession, since: int) -> tuple[list[dict[str, Any]], int]:
        """Events after sequence number `since`, and the last sequence number."""
        ...

    def alb(self, status: dict[str, Any]) -> tuple[str, str]:
        """(load balancer name, URL) the workload and probe are sent to."""
        ...

    def target_groups(self, lb_name: str) -> list[dict[str, Any]]: ...

    def sample(self, tg_arns: list[str]) -> tuple[dict[str, str], dict[str, str]]:
        """Target states (id -> state) across the groups, and the alarms' states."""
        ...

    def start_args(self, skip_unsupported: bool) -> dict[str, Any]:
        """Extra StartExperiment arguments (tags, experiment options)."""
        ...


def health_check(tg: dict[str, Any]) -> dict[str, int]:
    """A target group's health check as the windows need it, from its DescribeTargetGroups record
    (the same in the lab and in an account)."""
    return {
        "interval": tg["HealthCheckIntervalSeconds"],
        "timeout": tg["HealthCheckTimeoutSeconds"],
        "healthy": tg["HealthyThresholdCount"],
        "unhealthy": tg["UnhealthyThresholdCount"],
    }
