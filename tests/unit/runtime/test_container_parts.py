"""The container runtime's pure parts: the `podman run` command line a spec becomes, the rlimits
a container gets, and the memory parent's OOM record and removal (on a directory tree laid out
as cgroup v2 is)."""

from __future__ import annotations

import resource
from pathlib import Path

from chaoslab.runtime.kinds.base import InImage, ProcessSpec
from chaoslab.runtime.kinds.container import container_name, run_argv
from chaoslab.runtime.kinds.engine import Engine
from chaoslab.runtime.kinds.memcg import MemoryParent


def test_a_spec_becomes_an_attached_podman_run_in_the_units_namespace() -> None:
    spec = ProcessSpec(
        image="localhost/own:1",
        command=["/bin/busybox", "httpd", "-f"],
        user="1000:1000",
        in_image=InImage(cpus=0.25, cpu_shares=128, workdir="/srv"),
    )
    argv = run_argv(Engine("/usr/bin/podman", "runc"), "chaoslab-t-app", "cl-1", "/p/x", spec, "/tmp/env")
    joined = " ".join(argv)
    assert argv[:2] == ["/usr/bin/podman", "run"] and "-d" not in argv
    assert "--network ns:/run/netns/cl-1" in joined and "--pull=never" in argv and "--runtime=runc" in argv
    assert "--cgroup-parent /p/x" in joined and "--env-file /tmp/env" in joined
    assert "--cpus=0.25" in argv and "--cpu-shares=128" in argv and "--workdir /srv" in joined
    assert "--user 1000:1000" in joined
    assert "-v /run/chaoslab/hosts/cl-1:/etc/hosts:ro" in joined
    assert "-v /run/chaoslab/resolv/cl-1:/etc/resolv.conf:ro" in joined  # Cloud Map's names resolve
    assert argv[-4:] == ["/bin/busybox", "localhost/own:1", "httpd", "-f"]  # entryPoint, image, command
    assert argv[argv.index("--entrypoint") + 1] == "/bin/busybox"


def test_rlimits_never_exceed_the_labs_own_or_podmans() -> None:
    opts = Engine("/usr/bin/podman", None).run_options()
    nproc = next(o for o in opts if o.startswith("--ulimit=nproc="))
    soft, hard = (int(v) for v in nproc.split("=")[2].split(":"))
    lab_soft, lab_hard = resource.getrlimit(resource.RLIMIT_NPROC)
    assert soft <= 32768 and hard <= 32768
    assert lab_soft == resource.RLIM_INFINITY or soft <= lab_soft
    assert lab_hard == resource.RLIM_INFINITY or hard <= lab_hard


def test_container_names_are_engine_safe() -> None:
    assert container_name("abc123/my app") == "chaoslab-abc123-my-app"


def test_memory_parent_sets_the_limit_reads_oom_kills_and_goes(tmp_path: Path) -> None:
    parent = MemoryParent("chaoslab-t-app", root=tmp_path)
    parent.create(64)
    where = tmp_path / "chaoslab-containers" / "chaoslab-t-app"
    assert (where / "memory.max").read_text() == str(64 * 1024 * 1024)
    assert parent.path == "/chaoslab-containers/chaoslab-t-app"
    assert not parent.oom_killed()
    (where / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n")
    assert parent.oom_killed()
    (where / "memory.events").unlink()
    (where / "memory.max").unlink()
    (where / "conmon").mkdir()  # what the engine makes under it
    parent.remove()
    assert not where.exists()
