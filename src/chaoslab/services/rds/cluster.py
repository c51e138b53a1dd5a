"""An Aurora-like cluster made of real postmasters: one writer, streaming-replication readers, and a
writer (cluster) endpoint and reader endpoint that are TCP proxies — so a failover really drops
connections, really refuses writes for a while, and really moves the endpoint to a new primary.

Unlike Aurora the instances do not share storage: before promoting a reader we wait until it has
replayed everything the fenced writer committed, so no acknowledged write is lost.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pg8000.native

from chaoslab.clock import LabClock
from chaoslab.errors import AwsError, ChaoslabError
from chaoslab.events import EventLog
from chaoslab.net.tcpproxy import TcpProxy
from chaoslab.services.rds.postgres import PG_ROOT_BASE, PostgresServer
from chaoslab.services.rds.template import DataTemplates, default_root
from chaoslab.store import Store
from chaoslab.timing import Timing

log = logging.getLogger(__name__)
Bind = tuple[str, int]
_REPLAY_WAIT = 10.0
# A reader copied from the writer's kept cluster streams what the writer wrote since: half of the
# servers' wal_keep_size (postgres.py), so the segment it starts from is surely still kept.
TEMPLATE_WAL_BUDGET = 128 << 20


@dataclass(frozen=True)
class Delays:
    """Scenario seconds AWS's steps take this time (drawn from the lab's timing profile) and the
    clock that turns them into waits; all zero by default: the cluster alone is as fast as PostgreSQL."""

    write_unavailable: Callable[[], float] = lambda: 0.0
    dns_ttl: Callable[[], float] = lambda: 0.0
    reboot: Callable[[], float] = lambda: 0.0
    clock: LabClock = LabClock()

    @classmethod
    def of(cls, timing: Timing, clock: LabClock) -> Delays:
        """AWS's failover, DNS and reboot times from a timing profile, waited on `clock`."""

        def draw(name: str) -> Callable[[], float]:
            return lambda: timing.draw(name)

        return cls(
            write_unavailable=draw("rds_failover_write_unavailable_s"),
            dns_ttl=draw("rds_endpoint_dns_ttl_s"),
            reboot=draw("rds_reboot_s"),
            clock=clock,
        )


@dataclass
class Member:
    """One DB instance of the cluster and the postmaster behind it."""

    instance_id: str
    az: str
    promotion_tier: int
    server: PostgresServer
    status: str = "creating"


