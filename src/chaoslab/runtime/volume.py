"""`IoVolume`: a unit's data volume whose I/O the lab can pause and slow.

The data lives in a backing directory under the lab's state dir; a FUSE passthrough server
(`volume_server.py`, one process per volume, recorded like every process the lab starts) shows it
at the unit's mount point, and every operation passes the volume's control file
(`volume_control.py`). Where FUSE is not available (`hostcaps.fuse_unavailable` says why) the
mount point is a plain link to the backing directory: the data is the same, its I/O cannot be
faulted.

The mount point is recorded in the store before the mount is made, so a lab that died leaves
nothing mounted: `cleanup_mounts` unmounts what is recorded (its server is killed with the
lab's other processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import time
from pathlib import Path

from chaoslab.runtime.commands import run_command
from chaoslab.runtime.hostcaps import fuse_unavailable
from chaoslab.runtime.process import UnitProcess
from chaoslab.runtime.volume_control import IoControl, write_control
from chaoslab.store import Store

RESOURCE_KIND = "fuse-mount"
MOUNT_TIMEOUT_SECONDS = 10.0


class IoVolume:
    """One volume's data at `mountpoint`, kept in `root` (backing dir `root/data`, control file
    `root/control.json`)."""

    def __init__(self, store: Store, lab_run: str, name: str, root: Path, mountpoint: Path, *, serve: bool) -> None:
        """`serve`: give it an I/O server where the host allows (the lab does; unit tests of EC2's
        rules on the fake runtime run no real processes, so theirs are plain)."""
        self.store, self.lab_run, self.name = store, lab_run, name
        self.root, self.mountpoint, self.serve = root, mountpoint, serve
        self.backing = root / "data"
        self.control = root / "control.json"
        self.server: UnitProcess | None = None
        self.unfaultable: str | None = None  # why this volume's I/O cannot be faulted, if so

    @property
    def faultable(self) -> bool:
        return self.server is not None and self.server.running

    async def mount(self) -> None:
        """Make the data visible at the mount point, through the I/O server where FUSE works."""
        self.backing.mkdir(parents=True, exist_ok=True)
        os.chmod(self.backing, 0o777)  # the unit's programs may run as another user
        write_control(self.control, IoControl())
        self.unfaultable = fuse_unavailable() if self.serve else "this lab runs its volumes without I/O servers"
        if self.unfaultable is None:
            self.unfaultable = await self._serve()
        if self.unfaultable is not None:
            self._plain()

    async def _serve(self) -> str | None:
        """Start the I/O server and wait for its mount; the reason it failed, or None."""
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        self.store.own_resource(RESOURCE_KIND, str(self.mountpoint), self.lab_run)
        output: list[str] = []
        argv = [sys.executable, "-m", "chaoslab.runtime.volume_server"]
        self.server = await UnitProcess.start(
            f"volume {self.name}",
            [*argv, str(self.backing), str(self.mountpoint), str(self.control)],
            store=self.store,
            lab_run=self.lab_run,
            on_output=lambda _stream, line: output.append(line.strip()),
        )
        deadline = time.monotonic() + MOUNT_TIMEOUT_SECONDS
        while time.monotonic() < deadline and self.server.running:
            if await asyncio.to_thread(os.path.ismount, self.mountpoint):
                return None
            await asyncio.sleep(0.02)
        await self.unmount()
        return "its I/O server did not mount: " + (" ".join(output[-3:]) or "no output")

    def _plain(self) -> None:
        """No FUSE: the mount point is a link to the backing directory."""
        self.mountpoint.parent.mkdir(parents=True, exist_ok=True)  # the unit's dir may not be made yet
        with contextlib.suppress(OSError):
            self.mountpoint.rmdir()
        if not self.mountpoint.is_symlink():
            self.mountpoint.symlink_to(self.backing, target_is_directory=True)

    def set_io(self, control: IoControl) -> None:
        write_control(self.control, control)

    async def unmount(self) -> None:
        """Stop the server (it unmounts as it ends) and make sure nothing stays mounted."""
        if self.server is None:
            return
        write_control(self.control, IoControl())  # never leave a program blocked on a pause
        await self.server.terminate(timeout=5.0)
        self.server = None
        await unmount(self.mountpoint)
        self.store.disown_resource(RESOURCE_KIND, str(self.mountpoint))


async def unmount(mountpoint: Path) -> None:
    """Lazily unmount a FUSE mount, live or left by a dead server; nothing mounted is fine."""
    helper = shutil.which("fusermount3")
    argv = [helper, "-u", "-z", str(mountpoint)] if helper else ["umount", "-l", str(mountpoint)]
    with contextlib.suppress(Exception):
        await run_command(argv, check=False)


async def cleanup_mounts(store: Store) -> list[str]:
    """After a crash: unmount every volume mount a lab recorded; returns them."""
    mounts = store.owned_resources(RESOURCE_KIND)
    for mountpoint in mounts:
        await unmount(Path(mountpoint))
        store.disown_resource(RESOURCE_KIND, mountpoint)
    return mounts
