"""EC2 instances stopped and started again when the fault is reverted (FIS's stop-instances
with startInstancesAfterDuration). The instances are the lab's, so the revert needs a live lab:
after a crash the watchdog cannot start them, and the entry stays pending for the next start."""

from __future__ import annotations

import inspect
from typing import Any

from chaoslab.faults.base import Fault, FaultStartError


class InstanceStop(Fault):
    """Stop `instance_ids` through the lab's EC2; the revert starts them."""

    name = "ec2.start_instances"

    def __init__(self, lab: Any, instance_ids: list[str]) -> None:
        self.lab, self.instance_ids = lab, instance_ids

    async def arm(self) -> dict[str, Any]:
        return {"instance_ids": self.instance_ids, "target": ",".join(self.instance_ids)}

    async def go(self) -> None:
        await _settled(self.lab.ec2.stop_instances(self.instance_ids))

    @classmethod
    async def revert(cls, lab: Any, record: dict[str, Any]) -> None:
        ec2 = getattr(lab, "ec2", None)
        if ec2 is None:
            raise FaultStartError("the lab is gone; its next start restarts the instances")
        await _settled(ec2.start_instances(record["instance_ids"]))


async def _settled(result: Any) -> Any:
    """A backend method's result, awaited if it is a coroutine (backends may be sync or async)."""
    return await result if inspect.isawaitable(result) else result
