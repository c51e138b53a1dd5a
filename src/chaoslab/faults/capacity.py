"""Launches an Auto Scaling group makes are refused (EC2's InsufficientInstanceCapacity) by a
check installed on the lab's Auto Scaling backend under a key. The check lives only in the lab
process, so a crash removes it; the undo record names the key, and removing a key that is gone
(or from a lab that is gone) does nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaoslab.faults.base import Fault

LaunchCheck = Callable[[Any, str], Any]
"""(group, zone) -> the AwsError that refuses the launch, or None to let it go ahead."""


class LaunchRefusal(Fault):
    """`check` decides, launch by launch, which of the groups' launches fail."""

    name = "capacity.asg_launches"

    def __init__(self, lab: Any, key: str, check: LaunchCheck, target: str) -> None:
        self.lab, self.key, self.check, self.target = lab, key, check, target

    async def arm(self) -> dict[str, Any]:
        return {"key": self.key, "target": self.target}

    async def go(self) -> None:
        self.lab.autoscaling.add_launch_check(self.key, self.check)

    @classmethod
    async def revert(cls, lab: Any, record: dict[str, Any]) -> None:
        autoscaling = getattr(lab, "autoscaling", None)
        if autoscaling is not None:  # the watchdog's dead lab has none: the check died with it
            autoscaling.remove_launch_check(record["key"])
