"""The cgroup arithmetic: CPU units to a CFS quota, shares to a v2 weight, the lab's own cgroup
from /proc/self/cgroup, and a v2 tree made in a directory standing in for /sys/fs/cgroup."""

from __future__ import annotations

from pathlib import Path

from chaoslab.runtime import cgroups
from chaoslab.runtime.cgroups import Cgroups, Limits
from chaoslab.store import Store

HYBRID = "4:memory:/process_api/abc\n2:cpuacct:/\n1:cpu:/\n0::/\n"
COMBINED = "5:cpu,cpuacct:/user.slice\n3:memory:/user.slice\n0::/user.slice\n"


def test_cpu_units_become_a_quota_of_the_period() -> None:
    assert cgroups.cpu_quota_us(256) == 25_000  # a quarter core
    assert cgroups.cpu_quota_us(1024) == 100_000
    assert cgroups.cpu_quota_us(2048) == 200_000  # two cores' worth per period
    assert cgroups.cpu_quota_us(1) == cgroups.MIN_QUOTA_US  # the kernel's floor


def test_shares_map_to_weights_as_the_kernel_documents() -> None:
    assert cgroups.cpu_weight(1024) == 39  # 1 + (1022 * 9999) // 262142
    assert cgroups.cpu_weight(2) == 1
    assert cgroups.cpu_weight(262144) == 10000
    assert cgroups.cpu_weight(10**9) == 10000  # clamped


def test_own_path_per_hierarchy() -> None:
    assert cgroups.own_path("memory", HYBRID) == "/process_api/abc"
    assert cgroups.own_path("cpu", HYBRID) == "/"
    assert cgroups.own_path("", HYBRID) == "/"
    assert cgroups.own_path("cpuacct", COMBINED) == "/user.slice"
    assert cgroups.own_path("pids", COMBINED) is None


def test_a_v2_unit_gets_its_limits_and_leaves_and_is_removed(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    root = tmp_path / "cg"
    root.mkdir()
    tree = Cgroups(2, {"unified": root}, store, "run1")
    unit = tree.unit("task1", Limits(cpu_units=512, memory_mib=128))
    base = root / "chaoslab-run1" / "task1"
    assert (base / "cpu.max").read_text() == "50000 100000"
    assert (base / "memory.max").read_text() == str(128 * 1024 * 1024)
    assert (base / "cgroup.subtree_control").read_text() == "+cpu +memory"
    files = unit.leaf("web app", Limits(cpu_shares=1024))
    assert files == [str(base / "web_app" / "cgroup.procs")]
    assert (base / "web_app" / "cpu.weight").read_text() == "39"
    (base / "web_app" / "memory.events").write_text("low 0\noom 1\noom_kill 1\n")
    assert unit.oom_killed("web app")
    (base / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 1\n")
    assert unit.cpu_seconds() == 2.5
    (base / "memory.current").write_text("10000\n")
    (base / "memory.stat").write_text("anon 1\ninactive_file 4000\n")
    assert unit.memory_bytes() == 6000
    recorded = set(store.owned_resources(cgroups.RESOURCE_KIND))
    assert {str(root / "chaoslab-run1"), str(base), str(base / "web_app")} <= recorded


def test_cleanup_touches_only_chaoslab_cgroups_under_sys_fs_cgroup(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    store.own_resource(cgroups.RESOURCE_KIND, "/etc/chaoslab-x", "run1")
    store.own_resource(cgroups.RESOURCE_KIND, "/sys/fs/cgroup/memory/system.slice", "run1")
    assert cgroups.cleanup_cgroups(store) == []
    assert store.owned_resources(cgroups.RESOURCE_KIND) == []  # records dropped, nothing touched


def test_a_host_without_controllers_says_so(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    found, why = cgroups.detect(store, "run1", root=tmp_path / "empty")
    assert found is None and why == "this host has no cgroup cpu and memory controllers"


def test_a_v2_cgroup_without_cpu_and_memory_delegated_says_so(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    root.mkdir()
    (root / "cgroup.controllers").write_text("io pids\n")
    found, why = cgroups.detect(Store(tmp_path / "state.db"), "run1", root=root)
    assert found is None and why is not None and "no cpu and memory controllers delegated" in why
