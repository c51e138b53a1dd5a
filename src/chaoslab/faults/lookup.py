"""Finding a fault's unit again: reverters get the lab and an undo record naming the unit."""

from __future__ import annotations

from typing import Any

from chaoslab.runtime.unit import ComputeUnit


def live_unit(lab: Any, unit_id: str) -> ComputeUnit | None:
    """The live unit of an ECS task or EC2 instance id, if the lab (still) has it: reverters run
    after a crash too (the watchdog's), with no lab services at all."""
    for owner in (getattr(lab, "ecs", None) and lab.ecs.tasks, getattr(lab, "ec2", None) and lab.ec2.instances):
        item = (owner or {}).get(unit_id)
        unit = getattr(item, "unit", None)
        if isinstance(unit, ComputeUnit):
            return unit
    return None
