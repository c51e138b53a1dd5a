"""Which container engine the lab can use, found once per lab.

Only podman qualifies: it is daemonless, runs as the lab's own children and can join a network
namespace by path (`--network ns:/run/netns/<name>`), which is how a container becomes part of
a unit. Docker has no such network mode (a container can join only another container's
namespace), so it is not used even where its daemon answers. Containers need the lab to be
really root: in the `userns` mode the lab is root of a one-uid namespace, where an engine can
neither map an image's users nor write cgroups, and in the loopback mode a unit has no
namespace to join; there, units run their commands as processes.
"""

from __future__ import annotations

import logging
import os
import resource
import shutil
from dataclasses import dataclass
from pathlib import Path

from chaoslab.runtime.commands import run_command
from chaoslab.runtime.hostcaps import single_uid_namespace

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
# The rlimits an OCI runtime sets in every container, with podman's defaults. Podman asks for
# its defaults even where the lab holds less, and its container monitor runs with at most those,
# so a lab without CAP_SYS_RESOURCE (a container host itself) cannot raise them: every
# container gets the smaller of the lab's own and podman's.
_RLIMITS = {"nofile": (resource.RLIMIT_NOFILE, 1048576), "nproc": (resource.RLIMIT_NPROC, 32768)}


@dataclass(frozen=True)
class Engine:
    """A usable podman: its path and the options every `podman run` of the lab takes."""

    path: str
    oci_runtime: str | None  # None = podman's default

    def run_options(self) -> list[str]:
        opts = [f"--runtime={self.oci_runtime}"] if self.oci_runtime else []
        for name, (which, default) in _RLIMITS.items():
            soft, hard = (
                default if v == resource.RLIM_INFINITY else min(v, default) for v in resource.getrlimit(which)
            )
            opts.append(f"--ulimit={name}={soft}:{hard}")
        return opts

    async def has_image(self, image: str) -> bool:
        """Whether `image` is in local storage (short names resolve as podman resolves them)."""
        rc, _ = await run_command([self.path, "image", "exists", image], check=False, timeout=30)
        return rc == 0


def hybrid_cgroups() -> bool:
    """cgroup v1 controllers with a v2 hierarchy mounted beside them, which crun refuses."""
    return (CGROUP_ROOT / "memory").is_dir() and (CGROUP_ROOT / "unified").is_dir()


def unavailable_reason() -> str | None:
    """Why this lab cannot run container images (None: it can)."""
    if shutil.which("podman") is None:
        return "no container engine installed (apt-get install podman)"
    if os.geteuid() != 0 or single_uid_namespace():
        return "container images need a lab running as root (the netns mode)"
    return None


def find_engine() -> Engine | None:
    """The engine this lab uses, or None (the reason is logged once)."""
    reason = unavailable_reason()
    if reason is not None:
        log.info("container images run as their command: %s", reason)
        return None
    path = shutil.which("podman")
    assert path is not None
    runc = shutil.which("runc")
    return Engine(path, "runc" if hybrid_cgroups() and runc else None)
