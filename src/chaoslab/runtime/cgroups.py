"""Resource limits for process units: one cgroup per unit, one leaf per program.

A task definition's `cpu`/`memory` (or an instance type's vCPUs and memory) become the unit
cgroup's hard limits; a container's own `cpu`/`memory` become its leaf's weight and limit, as
Docker applies them on an ECS container instance. A unit's programs and its fault helpers join
their leaf before they exec, so everything the unit runs counts against its limits and in its
measurements (CPU time and memory come from the cgroup, not from adding up processes).

Two kernels' layouts behind one interface: cgroup v1 (a hierarchy per controller: cpu, cpuacct,
memory) and cgroup v2 (one unified hierarchy with the cpu and memory controllers). Cgroups are
made under the lab's own cgroup, so whatever confines the lab confines its units too. Where
neither can be written (an ordinary user without delegation, the `userns` mode), `detect` says
why and units run unlimited. Every directory is recorded in the store before it is made;
`cleanup_cgroups` removes what a crashed lab left.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from chaoslab.store import Store

ROOT = Path("/sys/fs/cgroup")
RESOURCE_KIND = "cgroup"
PREFIX = "chaoslab-"  # every cgroup the lab makes lives under a directory named so
CFS_PERIOD_US = 100_000  # the kernel's default scheduling period
MIN_QUOTA_US = 1_000  # the kernel refuses quotas under 1 ms
CPU_UNITS_PER_VCPU = 1024  # ECS: 1 vCPU = 1024 CPU units
MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What a unit or one of its programs may use; None = unlimited."""

    cpu_units: float | None = None  # a hard cap, in ECS CPU units (1024 = one vCPU)
    memory_mib: int | None = None  # a hard limit: beyond it the kernel OOM-kills
    cpu_shares: int | None = None  # a relative weight under contention (ECS container `cpu`)


def cpu_quota_us(cpu_units: float, period_us: int = CFS_PERIOD_US) -> int:
    """CPU time per period that `cpu_units` may use: 256 units = a quarter of one core."""
    return max(MIN_QUOTA_US, round(cpu_units / CPU_UNITS_PER_VCPU * period_us))


def cpu_weight(shares: int) -> int:
    """cgroup v2's cpu.weight (1..10000) for a v1 cpu.shares (2..262144): the linear mapping
    of one range onto the other that OCI container runtimes use (1024 shares = weight 39)."""
    shares = min(max(shares, 2), 262144)
    return 1 + (shares - 2) * 9999 // 262142


def own_path(controller: str, proc_cgroup: str) -> str | None:
    """The lab's own cgroup in one hierarchy, from /proc/self/cgroup's text: the v1 line that
    lists `controller`, or the v2 line (`0::/path`) when `controller` is ""."""
    for line in proc_cgroup.splitlines():
        hier, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if controller == "" and hier == "0" and controllers == "":
            return path
        if controller and controller in controllers.split(","):
            return path
    return None