class AuroraCluster:
    """Writer + readers behind two endpoint proxies; every change of roles goes through one lock."""

    def __init__(
        self,
        cluster_id: str,
        state_dir: Path,
        *,
        master_username: str,
        master_password: str,
        database_name: str | None = None,
        writer_binds: list[Bind],
        reader_binds: list[Bind],
        events: EventLog | None = None,
        store: Store | None = None,
        lab_run: str = "",
        fsync: bool = False,
        min_failover_downtime: float = 0.0,
        watch_interval: float = 0.5,
        delays: Delays | None = None,
        templates: DataTemplates | None = None,
    ) -> None:
        self.cluster_id = cluster_id
        self.templates = templates or DataTemplates(default_root(PG_ROOT_BASE))
        self.state_dir = state_dir
        self.master_username = master_username
        self.master_password = master_password
        self.database_name = database_name
        self.events = events
        self.min_failover_downtime = min_failover_downtime
        self.delays = delays or Delays()
        self.watch_interval = watch_interval
        self.status = "creating"
        self.members: dict[str, Member] = {}
        self.writer_id: str | None = None
        self.writer_proxies = [TcpProxy(h, p) for h, p in writer_binds]
        self.reader_proxies = [TcpProxy(h, p, route=self._next_reader) for h, p in reader_binds]
        self._reader_pool: list[Bind] = []
        self._reader_turn = 0
        # After a failover the writer endpoint's DNS name still resolves to the old writer for its TTL.
        self._stale_writer: Bind | None = None
        self._stale_until = 0.0
        self._stale_timer: asyncio.TimerHandle | None = None
        self.failovers: list[dict[str, Any]] = []
        self._store = store
        self._lab_run = lab_run
        self._fsync = fsync
        self._lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None
        # The kept cluster the first writer started from: until a failover, its readers can be copies too.
        self._template_key: str | None = None

    # -- views ---------------------------------------------------------------------------------
    @property
    def writer(self) -> Member | None:
        return self.members.get(self.writer_id) if self.writer_id else None

    @property
    def readers(self) -> list[Member]:
        return [m for m in self.members.values() if m.instance_id != self.writer_id]

    def is_writer(self, instance_id: str) -> bool:
        return instance_id == self.writer_id

    async def readers_caught_up(self, timeout: float = 10.0) -> bool:
        """Wait until every reader has replayed what the writer had written when asked (a reader
        cloned while apps seeded the writer is streaming the rest). The writer logs a marker and
        the readers must replay past it: the writer's own positions do not serve, since an
        insert position at a page boundary lies past the last record (a reader never reaches it)
        and the write position trails commits by up to the WAL writer's 200 ms
        (`synchronous_commit` is off here; the marker's own commit is flushed at once). False if
        `timeout` ran out."""
        writer = self.writer
        if writer is None or not self.readers:
            return True
        lsn = await writer.server.flushed_mark()
        deadline = asyncio.get_running_loop().time() + timeout
        for reader in self.readers:
            sql = "SELECT coalesce(pg_last_wal_replay_lsn() >= :lsn::pg_lsn, false)"
            while not (await reader.server.query(sql, lsn=lsn))[0][0]:
                if asyncio.get_running_loop().time() > deadline:
                    return False
                await asyncio.sleep(0.02)
        return True

    @property
    def endpoint(self) -> Bind:
        """The first writer-endpoint bind: the address apps are given."""
        return self.writer_proxies[0].host, self.writer_proxies[0].port

    @property
    def reader_endpoint(self) -> Bind:
        return self.reader_proxies[0].host, self.reader_proxies[0].port

    def bind_of(self, proxies: list[TcpProxy], host: str) -> Bind | None:
        """The endpoint address on `host` (e.g. the loopback one, for host-side tools)."""
        return next(((p.host, p.port) for p in proxies if p.host == host), None)

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the endpoints; they refuse connections until an instance exists."""
        for proxy in self.writer_proxies + self.reader_proxies:
            await proxy.start()
        self.status = "available"
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def expose(self, host: str, writer_port: int, reader_port: int) -> tuple[Bind, Bind]:
        """Serve both endpoints on one more address (e.g. a VPC service address made later)."""
        writer, reader = TcpProxy(host, writer_port), TcpProxy(host, reader_port, route=self._next_reader)
        await writer.start()
        try:
            await reader.start()
        except OSError:
            await writer.stop()
            raise
        self.writer_proxies.append(writer)
        self.reader_proxies.append(reader)
        self._route()
        return (host, writer.port), (host, reader.port)

    async def stop(self) -> None:
        """Close endpoints, stop every postmaster and delete their data dirs."""
        self.status = "deleting"
        if self._stale_timer is not None:
            self._stale_timer.cancel()
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
            self._watcher = None
        for proxy in self.writer_proxies + self.reader_proxies:
            await proxy.stop()
        async with self._lock:
            await asyncio.gather(*(self._discard(m) for m in list(self.members.values())))
            self.members.clear()
            self.writer_id = None

    async def _discard(self, member: Member) -> None:
        await member.server.stop("fast", timeout=10)
        member.server.remove()

    async def add_instance(self, instance_id: str, az: str, promotion_tier: int = 1) -> Member:
        """The first instance becomes the writer (initdb + database); later ones clone it as readers."""
        async with self._lock:
            server = PostgresServer(
                f"{self.cluster_id}-{instance_id}",
                self.state_dir,
                fsync=self._fsync,
                store=self._store,
                lab_run=self._lab_run,
            )
            member = Member(instance_id, az, promotion_tier, server)
            self.members[instance_id] = member
            try:
                if self.writer is None:
                    await self._init_writer(server)
                    self.writer_id = instance_id
                else:
                    await self._init_reader(server)
            except BaseException:
                del self.members[instance_id]
                await server.kill()
                server.remove()
                raise
            member.status = "available"
            self._route()
            return member

    async def _init_writer(self, server: PostgresServer) -> None:
        """Start the first member with the master user and the database: a copy of a kept
        cluster that has them, else initdb and CREATE DATABASE, then kept for the next lab."""
        user, password = self.master_username, self.master_password
        key = server.template_key(user, password, self.database_name)
        self._template_key = key
        if await server.init_from(self.templates, key, user, password):
            await server.start()
            return
        await server.init(user, password)
        await server.start()
        if self.database_name:
            await server.query("CREATE DATABASE " + pg8000.native.identifier(self.database_name))
        await server.stop("fast", timeout=10)
        if not (server.data_dir / "postmaster.pid").exists():  # stopped cleanly: fit to copy
            try:
                await self.templates.publish(key, server.data_dir)
            except (ChaoslabError, OSError) as exc:
                log.warning("could not keep PostgreSQL's initialized data for the next start: %s", exc)
        await server.start()

    async def _init_reader(self, server: PostgresServer) -> None:
        """Start a streaming replica of the writer. While the writer is the server that started from
        a kept cluster and still holds every WAL segment it wrote since, a copy of that cluster
        is one (both begin at its final checkpoint) and costs a tenth of `pg_basebackup`."""
        writer = self.writer
        assert writer is not None
        key = self._template_key
        copied = (
            key is not None
            and not self.failovers
            and await self._holds_all_wal(writer.server)
            and await server.standby_from(self.templates, key, writer.server)
        )
        if not copied:
            await server.base_backup_from(writer.server)
        await server.start()

    @staticmethod
    async def _holds_all_wal(writer: PostgresServer) -> bool:
        """The writer has written less WAL in all than it keeps (`wal_keep_size`): the segment a
        copy of its kept cluster starts replaying from is still there to stream. (Without a
        failover the writer is the server that started from that copy: writers change only by one.)"""
        (written,) = (await writer.query("SELECT pg_current_wal_lsn() - CAST('0/0' AS pg_lsn)"))[0]
        return int(written) < TEMPLATE_WAL_BUDGET

    async def remove_instance(self, instance_id: str) -> None:
        """Delete an instance; deleting the writer of a cluster with readers fails over first."""
        if self.is_writer(instance_id) and self.readers:
            await self.failover()
        async with self._lock:
            member = self.members.pop(instance_id)
            member.status = "deleting"
            if self.is_writer(instance_id):
                self.writer_id = None
            self._route()
            for proxy in self.writer_proxies + self.reader_proxies:
                for conn in proxy.connections:
                    if conn.upstream == (member.server.host, member.server.port):
                        conn.reset()
            await self._discard(member)

    # -- routing -------------------------------------------------------------------------------
    def _route(self, reader: Member | None = None) -> None:
        """Writer endpoint → the writer (the old one while its DNS answer is still cached); reader
        endpoint → each new connection to the next healthy reader, else the writer (as Aurora)."""
        writer = self.writer
        upstream = (writer.server.host, writer.server.port) if writer else None
        if self._stale_writer is not None and time.monotonic() < self._stale_until:
            upstream = self._stale_writer
        for proxy in self.writer_proxies:
            proxy.upstream = upstream
        pool = [reader] if reader is not None else [m for m in self.readers if m.status == "available"]
        if not pool and writer is not None:
            pool = [writer]
        self._reader_pool = [(m.server.host, m.server.port) for m in pool]
        for proxy in self.reader_proxies:
            proxy.upstream = self._reader_pool[0] if self._reader_pool else None

    def _next_reader(self, _sock: socket.socket) -> Bind:
        """The reader endpoint's DNS answer rotates among the readers: one per new connection."""
        if not self._reader_pool:
            raise OSError("the reader endpoint has no instance")  # the proxy refuses the connection
        self._reader_turn += 1
        return self._reader_pool[self._reader_turn % len(self._reader_pool)]

    def _flip_later(self, old: Bind, ttl_wall: float) -> None:
        """Keep the writer endpoint on `old` for `ttl_wall` seconds, then move it (a cached CNAME expiring)."""
        if self._stale_timer is not None:
            self._stale_timer.cancel()
        if ttl_wall <= 0:
            self._stale_writer = None
            return
        self._stale_writer, self._stale_until = old, time.monotonic() + ttl_wall
        self._stale_timer = asyncio.get_running_loop().call_later(ttl_wall, self._end_stale)

    def _end_stale(self) -> None:
        self._stale_writer, self._stale_timer = None, None
        self._route()

    async def _cut(self, proxies: list[TcpProxy]) -> int:
        """Refuse new connections and reset every live one; returns how many were dropped."""
        for proxy in proxies:
            proxy.pause("refuse")
        return sum([await proxy.drop_all() for proxy in proxies])

    @staticmethod
    def _reopen(proxies: list[TcpProxy]) -> None:
        for proxy in proxies:
            proxy.resume()

    # -- failover ------------------------------------------------------------------------------
    def pick_target(self, target_instance: str | None = None) -> Member:
        """The named reader, else the reader with the lowest PromotionTier (ties: first created)."""
        if target_instance is not None:
            member = self.members.get(target_instance)
            if member is None or self.is_writer(target_instance):
                raise AwsError(
                    "InvalidDBInstanceState",
                    f"DBInstance {target_instance} is not a reader of DBCluster {self.cluster_id}.",
                    400,
                )
            return member
        candidates = [m for m in self.readers if m.status == "available" and m.server.running]
        if not candidates:
            raise AwsError(
                "InvalidDBClusterStateFault",
                f"DBCluster {self.cluster_id} has no available reader to fail over to.",
                400,
            )
        return min(candidates, key=lambda m: m.promotion_tier)

    async def failover(self, target_instance: str | None = None, reason: str = "requested") -> dict[str, Any]:
        """Fence the writer, promote a reader, move the writer endpoint, rejoin the old writer as reader.

        Returns (and emits as `db.failover`) the timings; `write_unavailable_s` is how long the
        writer endpoint refused connections.
        """
        async with self._lock:
            new = self.pick_target(target_instance)
            old = self.writer
            assert old is not None
            self.status = "failing-over"
            t0 = time.monotonic()
            timings: dict[str, Any] = {
                "cluster": self.cluster_id,
                "old_writer": old.instance_id,
                "new_writer": new.instance_id,
                "reason": reason,
                "started": time.time(),
            }
            try:
                timings["dropped_connections"] = await self._cut(self.writer_proxies + self.reader_proxies)
                old.status = "rebooting"
                end_lsn = await self._fence(old.server, new.server)
                timings["fenced_s"] = round(time.monotonic() - t0, 3)
                timings["caught_up"] = await self._wait_replayed(new.server, end_lsn)
                await self._promote(old, new)
                timings["promoted_s"] = round(time.monotonic() - t0, 3)
                drawn = self.delays.write_unavailable()  # scenario seconds
                timings["drawn_write_unavailable_s"] = round(drawn, 3)
                hold = max(self.min_failover_downtime, self.delays.clock.wall(drawn))
                remaining = hold - (time.monotonic() - t0)
                if remaining > 0:
                    await asyncio.sleep(remaining)
                self._flip_later((old.server.host, old.server.port), self.delays.clock.wall(self.delays.dns_ttl()))
                self._route(reader=new)
                self._reopen(self.writer_proxies + self.reader_proxies)
                timings["write_unavailable_s"] = round(time.monotonic() - t0, 3)
                timings["rejoin"] = await self._rejoin(old, new)
                self._route()
                timings["rejoined_s"] = round(time.monotonic() - t0, 3)
            finally:
                self._reopen(self.writer_proxies + self.reader_proxies)
                self.status = "available"
            log.info("failover of %s: %s", self.cluster_id, timings)
            self.failovers.append(timings)
            if self.events is not None:
                self.events.emit("db.failover", **timings)
            return timings

    async def _promote(self, old: Member, new: Member) -> None:
        """Promote the target; if it cannot be promoted, bring the fenced writer back instead."""
        try:
            await new.server.promote()
        except Exception:
            log.exception("promoting %s failed; restarting writer %s", new.instance_id, old.instance_id)
            await old.server.start()
            old.status = "available"
            self._route()
            raise
        self.writer_id = new.instance_id

    async def _fence(self, server: PostgresServer, target: PostgresServer) -> str | None:
        """Stop the writer. A fast shutdown streams all its WAL to the standbys connected at that
        moment, so first make sure the target is one of them (it may be reconnecting)."""
        deadline = time.monotonic() + _REPLAY_WAIT
        while server.running and time.monotonic() < deadline:
            try:
                if await server.streams_to(target):
                    break
            except Exception:
                break
            await asyncio.sleep(0.02)
        await server.stop("fast", timeout=5)
        return await server.shutdown_lsn()

    async def _wait_replayed(self, server: PostgresServer, lsn: str | None) -> bool:
        """Wait until the target holds every write of the fenced writer; False if it never does
        (the writer crashed, or the target fell behind) — then we promote anyway, as AWS would."""
        if lsn is None:
            return False
        deadline = time.monotonic() + _REPLAY_WAIT
        while not await server.replayed_past(lsn):
            if time.monotonic() > deadline:
                log.warning("%s had not replayed up to %s; promoting anyway", server.name, lsn)
                return False
            await asyncio.sleep(0.01)
        return True

    async def _rejoin(self, old: Member, new: Member) -> str:
        """The old writer comes back as a reader of the new one; returns `rewind`/`clone`/`failed`."""
        try:
            how = await old.server.rewind_from(new.server)
            await old.server.start()
        except ChaoslabError as exc:
            log.error("old writer %s could not rejoin: %s", old.instance_id, exc)
            old.status = "failed"
            return "failed"
        old.status = "available"
        return how

    # -- self-healing --------------------------------------------------------------------------
    async def _watch(self) -> None:
        """Aurora's own recovery: a writer that dies fails over to a live reader (or restarts when
        there is none); a reader that dies restarts. Deliberate stops hold the lock, so are skipped."""
        while True:
            await asyncio.sleep(self.watch_interval)
            if self._lock.locked() or self.status != "available":
                continue
            dead = next((m for m in self.members.values() if m.status == "available" and not m.server.running), None)
            if dead is None:
                continue
            try:
                await self._recover(dead)
            except Exception:
                log.exception("recovering %s of %s failed", dead.instance_id, self.cluster_id)

    async def _recover(self, member: Member) -> None:
        if self.is_writer(member.instance_id) and any(
            m.status == "available" and m.server.running for m in self.readers
        ):
            await self.failover(reason="writer crashed")
            return
        async with self._lock:
            t0 = time.monotonic()
            member.status = "rebooting"
            try:
                await member.server.start()
            finally:
                member.status = "available"
                self._route()
        if self.events is not None:
            self.events.emit(
                "db.recovered",
                cluster=self.cluster_id,
                instance=member.instance_id,
                writer=self.is_writer(member.instance_id),
                restart_s=round(time.monotonic() - t0, 3),
            )

    # -- reboot --------------------------------------------------------------------------------
    async def reboot_instance(self, instance_id: str, force_failover: bool = False) -> dict[str, Any]:
        """Restart one instance; the writer with `force_failover` fails over instead (if it can)."""
        if force_failover and self.is_writer(instance_id) and self.readers:
            return await self.failover()
        async with self._lock:
            member = self.members[instance_id]
            t0 = time.monotonic()
            member.status = "rebooting"
            was_writer = self.is_writer(instance_id)
            proxies = list(self.writer_proxies) if was_writer else []
            proxies += [p for p in self.reader_proxies if p.upstream == (member.server.host, member.server.port)]
            try:
                dropped = await self._cut(proxies)
                drawn = self.delays.reboot()  # scenario seconds
                hold = self.delays.clock.wall(drawn)
                await member.server.stop("fast", timeout=10)
                remaining = hold - (time.monotonic() - t0)
                if remaining > 0:
                    await asyncio.sleep(remaining)
                await member.server.start()
            finally:
                self._reopen(proxies)
            member.status = "available"
            self._route()
            result = {
                "cluster": self.cluster_id,
                "instance": instance_id,
                "writer": was_writer,
                "dropped_connections": dropped,
                "drawn_unavailable_s": round(drawn, 3),
                "unavailable_s": round(time.monotonic() - t0, 3),
            }
            if self.events is not None:
                self.events.emit("db.reboot", **result)
            return result
