"""aws:ebs:pause-volume-io and aws:ebs:volume-io-latency: the target volumes' real I/O pauses, or
slows, for the action's duration (`faults.volume_io`); the engine's revert resumes it.

Only an instance's data volume has I/O the lab can fault: its root volume is the host's own
filesystem, and on a host without FUSE no volume has (both fail the action, saying so).
"""

from __future__ import annotations

from pathlib import Path

from chaoslab.faults.base import Fault
from chaoslab.faults.volume_io import VolumeLatency, VolumePause
from chaoslab.runtime.hostcaps import fuse_unavailable
from chaoslab.services.fis.catalogue import ACTIONS
from chaoslab.services.fis.executors import ActionContext, ActionFailure, Executor, Targets
from chaoslab.services.fis.selection import Resource


def _controls(ctx: ActionContext, targets: Targets, permission: str) -> list[tuple[Resource, Path]]:
    """(resource, control file) of every target volume, all permissions checked and every
    volume found faultable before anything changes."""
    ctx.authorize("ec2:DescribeVolumes")
    ctx.authorize("tag:GetResources")
    out = []
    for r in targets["Volumes"]:
        ctx.authorize(permission, r)
        volume = next((v for v in ctx.lab.ec2.volumes() if v.volume_id == r.record["VolumeId"]), None)
        if volume is None:
            raise ActionFailure("InvalidTarget", f"Volume {r.arn} no longer exists.")
        if volume.io is None:
            raise ActionFailure(
                "InvalidTarget",
                f"Volume {r.arn} is the root volume of {volume.instance_id}, the host's own filesystem in the "
                "lab: only an instance's data volume has I/O the lab can pause or slow.",
            )
        if not volume.io.faultable:
            why = volume.io.unfaultable or fuse_unavailable() or "its I/O server is not running"
            raise ActionFailure("ConfigurationFailure", f"Volume {r.arn}'s I/O cannot be faulted here: {why}.")
        out.append((r, volume.io.control))
    return out


async def _hold(ctx: ActionContext, event: str, faults: list[tuple[Resource, Fault]], duration: str) -> None:
    for r, fault in faults:
        await ctx.apply(fault, f"Volume {r.arn}")
        ctx.applied(event, r.arn)
    await ctx.sleep(duration)


async def pause_volume_io(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    volumes = _controls(ctx, targets, "ec2:PauseVolumeIO")
    faults: list[tuple[Resource, Fault]] = [(r, VolumePause(path, r.arn)) for r, path in volumes]
    await _hold(ctx, "ebs.pause_volume_io", faults, params["duration"])


def _param(params: dict[str, str], key: str) -> str:
    default = ACTIONS["aws:ebs:volume-io-latency"].parameters[key].default
    return params.get(key) or str(default)


async def volume_io_latency(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    volumes = _controls(ctx, targets, "ec2:InjectVolumeIOLatency")
    faults: list[tuple[Resource, Fault]] = [
        (
            r,
            VolumeLatency(
                path,
                r.arn,
                read_ms=int(_param(params, "readIOLatencyMilliseconds")),
                write_ms=int(_param(params, "writeIOLatencyMilliseconds")),
                read_percent=float(_param(params, "readIOPercentage")),
                write_percent=float(_param(params, "writeIOPercentage")),
            ),
        )
        for r, path in volumes
    ]
    await _hold(ctx, "ebs.volume_io_latency", faults, params["duration"])


EXECUTORS: dict[str, Executor] = {
    "ebs.pause_volume_io": pause_volume_io,
    "ebs.volume_io_latency": volume_io_latency,
}
