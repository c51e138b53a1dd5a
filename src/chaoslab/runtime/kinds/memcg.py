"""A container's memory limit, held by a parent cgroup the lab owns.

The engine removes a container's own cgroup when it exits, and with it the kernel's record of
OOM kills, so an exit code of 137 alone cannot tell an OOM kill from a `kill -9`. The lab
therefore puts the limit on a parent (`--cgroup-parent`) that outlives the container: the kernel
OOM-kills inside it exactly as it would inside the container's own cgroup, and the parent says
so after the exit. cgroup v2 counts OOM kills hierarchically (`memory.events`); cgroup v1 counts
them only in the victim's own cgroup, so there the lab registers for the parent's OOM
notifications (an eventfd on `memory.oom_control`) before the container starts.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from chaoslab.runtime.kinds.engine import CGROUP_ROOT

PARENT = "chaoslab-containers"  # every parent lives under this directory in each hierarchy
MiB = 1024 * 1024


class MemoryParent:
    """The parent cgroup of one container: `path` is what `--cgroup-parent` takes."""

    def __init__(self, container: str, root: Path = CGROUP_ROOT) -> None:
        self._root = root
        self.path = f"/{PARENT}/{container}"
        self._v1 = (root / "memory").is_dir()
        self._dir = (root / "memory" if self._v1 else root) / PARENT / container
        self._eventfd: int | None = None

    def create(self, memory_mib: int | None) -> None:
        """Make the parent, set its hard limit (None: no limit) and start counting OOM kills."""
        if not self._v1:
            base = self._root / PARENT
            base.mkdir(exist_ok=True)
            with contextlib.suppress(OSError):  # the controller may be enabled already
                (self._root / "cgroup.subtree_control").write_text("+memory")
                (base / "cgroup.subtree_control").write_text("+memory")
        self._dir.mkdir(parents=True, exist_ok=True)
        if memory_mib is not None:
            limit = self._dir / ("memory.limit_in_bytes" if self._v1 else "memory.max")
            limit.write_text(str(memory_mib * MiB))
        if self._v1:
            self._eventfd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            control = os.open(self._dir / "memory.oom_control", os.O_RDONLY | os.O_CLOEXEC)
            try:
                (self._dir / "cgroup.event_control").write_text(f"{self._eventfd} {control}")
            finally:
                os.close(control)  # the kernel holds its own reference

    def oom_killed(self) -> bool:
        """Whether the kernel has OOM-killed a process for this limit."""
        if self._eventfd is not None:
            try:
                return os.eventfd_read(self._eventfd) > 0
            except BlockingIOError:
                return False
        try:
            text = (self._dir / "memory.events").read_text()
        except OSError:
            return False
        counts = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
        return counts.get("oom_kill", "0") != "0"

    def remove(self) -> None:
        """Remove the parent, with whatever the engine made under it (its monitor's cgroup),
        from every hierarchy; a directory still in use stays."""
        if self._eventfd is not None:
            os.close(self._eventfd)
            self._eventfd = None
        relative = self.path.lstrip("/")
        for hierarchy in [self._root, *self._root.iterdir()]:
            top = hierarchy / relative
            if not top.is_dir():
                continue
            for below, _, _ in sorted(os.walk(top), key=lambda entry: -len(entry[0])):
                with contextlib.suppress(OSError):
                    os.rmdir(below)
