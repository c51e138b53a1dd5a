"""A compute unit for an ECS task or an EC2 instance, wired to the lab: the runtime its backend
chose, its scratch directory in the lab's state dir and its output shipped to CloudWatch Logs
(the unit knows none of these by itself)."""

from __future__ import annotations

from collections.abc import Callable

from chaoslab.runtime.cgroups import Limits
from chaoslab.runtime.kinds.base import UnitRuntime
from chaoslab.runtime.network import VpcNetwork
from chaoslab.runtime.unit import ComputeUnit, ExitInfo
from chaoslab.types import LabLike


def new_unit(
    lab: LabLike,
    runtime: UnitRuntime,
    network: VpcNetwork,
    az: str,
    unit_id: str,
    on_exit: Callable[[ExitInfo], None] | None = None,
    limits: Limits | None = None,
) -> ComputeUnit:
    """`limits` are the unit's (a task's cpu/memory, an instance type's), enforced where the
    lab has cgroups (`lab.cgroups`)."""
    logs = getattr(lab, "logs", None)
    return ComputeUnit(
        network,
        az,
        unit_id,
        runtime=runtime,
        workdir=lab.config.home / "units" / unit_id,
        ship_log=logs.append if logs is not None else None,
        on_exit=on_exit,
        cgroups=getattr(lab, "cgroups", None),
        limits=limits,
    )
