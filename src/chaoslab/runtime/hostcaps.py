"""What this host lets the lab do, found by trying it — the one rule every mode choice and every
test that needs the realistic mode goes by.

The realistic mode puts every unit in its own network namespace behind a bridge. Root gets it
directly (`netns`). An ordinary user gets it inside an unprivileged user namespace that the lab
creates for itself (`userns`), where it holds the capabilities it needs over namespaces it made.
Neither is assumed from `geteuid()` or from `ip netns list`: the probe really creates a throwaway
namespace with a bridge and a veth pair (and, for `userns`, the private /run the lab needs), and
whatever it could not do is the reason given.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Literal

RealisticMode = Literal["netns", "userns"]

# Inside the probe namespace: a bridge and a veth pair are what every VPC and unit needs.
_LINKS = "ip link add clprobe0 type bridge && ip link add clprobe1 type veth peer name clprobe2"
# In a user namespace the lab also needs a private /run (for `ip netns`).
_MOUNTS = "mount -t tmpfs none /run && mkdir /run/netns && ip netns add clprobe && ip netns del clprobe"
_PROBE_TIMEOUT = 10.0


@dataclass(frozen=True)
class Probe:
    """The realistic mode this host allows (None: loopback only) and, if none, why not."""

    mode: RealisticMode | None
    reason: str = ""

    @property
    def available(self) -> bool:
        return self.mode is not None


def _missing_tools() -> list[str]:
    return [tool for tool in ("ip", "unshare", "mount") if shutil.which(tool) is None]


def _try(argv: list[str]) -> str:
    """Run a probe; '' when it worked, else its complaint in one line."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_PROBE_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode == 0:
        return ""
    lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit {done.returncode}"


def _probe_root() -> str:
    return _try(["unshare", "--net", "sh", "-c", _LINKS])


def _probe_userns() -> str:
    return _try(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--net",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            f"{_MOUNTS} && {_LINKS}",
        ]
    )


@functools.lru_cache(maxsize=1)
def probe() -> Probe:
    """Try the realistic mode the way the lab would run it (cached for the process)."""
    if not sys.platform.startswith("linux"):
        return Probe(None, f"network namespaces are Linux-only (this is {sys.platform})")
    missing = _missing_tools()
    if missing:
        return Probe(None, f"missing {', '.join(missing)} (install iproute2 / util-linux)")
    # Root inside someone else's single-uid user namespace (a rootless container) may create
    # namespaces but not change the one it is in: it needs the userns mode like anyone else.
    if os.geteuid() == 0 and not single_uid_namespace():
        why = _probe_root()
        if not why:
            return Probe("netns")
        root_why = f"as root: {why}"
    else:
        root_why = ""
    why = _probe_userns()
    if not why:
        return Probe("userns")
    reasons = [r for r in (root_why, f"unprivileged user namespace: {why}") if r]
    return Probe(None, "; ".join(reasons))


def single_uid_namespace() -> bool:
    """True inside a user namespace that maps one uid only (the lab's own, as `unshare
    --map-root-user` makes): no other user exists there to run a program as."""
    try:
        with open("/proc/self/uid_map") as f:
            lines = [line.split() for line in f if line.strip()]
    except OSError:
        return False
    return len(lines) == 1 and lines[0][2] == "1"


def outer_uid() -> int:
    """The host uid our uid 0 stands for inside a user namespace (our own uid outside one)."""
    try:
        with open("/proc/self/uid_map") as f:
            for line in f:
                inner, outer, _count = line.split()
                if inner == str(os.geteuid()):
                    return int(outer)
    except (OSError, ValueError):
        pass
    return os.geteuid()


@functools.cache
def fuse_unavailable() -> str | None:
    """Why this host cannot give volumes a faultable FUSE mount, or None when it can."""
    if not os.path.exists("/dev/fuse"):
        return "there is no /dev/fuse"
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return "/dev/fuse is not open to this user"
    if os.geteuid() != 0 and shutil.which("fusermount3") is None:
        return "fusermount3 is not installed (apt-get install fuse3) and the lab is not root"
    try:
        import mfusepy  # noqa: F401  (loads libfuse: this is the check)
    except (ImportError, OSError) as exc:
        return f"libfuse cannot be loaded ({exc}; apt-get install libfuse3-3)"
    return None


def limitations(mode: str) -> list[str]:
    """One line for each thing the lab cannot do in `mode` on this host, said once at start."""
    notes = []
    if mode == "loopback":
        why = probe().reason or "asked for with --network loopback"
        notes.append(
            f"loopback mode ({why}): units share the host's network, so the network fault "
            "actions (latency, packet loss, blackhole, disrupt-connectivity) fail with a clear error, "
            "and units have no DNS server for Cloud Map's names (DiscoverInstances still answers)"
        )
    elif shutil.which("iptables") is None:
        notes.append(
            "iptables is not installed: packet-loss, blackhole and disrupt-connectivity faults "
            "will fail (apt-get install iptables)"
        )
    fuse = fuse_unavailable()
    if fuse is not None:
        notes.append(
            f"instances' data volumes are plain directories ({fuse}): the EBS I/O actions "
            "(pause-volume-io, volume-io-latency) fail with that reason"
        )
    return notes
