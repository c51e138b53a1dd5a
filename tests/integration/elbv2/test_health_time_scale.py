"""Health checks at time scale 60: the interval shrinks to a sixtieth, the probe timeout keeps its
wall-clock floor, and a target that hung for whole intervals is probed on schedule once it
answers again, not in a burst that would call it healthy at once (docs/timing.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from chaoslab.clock import LabClock

from .helpers import HttpTarget, make_alb, make_lab, wait_for_state


def test_a_hung_target_is_probed_on_schedule_after_it_recovers(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = make_lab(tmp_path, LabClock(60))
        await lab.elbv2.start()
        target = await HttpTarget("127.0.0.2", "a").start()
        alb = await make_alb(lab, interval=10)  # every 1/6 s of wall time; timeout 1 s (not 1/60 s)
        lab.elbv2.register_targets(TargetGroupArn=alb["tg"], Targets=[{"Id": "127.0.0.2", "Port": target.port}])
        await wait_for_state(lab, alb["tg"], "127.0.0.2", "healthy", timeout=5)
        target.mode = "hang"
        took = await wait_for_state(lab, alb["tg"], "127.0.0.2", "unhealthy", timeout=10)
        assert took >= 1.0  # two probes that waited out their 1 s timeout
        target.mode = "ok"
        hung = len(target.requests)
        while len(target.requests) == hung:  # the probe in flight waits out its timeout first
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
        probes = len(target.requests) - hung
        assert 2 <= probes <= 6, probes  # about 4 in 0.5 s; a catch-up burst would be 10 or more
        await lab.elbv2.stop()
        await target.kill()

    asyncio.run(asyncio.wait_for(scenario(), 60))
