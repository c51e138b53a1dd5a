"""Crash safety: a lab is SIGKILLed while a stress fault and an SSM command run. The undo
records in its journal alone are enough to stop the workers and delete their files — by the
reverter directly, and by the next lab's start for the SSM command."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import psutil
from fault_lab import assert_clean, needs_netns

from chaoslab.config import LabConfig
from chaoslab.faults.registry import REGISTRY
from chaoslab.lab import Lab
from chaoslab.services.ssm.models import COMMAND_KIND
from chaoslab.store import Store

pytestmark = needs_netns
HERE = Path(__file__).parent

CHILD = """
import asyncio, json, sys
sys.path.insert(0, {here!r})
from pathlib import Path
from fault_lab import free_vpc
from chaoslab.config import LabConfig
from chaoslab.faults import stress
from chaoslab.lab import Lab

async def main():
    lab = Lab(LabConfig(home=Path({home!r}), api_port=0), network_mode="netns")
    await lab.start()
    cidr, subnets = free_vpc()
    await lab.ec2.create_vpc(cidr, subnets)
    inst = await lab.ec2.run_instance("chaoslab/static", lab.ec2.subnet("us-east-1a"))
    fault = stress.io(inst.unit, percent=1, workers=1, duration=120, max_bytes=8 * 2**20)
    await fault.apply(lambda name, record: lab.store.journal_add("EXPcrash", name, record))
    cmd = await lab.ssm.send_command("AWSFIS-Run-Disk-Fill", [inst.instance_id],
                                     {{"DurationSeconds": ["120"], "Percent": ["100"]}})
    while not any(w.startswith("fault-") for w in inst.unit.extras) or len(inst.unit.extras) < 2:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    print(json.dumps({{"command": cmd.command_id}}), flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def alive(pid: int) -> bool:
    return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


def test_journal_records_undo_stress_after_the_lab_is_killed(tmp_path: Path) -> None:
    env = {**os.environ, "CHAOSLAB_DISK_FILL_MAX_BYTES": str(16 * 2**20)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(here=str(HERE), home=str(tmp_path))],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = child.stdout.readline()
        assert line, "the child lab did not get ready"
        command_id = json.loads(line)["command"]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()

    store = Store(tmp_path / "state.db")
    entries = {e["owner"]: e for e in store.journal_pending()}
    owned = {kind: set(store.owned_resources(kind)) for kind in ("netns", "link", "route", "cgroup")}
    pids = {pid for pid, _, _ in store.owned_processes()}
    store.close()
    stress_record = entries["EXPcrash"]["record"]
    fill_record = entries[f"ssm:{command_id}"]["record"]
    workers = [w["pid"] for w in stress_record["workers"]]
    assert all(alive(p) for p in workers) and Path(stress_record["dir"]).exists()
    assert (Path(fill_record["dir"]) / "fill-0.dat").exists()

    # 1. The reverter alone, with no lab objects at all (the Python side is gone).
    asyncio.run(REGISTRY["stress.workers"].revert(SimpleNamespace(), stress_record))
    assert not any(alive(p) for p in workers) and not Path(stress_record["dir"]).exists()
    asyncio.run(REGISTRY["stress.workers"].revert(SimpleNamespace(), stress_record))  # idempotent

    # 2. The next lab start: SSM replays its journal and marks the command cancelled.
    async def restart() -> dict:
        lab = Lab(LabConfig(home=tmp_path, api_port=0), network_mode="netns")
        await lab.start()
        try:
            return {
                "pending": [e for e in lab.store.journal_pending() if e["owner"].startswith("ssm:")],
                "status": lab.store.get(COMMAND_KIND, command_id)["status"],
            }
        finally:
            await lab.stop()

    after = asyncio.run(restart())
    assert after == {"pending": [], "status": "Cancelled"}
    assert not Path(fill_record["dir"]).exists()
    assert_clean(owned, pids)
