"""PostgresServer against real postmasters: init, replicate, promote, rewind, stop, clean up."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pg8000.native
import pytest
from rds_helpers import assert_no_postgres_left, live_postgres

from chaoslab.errors import ChaoslabError
from chaoslab.services.rds.postgres import PG_ROOT_BASE, PostgresServer, cleanup_owned, pg_root, ram_base
from chaoslab.store import Store


async def _wait_rows(server: PostgresServer, sql: str, want: list, timeout: float = 5.0) -> list:
    deadline = asyncio.get_running_loop().time() + timeout
    rows: list = []
    while asyncio.get_running_loop().time() < deadline:
        rows = await server.query(sql)
        if rows == want:
            return rows
        await asyncio.sleep(0.05)
    return rows


def test_primary_replica_promote_rewind(state_dir: Path) -> None:
    async def scenario() -> None:
        primary = PostgresServer("a", state_dir)
        replica = PostgresServer("b", state_dir)
        try:
            await primary.init("master", "s3cret")
            await primary.start()
            assert primary.pid and not await primary.is_in_recovery()
            await primary.query("CREATE TABLE t (x int)")
            await primary.query("INSERT INTO t VALUES (1)")
            await replica.base_backup_from(primary)
            await replica.start()
            assert await replica.is_in_recovery()
            await primary.query("INSERT INTO t VALUES (2)")
            assert await _wait_rows(replica, "SELECT x FROM t ORDER BY x", [[1], [2]]) == [[1], [2]]

            await primary.stop("immediate")
            assert primary.pid is None
            await replica.promote()
            assert not await replica.is_in_recovery()
            await replica.query("INSERT INTO t VALUES (3)")
            how = await primary.rewind_from(replica)
            assert how in ("rewind", "clone")
            await primary.start()
            assert await primary.is_in_recovery()
            await replica.query("INSERT INTO t VALUES (4)")
            assert await _wait_rows(primary, "SELECT x FROM t ORDER BY x", [[1], [2], [3], [4]]) == [[1], [2], [3], [4]]
        finally:
            await primary.stop()
            await replica.kill()
            primary.remove()
            replica.remove()
        assert not primary.base_dir.exists() and not replica.base_dir.exists()

    asyncio.run(scenario())


def test_password_is_required_and_root_runs_as_postgres(state_dir: Path) -> None:
    async def scenario() -> None:
        server = PostgresServer("solo", state_dir)
        try:
            await server.init("master", "right")
            await server.start()
            with pytest.raises(pg8000.native.DatabaseError):
                pg8000.native.Connection("master", password="wrong", host=server.host, port=server.port)
            if os.geteuid() == 0:
                import psutil

                assert psutil.Process(server.pid).username() != "root"
                assert server.data_dir.is_relative_to(ram_base() or PG_ROOT_BASE)  # not under root's home
        finally:
            await server.stop()
            server.remove()

    asyncio.run(scenario())


def test_cleanup_owned_kills_a_crashed_labs_postmaster(state_dir: Path) -> None:
    store = Store(state_dir / "state.db")

    async def start() -> PostgresServer:
        server = PostgresServer("orphan", state_dir, store=store, lab_run="run1")
        await server.init("master", "pw")
        await server.start()
        return server

    server = asyncio.run(start())  # the loop ends; the postmaster lives on, as after a lab crash
    assert live_postgres(server.base_dir)
    # its dynamic shared memory is in the data dir, not /dev/shm, so removing the dir frees it
    assert list((server.data_dir / "pg_dynshmem").iterdir())
    assert list(store.owned_processes())
    cleanup_owned(store)
    assert_no_postgres_left(pg_root(state_dir))
    assert not server.base_dir.exists()
    assert list(store.owned_processes()) == [] and store.owned_resources("pg_dir") == []
    store.close()


def test_start_failure_reports_the_servers_own_words(state_dir: Path) -> None:
    async def scenario() -> None:
        first = PostgresServer("one", state_dir)
        second = PostgresServer("two", state_dir, port=first.port)
        try:
            await first.init("master", "pw")
            await first.start()
            await second.init("master", "pw")
            with pytest.raises(ChaoslabError) as err:
                await second.start()  # the port is taken
            assert "exited at start" in err.value.message and "already in use" in err.value.message
        finally:
            await first.stop()
            await second.stop()
            first.remove()
            second.remove()

    asyncio.run(scenario())
