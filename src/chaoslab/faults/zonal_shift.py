"""Load balancers and Auto Scaling groups shift away from one Availability Zone (ARC's zonal
shift): a load balancer routes nothing to its targets there, a group launches elsewhere. The shift
lives in the backends' memory under an id, so a crashed lab drops it; ending a shift that is gone
does nothing."""

from __future__ import annotations

from typing import Any

from chaoslab.faults.base import Fault


class ZonalShift(Fault):
    """`load_balancers` (ARNs) and `groups` (names) shift away from `zone` under `shift_id`."""

    name = "arc.zonal_shift"

    def __init__(
        self, lab: Any, shift_id: str, zone: str, load_balancers: list[str], groups: list[str], target: str
    ) -> None:
        self.lab, self.shift_id, self.zone, self.target = lab, shift_id, zone, target
        self.load_balancers, self.groups = load_balancers, groups

    async def arm(self) -> dict[str, Any]:
        return {"shift_id": self.shift_id, "zone": self.zone, "target": self.target}

    async def go(self) -> None:
        for arn in self.load_balancers:
            self.lab.elbv2.shift_zone(arn, self.shift_id, self.zone)
        for name in self.groups:
            self.lab.autoscaling.shift_zone(name, self.shift_id, self.zone)

    @classmethod
    async def revert(cls, lab: Any, record: dict[str, Any]) -> None:
        for backend in (getattr(lab, "elbv2", None), getattr(lab, "autoscaling", None)):
            if backend is not None:
                backend.unshift_zone(record["shift_id"])
