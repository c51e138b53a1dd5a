"""Crash recovery: a lab killed with SIGKILL leaves units, namespaces, links and routes behind;
the next start (same store) removes exactly those — and never a process that merely reuses a pid."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
from runtime_hostprobe import host_links, host_netns, host_routes, needs_netns

from chaoslab.runtime.network import cleanup_leftovers
from chaoslab.runtime.recovery import kill_leftover_processes
from chaoslab.store import Store

PY = sys.executable

CRASHING_LAB = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from chaoslab.store import Store
    from chaoslab.runtime.network import VpcNetwork

    async def main():
        store = Store(Path(sys.argv[1]))
        net = VpcNetwork(store, "crashed-run", "vpc-1", sys.argv[2], json.loads(sys.argv[3]), mode=sys.argv[4])
        await net.create()
        units = []
        for az in json.loads(sys.argv[3]):
            sandbox = await net.allocate(az)
            unit = await sandbox.spawn("web", [sys.executable, "-c", "import time; time.sleep(120)"])
            units.append({"pid": unit.pid, "netns": sandbox.netns, "veth": sandbox.veth})
        print(json.dumps({"bridge": net.bridge, "units": units}), flush=True)
        await asyncio.sleep(120)

    asyncio.run(main())
    """
)


def _crash_a_lab(db: Path, cidr: str, subnets: dict[str, str], mode: str) -> dict:
    lab = subprocess.Popen(
        [PY, "-c", CRASHING_LAB, str(db), cidr, json.dumps(subnets), mode],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        made = json.loads(lab.stdout.readline())
    finally:
        lab.kill()  # the crash: no destroy, no cleanup
        lab.wait()
    return made


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_dead(pids: list[int], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids):
        assert time.monotonic() < deadline, f"still alive: {[p for p in pids if _alive(p)]}"
        time.sleep(0.02)


@needs_netns
def test_next_start_removes_everything_a_crashed_netns_lab_left(tmp_path, vpc, no_leftovers):
    cidr, subnets = vpc
    db = tmp_path / "state.db"
    made = _crash_a_lab(db, cidr, subnets, "netns")
    pids = [u["pid"] for u in made["units"]]
    assert all(_alive(p) for p in pids)  # units outlive the lab: they are their own sessions
    assert {u["netns"] for u in made["units"]} <= host_netns()
    assert made["bridge"] in host_links() and f"unreachable {cidr}" in host_routes()

    store = Store(db)
    killed = asyncio.run(kill_leftover_processes(store))
    removed = asyncio.run(cleanup_leftovers(store))
    _wait_dead(pids)
    assert sorted(killed) == sorted(pids)
    assert f"route unreachable {cidr}" in removed and f"link {made['bridge']}" in removed
    assert not ({u["netns"] for u in made["units"]} & host_netns())
    assert made["bridge"] not in host_links() and f"unreachable {cidr}" not in host_routes()
    assert not any(store.owned_resources(k) for k in ("netns", "link", "route", "neigh"))
    assert list(store.owned_processes()) == []
    assert asyncio.run(cleanup_leftovers(store)) == []  # nothing left to do the second time
    store.close()


def test_next_start_kills_units_of_a_crashed_loopback_lab(tmp_path):
    db = tmp_path / "state.db"
    made = _crash_a_lab(db, "10.0.0.0/16", {"us-east-1a": "10.0.10.0/24"}, "loopback")
    pids = [u["pid"] for u in made["units"]]
    assert made["bridge"] is None and all(_alive(p) for p in pids)
    store = Store(db)
    assert asyncio.run(kill_leftover_processes(store)) == pids
    _wait_dead(pids)
    assert list(store.owned_processes()) == []
    store.close()


def test_a_reused_pid_is_never_killed(tmp_path):
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        store = Store(tmp_path / "state.db")
        real_start = psutil.Process(bystander.pid).create_time()
        store.own_process(bystander.pid, real_start - 5.0, "web", "old-run")  # same pid, older process
        assert asyncio.run(kill_leftover_processes(store)) == []
        assert bystander.poll() is None
        assert list(store.owned_processes()) == []
        store.close()
    finally:
        bystander.kill()
        bystander.wait()


def test_workers_are_killed_even_when_the_leader_is_gone(tmp_path):
    # The leader forks a worker into its group, prints the worker's pid and exits.
    code = "import os,time\npid=os.fork()\nif pid==0:\n    time.sleep(60)\nelse:\n    print(pid, flush=True)"
    leader = subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True)
    leader_start = psutil.Process(leader.pid).create_time()
    worker = int(leader.stdout.readline())
    leader.wait()
    try:
        assert _alive(worker) and os.getpgid(worker) == leader.pid
        store = Store(tmp_path / "state.db")
        store.own_process(leader.pid, leader_start, "web", "old-run")
        assert asyncio.run(kill_leftover_processes(store)) == [leader.pid]
        _wait_dead([worker])
        store.close()
    finally:
        if _alive(worker):
            os.kill(worker, signal.SIGKILL)
