"""AuroraCluster with real postmasters: replication, failover through the same endpoint, no lost
acknowledged write, rejoin of the old writer, reboot with failover, and a clean stop."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pg8000.native
import pytest
from rds_helpers import assert_no_postgres_left

from chaoslab.events import EventLog
from chaoslab.services.rds.cluster import AuroraCluster
from chaoslab.services.rds.postgres import pg_root
from chaoslab.services.rds.template import DataTemplates

USER, PASSWORD, DB = "master", "Passw0rd!", "shop"


def _connect(bind: tuple[str, int]) -> pg8000.native.Connection:
    return pg8000.native.Connection(USER, password=PASSWORD, host=bind[0], port=bind[1], database=DB, timeout=3)


async def _sql(bind: tuple[str, int], sql: str, **params: Any) -> list:
    def run() -> list:
        conn = _connect(bind)
        try:
            return conn.run(sql, **params) or []
        finally:
            conn.close()

    return await asyncio.to_thread(run)


async def _eventually(bind: tuple[str, int], sql: str, want: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    got: Any = None
    while time.monotonic() < deadline:
        try:
            got = await _sql(bind, sql)
            if got == want:
                return got
        except Exception as exc:
            got = exc
        await asyncio.sleep(0.05)
    return got


class Writer:
    """A client that inserts numbered rows through the writer endpoint, remembering acks and errors."""

    def __init__(self, bind: tuple[str, int]) -> None:
        self.bind = bind
        self.acked: list[int] = []
        self.failures: list[float] = []
        self.successes: list[float] = []
        self._stop = False

    def run(self) -> None:
        n, conn = 0, None
        while not self._stop:
            n += 1
            try:
                if conn is None:
                    conn = _connect(self.bind)
                conn.run("INSERT INTO orders (id) VALUES (:n)", n=n)
                self.acked.append(n)
                self.successes.append(time.monotonic())
            except Exception:
                self.failures.append(time.monotonic())
                conn = None
                time.sleep(0.01)

    def stop(self) -> None:
        self._stop = True

    def outage(self) -> float:
        """Longest gap between two successful writes that had failures inside it."""
        worst = 0.0
        for a, b in zip(self.successes, self.successes[1:], strict=False):
            if any(a < f < b for f in self.failures):
                worst = max(worst, b - a)
        return worst


@pytest.fixture
def events() -> EventLog:
    return EventLog()


async def _new_cluster(state_dir: Path, events: EventLog) -> AuroraCluster:
    cluster = AuroraCluster(
        "aurora-test",
        state_dir,
        master_username=USER,
        master_password=PASSWORD,
        database_name=DB,
        writer_binds=[("127.0.0.1", 0)],
        reader_binds=[("127.0.0.1", 0)],
        events=events,
    )
    await cluster.start()
    await cluster.add_instance("db-a", "us-east-1a")
    await cluster.add_instance("db-b", "us-east-1b")
    return cluster


def test_failover_keeps_every_acknowledged_write(state_dir: Path, events: EventLog) -> None:
    async def scenario() -> dict[str, Any]:
        t0 = time.monotonic()
        cluster = await _new_cluster(state_dir, events)
        start_s = time.monotonic() - t0
        try:
            assert cluster.is_writer("db-a") and not cluster.is_writer("db-b")
            await _sql(cluster.endpoint, "CREATE TABLE orders (id int PRIMARY KEY)")
            await _sql(cluster.endpoint, "INSERT INTO orders VALUES (-1)")
            # What `up` waits for before it says ready: the reader then has every committed row.
            assert await cluster.readers_caught_up(timeout=5)
            assert await _sql(cluster.reader_endpoint, "SELECT count(*) FROM orders") == [[1]]
            assert await _eventually(cluster.reader_endpoint, "SELECT count(*) FROM orders", [[1]]) == [[1]]
            assert (await _sql(cluster.reader_endpoint, "SELECT pg_is_in_recovery()"))[0][0] is True

            idle = await asyncio.to_thread(
                _connect, cluster.endpoint
            )  # a connection that must be dropped by the failover
            writer = Writer(cluster.endpoint)
            loop_task = asyncio.create_task(asyncio.to_thread(writer.run))
            await asyncio.sleep(0.5)
            timings = await cluster.failover()
            await asyncio.sleep(0.5)
            writer.stop()
            await loop_task

            with pytest.raises((pg8000.exceptions.InterfaceError, pg8000.exceptions.DatabaseError, OSError)):
                await asyncio.to_thread(idle.run, "SELECT 1")
            assert cluster.is_writer("db-b") and not cluster.is_writer("db-a")
            assert timings["new_writer"] == "db-b" and timings["dropped_connections"] >= 2
            assert timings["caught_up"], "the new writer replayed everything the old one committed"
            assert writer.failures, "the failover must really interrupt writes"
            assert writer.successes[-1] > writer.failures[-1], "writes resume through the same endpoint"
            rows = {r[0] for r in await _sql(cluster.endpoint, "SELECT id FROM orders")}
            assert set(writer.acked) <= rows, "no acknowledged write may be lost"
            assert (await _sql(cluster.endpoint, "SELECT pg_is_in_recovery()"))[0][0] is False

            # the old writer is now a replica of the new one and serves the reader endpoint
            assert timings["rejoin"] in ("rewind", "clone")
            assert await cluster.members["db-a"].server.is_in_recovery()
            await _sql(cluster.endpoint, "INSERT INTO orders VALUES (-2)")
            want = [[len(rows) + 1]]
            assert await _eventually(cluster.reader_endpoint, "SELECT count(*) FROM orders", want) == want
            assert cluster.reader_proxies[0].upstream == (
                cluster.members["db-a"].server.host,
                cluster.members["db-a"].server.port,
            )
            assert [e["new_writer"] for e in events.since(kinds={"db.failover"})] == ["db-b"]
            return {"start_s": start_s, "client_outage_s": writer.outage(), **timings}
        finally:
            await cluster.stop()

    result = asyncio.run(scenario())
    print(
        f"\nRDS figures: cluster start {result['start_s']:.2f}s; failover write-unavailability "
        f"{result['write_unavailable_s']:.2f}s (client-observed {result['client_outage_s']:.2f}s); "
        f"rejoin by {result['rejoin']} at {result['rejoined_s']:.2f}s"
    )
    assert_no_postgres_left(pg_root(state_dir))
    assert not pg_root(state_dir).exists()


def test_reboot_with_force_failover_and_plain_reboot(state_dir: Path, events: EventLog) -> None:
    async def scenario() -> None:
        cluster = await _new_cluster(state_dir, events)
        try:
            await _sql(cluster.endpoint, "CREATE TABLE orders (id int PRIMARY KEY)")
            result = await cluster.reboot_instance("db-a", force_failover=True)
            assert result["new_writer"] == "db-b" and cluster.is_writer("db-b") and result["caught_up"]
            old_pid = cluster.members["db-b"].server.pid
            result = await cluster.reboot_instance("db-b")
            assert result["writer"] is True and cluster.is_writer("db-b")
            assert cluster.members["db-b"].server.pid != old_pid
            await _sql(cluster.endpoint, "INSERT INTO orders VALUES (1)")
            assert await _eventually(cluster.reader_endpoint, "SELECT count(*) FROM orders", [[1]]) == [[1]]
            await cluster.remove_instance("db-b")  # deleting the writer fails over to db-a first
            assert cluster.is_writer("db-a") and list(cluster.members) == ["db-a"]
            assert (await _sql(cluster.endpoint, "SELECT count(*) FROM orders")) == [[1]]
        finally:
            await cluster.stop()

    asyncio.run(scenario())


def test_writer_crash_fails_over_by_itself_and_a_dead_reader_restarts(state_dir: Path, events: EventLog) -> None:
    async def scenario() -> None:
        cluster = AuroraCluster(
            "aurora-crash",
            state_dir,
            master_username=USER,
            master_password=PASSWORD,
            database_name=DB,
            writer_binds=[("127.0.0.1", 0)],
            reader_binds=[("127.0.0.1", 0)],
            events=events,
            min_failover_downtime=1.0,
            watch_interval=0.1,
        )
        await cluster.start()
        try:
            await cluster.add_instance("db-a", "us-east-1a")
            await cluster.add_instance("db-b", "us-east-1b")
            await _sql(cluster.endpoint, "CREATE TABLE orders (id int PRIMARY KEY)")
            await _sql(cluster.endpoint, "INSERT INTO orders VALUES (1)")
            assert await _eventually(cluster.reader_endpoint, "SELECT count(*) FROM orders", [[1]]) == [[1]]
            await cluster.members["db-a"].server.kill()  # power cut: no shutdown checkpoint, no last WAL
            deadline = time.monotonic() + 20
            while not cluster.failovers or cluster.status != "available":
                assert time.monotonic() < deadline, "no automatic failover"
                await asyncio.sleep(0.05)
            [timings] = cluster.failovers
            assert timings["reason"] == "writer crashed" and timings["caught_up"] is False
            assert timings["write_unavailable_s"] >= 1.0
            assert cluster.is_writer("db-b")
            await _sql(cluster.endpoint, "INSERT INTO orders VALUES (2)")
            assert timings["rejoin"] in ("rewind", "clone")
            assert await _eventually(cluster.reader_endpoint, "SELECT count(*) FROM orders", [[2]]) == [[2]]

            await cluster.members["db-a"].server.kill()  # now a reader: it is restarted in place
            while not events.since(kinds={"db.recovered"}):
                assert time.monotonic() < deadline + 20, "the reader was not restarted"
                await asyncio.sleep(0.05)
            assert cluster.members["db-a"].server.running and await cluster.members["db-a"].server.is_in_recovery()
            await _sql(cluster.endpoint, "INSERT INTO orders VALUES (3)")
            assert await _eventually(cluster.reader_endpoint, "SELECT count(*) FROM orders", [[3]]) == [[3]]
        finally:
            await cluster.stop()

    asyncio.run(scenario())


def test_a_second_cluster_starts_from_the_kept_data_dir(tmp_path: Path, events: EventLog) -> None:
    """The first writer is made with initdb and kept (template.py); the next cluster's writer is a
    copy of it — same system identifier, the database there, nothing the first cluster wrote
    afterwards. Its first reader is another copy, which streams what the writer wrote since; a
    reader added after a failover is cloned with pg_basebackup."""
    templates = DataTemplates(tmp_path / "templates")

    async def build(state_dir: Path) -> AuroraCluster:
        cluster = AuroraCluster(
            "aurora-tpl",
            state_dir,
            master_username=USER,
            master_password=PASSWORD,
            database_name=DB,
            writer_binds=[("127.0.0.1", 0)],
            reader_binds=[("127.0.0.1", 0)],
            events=events,
            templates=templates,
        )
        await cluster.start()
        await cluster.add_instance("db-a", "us-east-1a")
        return cluster

    ident = "SELECT system_identifier FROM pg_control_system()"

    async def scenario() -> None:
        first = await build(tmp_path / "one")
        try:
            assert len(list((tmp_path / "templates").iterdir())) == 1, "the first writer is kept"
            await _sql(first.endpoint, "CREATE TABLE orders (id int PRIMARY KEY)")
            first_id = await _sql(first.endpoint, ident)
        finally:
            await first.stop()
        second = await build(tmp_path / "two")
        try:
            assert await _sql(second.endpoint, ident) == first_id, "a copy, not a new initdb"
            assert await _sql(second.endpoint, "SELECT to_regclass('orders') IS NULL") == [[True]]
            await _sql(second.endpoint, "CREATE TABLE orders (id int PRIMARY KEY)")
            await _sql(second.endpoint, "INSERT INTO orders VALUES (1)")
            await second.add_instance("db-b", "us-east-1b")
            copied = second.members["db-b"].server.data_dir
            # pg_basebackup leaves a backup label (renamed at start); a copy of the kept cluster has none
            assert not (copied / "backup_label.old").exists(), "the reader is a copy of the kept cluster"
            assert await _eventually(second.reader_endpoint, "SELECT count(*) FROM orders", [[1]]) == [[1]]
            await _sql(second.endpoint, "INSERT INTO orders VALUES (2)")
            assert await _eventually(second.reader_endpoint, "SELECT count(*) FROM orders", [[2]]) == [[2]]
            await second.failover("db-b")
            # the new writer is on a timeline the kept cluster never had: a reader now needs a clone
            await second.add_instance("db-c", "us-east-1c")
            assert (second.members["db-c"].server.data_dir / "backup_label.old").exists()
            await _sql(second.endpoint, "INSERT INTO orders VALUES (3)")
            assert await second.readers_caught_up(timeout=10)
            for member in ("db-a", "db-c"):
                assert await second.members[member].server.query("SELECT count(*) FROM orders", database=DB) == [[3]]
        finally:
            await second.stop()

    asyncio.run(scenario())
    for state_dir in (tmp_path / "one", tmp_path / "two"):
        assert_no_postgres_left(pg_root(state_dir))
