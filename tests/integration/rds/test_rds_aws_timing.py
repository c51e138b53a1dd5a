"""A failover under the `aws` timing profile (docs/timing.md), at time scale 20 on real
postmasters: writes fail for a scenario duration inside the profile's range, and a client that
connects through the writer endpoint within the DNS TTL reaches the old writer (read-only once
it has rejoined), then the new one. (The `fast` profile draws zeros: the cluster's other tests
are today's failover.)"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pg8000.native

from chaoslab.clock import LabClock
from chaoslab.events import EventLog
from chaoslab.services.rds.cluster import AuroraCluster, Delays
from chaoslab.timing import AWS, Timing

USER, PASSWORD, DB = "master", "Passw0rd!", "shop"
SCALE = 20
TTL_S = 40.0  # longer than AWS's 5 s so the old writer has rejoined (read-only) inside the window
Sample = tuple[float, int | None, bool | None, str]


def _connect(bind: tuple[str, int]) -> pg8000.native.Connection:
    return pg8000.native.Connection(USER, password=PASSWORD, host=bind[0], port=bind[1], database=DB, timeout=2)


class Observer:
    """A client that reconnects through the writer endpoint for every request, as one that
    resolves the DNS name anew would: which server answered, whether it is read-only, and
    whether an insert worked."""

    def __init__(self, bind: tuple[str, int]) -> None:
        self.bind = bind
        self.samples: list[Sample] = []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            t = time.monotonic()
            try:
                conn = _connect(self.bind)
            except Exception:
                self.samples.append((t, None, None, "refused"))
                time.sleep(0.02)
                continue
            try:
                [[port, ro]] = conn.run("SELECT current_setting('port')::int, pg_is_in_recovery()")
                try:
                    conn.run("INSERT INTO orders (id) VALUES (:n)", n=n)
                    outcome = "written"
                except pg8000.exceptions.DatabaseError as exc:
                    outcome = "read-only" if "read-only" in str(exc) else "error"
                self.samples.append((t, port, ro, outcome))
            except Exception:
                self.samples.append((t, None, None, "dropped"))
            finally:
                try:
                    conn.close()
                except Exception:
                    pass
            time.sleep(0.02)

    def outage(self) -> float:
        """Wall seconds from the first failed write to the first write after it."""
        first_fail = next(t for t, *_, out in self.samples if out != "written")
        return next(t for t, *_, out in self.samples if t > first_fail and out == "written") - first_fail


async def _cluster(state_dir: Path, delays: Delays) -> AuroraCluster:
    cluster = AuroraCluster(
        "aurora-timing",
        state_dir,
        master_username=USER,
        master_password=PASSWORD,
        database_name=DB,
        writer_binds=[("127.0.0.1", 0)],
        reader_binds=[("127.0.0.1", 0)],
        events=EventLog(),
        delays=delays,
    )
    await cluster.start()
    await cluster.add_instance("db-a", "us-east-1a")
    await cluster.add_instance("db-b", "us-east-1b")
    return cluster


async def _observed_failover(cluster: AuroraCluster, settle_s: float) -> tuple[dict[str, Any], Observer, float]:
    observer = Observer(cluster.endpoint)
    thread = asyncio.create_task(asyncio.to_thread(observer.run))
    await asyncio.sleep(0.3)
    t0 = time.monotonic()
    timings = await cluster.failover()
    await asyncio.sleep(settle_s)
    observer.stop.set()
    await thread
    return timings, observer, t0


def test_aws_failover_lasts_aws_time_and_stale_dns_reaches_the_old_writer(state_dir: Path) -> None:
    timing = Timing("aws", {"rds_endpoint_dns_ttl_s": TTL_S})
    timing.arm()
    clock = LabClock(SCALE)
    ttl_wall = clock.wall(TTL_S)
    spec = AWS["rds_failover_write_unavailable_s"]

    async def scenario() -> None:
        cluster = await _cluster(state_dir, Delays.of(timing, clock))
        try:
            old, new = (cluster.members[i].server.port for i in ("db-a", "db-b"))
            conn = await asyncio.to_thread(_connect, cluster.endpoint)  # the proxy runs on this loop
            await asyncio.to_thread(conn.run, "CREATE TABLE orders (id int PRIMARY KEY)")
            conn.close()

            timings, seen, t0 = await _observed_failover(cluster, settle_s=ttl_wall + 0.5)
            drawn = timings["drawn_write_unavailable_s"]
            flip = t0 + timings["write_unavailable_s"]
            assert spec.low <= drawn <= spec.high  # the draw is in AWS's range
            # the endpoint refused writes for the drawn scenario time (real promotion fits inside it)
            assert timings["write_unavailable_s"] * SCALE >= drawn - 0.5
            assert timings["write_unavailable_s"] * SCALE <= drawn + 1.0 * SCALE  # + a real second of load
            # writes failed for at least that long, longer by the stale window (as AWS's clients see it)
            assert seen.outage() * SCALE >= drawn - 0.5

            during = [s for s in seen.samples if flip + 0.05 < s[0] < flip + ttl_wall - 0.1]
            after = [s for s in seen.samples if s[0] > flip + ttl_wall + 0.1]
            assert {port for _, port, _, _ in during} <= {old, None}, "inside the TTL: only the old writer"
            stale_reads = [s for s in during if s[1] == old]
            assert stale_reads, "a client connecting inside the TTL reaches the old writer once it has rejoined"
            assert all(ro is True and out == "read-only" for _, _, ro, out in stale_reads)
            assert after and all(port == new and out == "written" for _, port, _, out in after)
            first_new = min(t for t, port, _, _ in seen.samples if port == new)
            assert first_new >= flip + ttl_wall - 0.05

        finally:
            await cluster.stop()

    asyncio.run(scenario())
