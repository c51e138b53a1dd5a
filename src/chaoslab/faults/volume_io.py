"""Volume I/O faults (FIS's aws:ebs:pause-volume-io and aws:ebs:volume-io-latency): the volume's
I/O server reads its control file before every operation, so writing `paused` there blocks every
read and write of the volume until it is cleared, and a latency slows each one.

The record is the control file's path, so a revert needs no lab and no live server: it clears
the file (a volume that is gone has nothing to undo). One I/O fault per volume at a time: a
second one is refused before it is journaled, so no revert can clear another fault's setting."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any

from chaoslab.faults.base import Fault, FaultStartError
from chaoslab.runtime.volume_control import IoControl, read_control, write_control


class _VolumeIo(Fault):
    """Write `setting()` to the volume's control file at `path`; the revert sets no fault."""

    def __init__(self, path: Path, target: str) -> None:
        self.path, self.target = path, target

    @abstractmethod
    def setting(self) -> IoControl:
        """What the volume's I/O server does while the fault lasts."""

    async def arm(self) -> dict[str, Any]:
        if read_control(self.path) != IoControl():
            raise FaultStartError(f"volume {self.target} already has an I/O fault")
        return {"control": str(self.path), "target": self.target}

    async def go(self) -> None:
        write_control(self.path, self.setting())

    @classmethod
    async def revert(cls, lab: Any, record: dict[str, Any]) -> None:
        path = Path(record["control"])
        if path.parent.is_dir():
            write_control(path, IoControl())


class VolumePause(_VolumeIo):
    """Every operation on the volume waits until the revert."""

    name = "volume.pause"

    def setting(self) -> IoControl:
        return IoControl(paused=True)


class VolumeLatency(_VolumeIo):
    """Reads and writes (the given percentages of them) each take the given milliseconds longer."""

    name = "volume.latency"

    def __init__(
        self, path: Path, target: str, *, read_ms: int, write_ms: int, read_percent: float, write_percent: float
    ) -> None:
        super().__init__(path, target)
        self.control = IoControl(
            read_latency_ms=read_ms, write_latency_ms=write_ms, read_percent=read_percent, write_percent=write_percent
        )

    def setting(self) -> IoControl:
        return self.control
