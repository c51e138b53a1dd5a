"""Stress faults measured on real unit processes: CPU share, I/O bytes and fsyncs, resident
memory, allocated disk — and each effect gone after revert."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psutil
from fault_lab import fault_lab, needs_netns, running_instance, unit_cpu

from chaoslab.faults import stress
from chaoslab.faults.base import TargetStateError

MiB = 1024 * 1024
pytestmark = needs_netns


def proc_io(pid: int) -> dict[str, int]:
    lines = Path(f"/proc/{pid}/io").read_text().splitlines()
    return {k: int(v) for k, v in (line.split(": ") for line in lines)}


def gone(record: dict) -> bool:
    return not Path(record["dir"]).exists() and not any(
        psutil.pid_exists(w["pid"]) and psutil.Process(w["pid"]).status() != psutil.STATUS_ZOMBIE
        for w in record["workers"]
    )


def test_cpu_stress_holds_the_requested_share_and_stops_on_revert(tmp_path: Path) -> None:
    async def scenario() -> dict[str, float]:
        async with fault_lab(tmp_path) as lab:
            unit = (await running_instance(lab)).unit
            idle = await unit_cpu(unit, 1.0)
            armed = stress.cpu(unit, percent=50, workers=1, duration=30)
            await armed.arm()
            lab.store.journal_add("test", armed.name, armed.record)
            armed_worker = psutil.Process(armed.record["workers"][0]["pid"])
            a0, ta = sum(armed_worker.cpu_times()[:2]), time.monotonic()
            before_go = await unit_cpu(unit, 1.0)
            armed_own = (sum(armed_worker.cpu_times()[:2]) - a0) / (time.monotonic() - ta) * 100
            await armed.go()
            await asyncio.sleep(0.5)
            worker = psutil.Process(armed.record["workers"][0]["pid"])
            w0, t0 = sum(worker.cpu_times()[:2]), time.monotonic()
            loaded = await unit_cpu(unit, 3.0)
            own = (sum(worker.cpu_times()[:2]) - w0) / (time.monotonic() - t0) * 100
            await stress.Stress.revert(lab, armed.record)
            await stress.Stress.revert(lab, armed.record)  # idempotent
            after = await unit_cpu(unit, 1.0)
            assert gone(armed.record)
            return {
                "idle": idle,
                "armed_idle": before_go,
                "armed_worker": armed_own,
                "loaded": loaded,
                "worker": own,
                "after": after,
            }

    m = asyncio.run(scenario())
    print(
        f"\ncpu stress 50% x1 worker: idle {m['idle']:.1f}%, armed {m['armed_idle']:.1f}% "
        f"(worker {m['armed_worker']:.1f}%), loaded {m['loaded']:.1f}% (worker {m['worker']:.1f}%), "
        f"after revert {m['after']:.1f}%"
    )
    # The worker's own counters decide; the unit's totals include its app answering health checks,
    # which a loaded CI machine (two test streams on two cores) can push past 10%.
    # Armed workers only poll for go: about 1 % on a quiet box. The kernel charges CPU time by
    # scheduler ticks, so a process that wakes 50 times a second on a saturated VM is sometimes
    # charged whole ticks it barely used (11 % was seen once over 0.5 s); 15 % still tells an idle
    # armed worker from the 50 % load by a wide margin.
    assert m["armed_worker"] < 15
    assert 35 <= m["worker"] <= 65
    assert 35 <= m["loaded"] <= 70 + m["armed_idle"]  # plus whatever the app itself used
    assert m["after"] < m["loaded"] - 30  # the load is gone with the worker


def test_io_stress_writes_and_fsyncs_then_deletes_its_files(tmp_path: Path) -> None:
    async def scenario() -> dict[str, float]:
        async with fault_lab(tmp_path) as lab:
            unit = (await running_instance(lab)).unit
            armed = stress.io(unit, percent=80, workers=2, duration=30, max_bytes=16 * MiB)
            await armed.arm()
            lab.store.journal_add("test", armed.name, armed.record)
            await armed.go()
            await asyncio.sleep(1.0)
            pid = armed.record["workers"][0]["pid"]
            io0, stats0, t0 = proc_io(pid), stress.io_stats(armed.record), time.monotonic()
            await asyncio.sleep(2.0)
            io1, stats1, t1 = proc_io(pid), stress.io_stats(armed.record), time.monotonic()
            files = sorted(p.name for p in Path(armed.record["dir"]).iterdir())
            sizes = [p.stat().st_size for p in Path(armed.record["dir"]).glob("*.dat")]
            await stress.Stress.revert(lab, armed.record)
            assert gone(armed.record)
            dt = t1 - t0
            return {
                "proc_write_bps": (io1["write_bytes"] - io0["write_bytes"]) / dt,
                "syscw_ps": (io1["syscw"] - io0["syscw"]) / dt,
                "bps": sum(s["bytes"] for s in stats1) / 1 - sum(s["bytes"] for s in stats0),
                "fsyncs": sum(s["fsyncs"] for s in stats1) - sum(s["fsyncs"] for s in stats0),
                "dt": dt,
                "files": files,
                "max_size": max(sizes),
            }

    m = asyncio.run(scenario())
    bps, fps = m["bps"] / m["dt"], m["fsyncs"] / m["dt"]
    print(
        f"\nio stress x2 workers: {bps / MiB:.1f} MiB/s written, {fps:.1f} fsync/s (own counters); "
        f"worker 0 /proc write_bytes {m['proc_write_bps'] / MiB:.1f} MiB/s, {m['syscw_ps']:.1f} write calls/s"
    )
    assert "io-0.dat" in m["files"] and "io-1.dat" in m["files"]
    assert m["max_size"] <= 16 * MiB  # the cap holds
    assert bps > 0 and fps > 0
    assert m["proc_write_bps"] > 0  # the kernel saw the bytes hit the block device


def test_memory_stress_holds_resident_bytes_until_revert(tmp_path: Path) -> None:
    async def scenario() -> dict[str, int]:
        async with fault_lab(tmp_path) as lab:
            unit = (await running_instance(lab)).unit
            await asyncio.sleep(1.0)  # let the app's workers settle
            base = unit.memory_bytes()
            armed = stress.memory(unit, size=96 * MiB, workers=2, duration=30)
            await armed.arm()
            lab.store.journal_add("test", armed.name, armed.record)
            await armed.go()
            await asyncio.sleep(1.5)
            loaded = unit.memory_bytes()
            await stress.Stress.revert(lab, armed.record)
            after = unit.memory_bytes()
            return {"base": base, "loaded": loaded, "after": after}

    m = asyncio.run(scenario())
    print(
        f"\nmemory stress 96 MiB: unit RSS {m['base'] / MiB:.0f} -> {m['loaded'] / MiB:.0f} "
        f"-> {m['after'] / MiB:.0f} MiB after revert"
    )
    assert m["loaded"] - m["base"] >= 90 * MiB
    assert m["loaded"] - m["after"] >= 90 * MiB


def test_disk_fill_allocates_real_blocks_and_frees_them(tmp_path: Path) -> None:
    async def scenario() -> dict[str, int]:
        async with fault_lab(tmp_path) as lab:
            unit = (await running_instance(lab)).unit
            armed = stress.disk_fill(unit, percent=100, duration=30, max_bytes=32 * MiB)
            await armed.arm()
            lab.store.journal_add("test", armed.name, armed.record)
            await armed.go()
            data = Path(armed.record["dir"]) / "fill-0.dat"
            for _ in range(100):
                if data.exists() and data.stat().st_blocks * 512 >= 32 * MiB:
                    break
                await asyncio.sleep(0.05)
            allocated = data.stat().st_blocks * 512
            await stress.Stress.revert(lab, armed.record)
            assert gone(armed.record) and not data.exists()
            return {"allocated": allocated}

    m = asyncio.run(scenario())
    print(f"\ndisk fill capped at 32 MiB: {m['allocated'] / MiB:.1f} MiB allocated")
    assert m["allocated"] >= 32 * MiB


def test_worker_ends_on_its_own_at_its_deadline(tmp_path: Path) -> None:
    async def scenario() -> float:
        async with fault_lab(tmp_path) as lab:
            unit = (await running_instance(lab)).unit
            armed = stress.cpu(unit, percent=20, workers=1, duration=0.5)
            await armed.arm()
            await armed.go()
            t0 = time.monotonic()
            await asyncio.wait_for(armed.wait(), 10)
            took = time.monotonic() - t0
            assert not unit.extras
            await stress.Stress.revert(lab, armed.record)
            return took

    took = asyncio.run(scenario())
    assert 0.4 <= took < 5


def test_stress_on_a_stopped_unit_is_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fault_lab(tmp_path) as lab:
            inst = await running_instance(lab)
            await lab.ec2.stop_instances([inst.instance_id], force=True)
            for _ in range(200):
                if not inst.unit.running:
                    break
                await asyncio.sleep(0.05)
            try:
                await stress.cpu(inst.unit, percent=50, workers=1, duration=5).arm()
            except TargetStateError:
                return
            raise AssertionError("stress on a stopped unit was accepted")

    asyncio.run(scenario())