class Cgroups:
    """The host's cgroup layout, found once per lab by `detect`. `v1` maps each controller
    (cpu, cpuacct, memory) to the directory the lab's cgroups go under; v2 has one."""

    def __init__(self, version: int, bases: dict[str, Path], store: Store, lab_run: str) -> None:
        self.version = version
        self._bases = bases
        self._store = store
        self._lab_run = lab_run

    def unit(self, unit_id: str, limits: Limits) -> UnitCgroup:
        """Make a unit's cgroup with its limits (and the lab's directory above it, once)."""
        top = f"{PREFIX}{self._lab_run}"
        for base in self._dirs(top):
            self._mkdir(base)
        if self.version == 2:
            _write(self._bases["unified"] / top / "cgroup.subtree_control", "+cpu +memory")
        group = UnitCgroup(self, f"{top}/{unit_id}")
        self.make(group.rel, limits, parent=True)
        return group

    def make(self, rel: str, limits: Limits, parent: bool = False) -> None:
        """Create the cgroup `rel` in every hierarchy and write its limits."""
        for path in self._dirs(rel):
            self._mkdir(path)
        if self.version == 1:
            cpu, mem = self._bases["cpu"] / rel, self._bases["memory"] / rel
            if limits.cpu_units is not None:
                _write(cpu / "cpu.cfs_period_us", str(CFS_PERIOD_US))
                _write(cpu / "cpu.cfs_quota_us", str(cpu_quota_us(limits.cpu_units)))
            if limits.cpu_shares is not None:
                _write(cpu / "cpu.shares", str(max(2, limits.cpu_shares)))
            if limits.memory_mib is not None:
                _write(mem / "memory.limit_in_bytes", str(limits.memory_mib * MiB))
                _write(mem / "memory.swappiness", "0")
                if (mem / "memory.memsw.limit_in_bytes").exists():  # no swapping past the limit
                    _write(mem / "memory.memsw.limit_in_bytes", str(limits.memory_mib * MiB))
            return
        path = self._bases["unified"] / rel
        if parent:
            _write(path / "cgroup.subtree_control", "+cpu +memory")
        if limits.cpu_units is not None:
            _write(path / "cpu.max", f"{cpu_quota_us(limits.cpu_units)} {CFS_PERIOD_US}")
        if limits.cpu_shares is not None:
            _write(path / "cpu.weight", str(cpu_weight(limits.cpu_shares)))
        if limits.memory_mib is not None:
            _write(path / "memory.max", str(limits.memory_mib * MiB))
            if (path / "memory.swap.max").exists():
                _write(path / "memory.swap.max", "0")

    def procs_files(self, rel: str) -> list[str]:
        """The files a process writes its pid to, to join cgroup `rel` in every hierarchy."""
        return [str(path / "cgroup.procs") for path in self._dirs(rel)]

    def cpu_seconds(self, rel: str) -> float:
        """CPU time used by everything that ran in `rel` (descendants included)."""
        if self.version == 1:
            return int(_read(self._bases["cpuacct"] / rel / "cpuacct.usage") or 0) / 1e9
        stat = _keyed(_read(self._bases["unified"] / rel / "cpu.stat"))
        return stat.get("usage_usec", 0) / 1e6

    def memory_bytes(self, rel: str) -> int:
        """Memory in use, page cache that can be dropped left out (what `docker stats` and ECS
        count: usage minus inactive file pages)."""
        if self.version == 1:
            base = self._bases["memory"] / rel
            usage = int(_read(base / "memory.usage_in_bytes") or 0)
            inactive = _keyed(_read(base / "memory.stat")).get("total_inactive_file", 0)
        else:
            base = self._bases["unified"] / rel
            usage = int(_read(base / "memory.current") or 0)
            inactive = _keyed(_read(base / "memory.stat")).get("inactive_file", 0)
        return max(0, usage - inactive)

    def oom_kills(self, rel: str) -> int:
        """How many processes of `rel` the kernel killed for its memory limit."""
        if self.version == 1:
            return _keyed(_read(self._bases["memory"] / rel / "memory.oom_control")).get("oom_kill", 0)
        return _keyed(_read(self._bases["unified"] / rel / "memory.events")).get("oom_kill", 0)

    def remove(self, rel: str) -> None:
        """Remove `rel` and everything below it, killing what still runs there."""
        for path in self._dirs(rel):
            remove_tree(path)
            self._store.disown_resource(RESOURCE_KIND, str(path))

    def _dirs(self, rel: str) -> list[Path]:
        if self.version == 2:
            return [self._bases["unified"] / rel]
        # cpu and cpuacct are often one hierarchy (mounted as cpu,cpuacct): one directory then.
        return list(dict.fromkeys(self._bases[c] / rel for c in ("cpu", "cpuacct", "memory")))

    def _mkdir(self, path: Path) -> None:
        if path.is_dir():
            return
        self._store.own_resource(RESOURCE_KIND, str(path), self._lab_run)
        path.mkdir()


class UnitCgroup:
    """One unit's cgroup: a leaf per program (`leaf(name)`), limits on the unit above them."""

    def __init__(self, cgroups: Cgroups, rel: str) -> None:
        self.cgroups = cgroups
        self.rel = rel

    def leaf(self, name: str, limits: Limits | None = None) -> list[str]:
        """Make (or reuse) the leaf for program `name`; returns the files its processes join."""
        rel = f"{self.rel}/{_safe(name)}"
        self.cgroups.make(rel, limits or Limits())
        return self.cgroups.procs_files(rel)

    def cpu_seconds(self, leaf: str | None = None) -> float:
        """CPU time of the whole unit, or of one program's leaf."""
        return self.cgroups.cpu_seconds(self._rel(leaf))

    def memory_bytes(self, leaf: str | None = None) -> int:
        """Memory in use by the whole unit, or by one program's leaf."""
        return self.cgroups.memory_bytes(self._rel(leaf))

    def _rel(self, leaf: str | None) -> str:
        return self.rel if leaf is None else f"{self.rel}/{_safe(leaf)}"

    def oom_killed(self, name: str) -> bool:
        return self.cgroups.oom_kills(f"{self.rel}/{_safe(name)}") > 0

    def remove(self) -> None:
        self.cgroups.remove(self.rel)


