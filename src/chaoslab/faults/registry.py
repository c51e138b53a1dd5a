"""Every fault family, by the name it journals under: the one table FIS executors, SSM documents,
crash recovery and the watchdog revert through. A new family is one module with a `Fault`
subclass and one row here (docs/faults.md)."""

from __future__ import annotations

from chaoslab.faults.acl_swap import AclSwap
from chaoslab.faults.api_errors import ApiErrors
from chaoslab.faults.base import Fault
from chaoslab.faults.capacity import LaunchRefusal
from chaoslab.faults.instance_stop import InstanceStop
from chaoslab.faults.network import NetworkLatency, NetworkRules
from chaoslab.faults.process import KillProcess
from chaoslab.faults.ssm_automation import SsmAutomation
from chaoslab.faults.ssm_command import SsmCommand
from chaoslab.faults.stress import Stress
from chaoslab.faults.volume_io import VolumeLatency, VolumePause
from chaoslab.faults.zonal_shift import ZonalShift

FAMILIES: tuple[type[Fault], ...] = (
    Stress,
    KillProcess,
    NetworkRules,
    NetworkLatency,
    ApiErrors,
    InstanceStop,
    SsmCommand,
    SsmAutomation,
    LaunchRefusal,
    ZonalShift,
    VolumePause,
    VolumeLatency,
    AclSwap,
)
REGISTRY: dict[str, type[Fault]] = {family.name: family for family in FAMILIES}