def detect(store: Store, lab_run: str, root: Path = ROOT) -> tuple[Cgroups | None, str | None]:
    """The layout this lab can write, or (None, why not). v1 is used where it holds the cpu and
    memory controllers (a v2 mount beside it then has none); otherwise v2."""
    try:
        proc_cgroup = Path("/proc/self/cgroup").read_text()
    except OSError as exc:
        return None, f"cannot read /proc/self/cgroup ({exc})"
    v1 = _v1_bases(root, proc_cgroup)
    if v1 is not None:
        bases, version = v1, 1
    elif (root / "cgroup.controllers").exists():
        own = own_path("", proc_cgroup) or "/"
        base = root / own.lstrip("/")
        available = set(_read(base / "cgroup.controllers").split())
        if not {"cpu", "memory"} <= available:
            return None, f"the lab's cgroup ({own}) has no cpu and memory controllers delegated to it"
        bases, version = {"unified": base}, 2
    else:
        return None, "this host has no cgroup cpu and memory controllers"
    why = _unwritable(bases, version, own_path("", proc_cgroup) or "/")
    if why is not None:
        return None, why
    return Cgroups(version, bases, store, lab_run), None


def _v1_bases(root: Path, proc_cgroup: str) -> dict[str, Path] | None:
    bases = {}
    for controller in ("cpu", "cpuacct", "memory"):
        mount = next((d for d in _v1_mounts(root) if controller in d.name.split(",")), None)
        own = own_path(controller, proc_cgroup)
        if mount is None or own is None:
            return None
        bases[controller] = mount / own.lstrip("/")
    return bases


def _v1_mounts(root: Path) -> list[Path]:
    with contextlib.suppress(OSError):
        return [d for d in root.iterdir() if d.is_dir() and not d.is_symlink() and (d / "tasks").exists()]
    return []


def _unwritable(bases: dict[str, Path], version: int, own: str) -> str | None:
    """Why the lab cannot make cgroups under `bases`, or None; tries it with a probe directory."""
    probe = f"{PREFIX}probe-{os.getpid()}"
    for base in dict.fromkeys(bases.values()):
        try:
            (base / probe).mkdir()
            (base / probe).rmdir()
        except OSError as exc:
            return f"cannot create cgroups under {base} ({exc.strerror}): run the lab as root or delegate its cgroup"
    if version == 2 and own != "/":
        # The no-internal-processes rule: a cgroup holding processes (the lab's) cannot give its
        # children controllers. Systemd's Delegate=yes with the lab in a leaf of its own avoids it.
        try:
            _write(bases["unified"] / "cgroup.subtree_control", "+cpu +memory")
        except OSError as exc:
            return (
                f"cannot enable cpu and memory for child cgroups of {own} ({exc.strerror}): "
                "start the lab in a delegated cgroup of its own (systemd-run --scope -p Delegate=yes)"
            )
    return None


def remove_tree(path: Path) -> None:
    """rmdir `path` and its sub-cgroups, deepest first, after killing their processes."""
    if not path.is_dir():
        return
    for sub in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        _empty_and_rmdir(sub)
    _empty_and_rmdir(path)


def _empty_and_rmdir(path: Path, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for pid in _read(path / "cgroup.procs").split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:  # EBUSY while the killed processes exit
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def cleanup_cgroups(store: Store) -> list[str]:
    """Remove every cgroup a lab recorded (deepest first) and disown them; only directories in
    a `chaoslab-` cgroup under /sys/fs/cgroup are touched. Returns what was removed."""
    removed = []
    for name in sorted(store.owned_resources(RESOURCE_KIND), key=lambda n: -n.count("/")):
        path = Path(name)
        if path.is_relative_to(ROOT) and any(part.startswith(PREFIX) for part in path.parts) and path.is_dir():
            with contextlib.suppress(OSError):
                remove_tree(path)
                removed.append(f"cgroup {name}")
        store.disown_resource(RESOURCE_KIND, name)
    return removed


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "_"


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _keyed(text: str) -> dict[str, int]:
    """`key value` lines (memory.stat, cpu.stat, memory.events, oom_control) as a dict."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            out[key] = int(value)
    return out
