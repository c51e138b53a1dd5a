"""Real PostgreSQL and real gunicorn processes for the sample-app tests.

PostgresServer is asyncio-based and its process handle belongs to the loop that started it, so one
background loop thread owns every server; tests call into it synchronously.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from app_helpers import AppProcess, assert_no_postgres_left

from chaoslab.services.rds.postgres import PostgresServer, pg_root

PASSWORD = "chaos-lab-secret"


class LoopThread:
    """An event loop in a daemon thread; run() blocks until the coroutine is done."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 90) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


class Pg:
    """A started PostgresServer plus helpers to hand each test its own empty database."""

    def __init__(self, loop: LoopThread, state_dir: Path, name: str) -> None:
        self.loop = loop
        self.state_dir = state_dir
        self.server = PostgresServer(name, state_dir, host="127.0.0.1")

    def init(self) -> None:
        self.loop.run(self.server.init("chaos", PASSWORD))

    def start(self) -> None:
        self.loop.run(self.server.start())

    def stop(self, mode: str = "fast") -> None:
        self.loop.run(self.server.stop(mode))

    def create_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        conn = self.server.connect()
        try:
            conn.run(f"CREATE DATABASE {name}")
        finally:
            conn.close()
        return name

    def env(self, database: str) -> dict[str, str]:
        """The env a task definition would give the app for this database."""
        return {
            "DB_ENDPOINT": self.server.host,
            "DB_PORT": str(self.server.port),
            "DB_NAME": database,
            "DB_USERNAME": "chaos",
            "DB_PASSWORD": PASSWORD,
            "DB_TIMEOUT": "5",
        }

    def destroy(self) -> None:
        self.loop.run(self.server.stop("immediate"))
        self.server.remove()
        root = pg_root(self.state_dir)
        if root.is_dir() and not any(root.iterdir()):
            root.rmdir()  # the per-state-dir parent PostgresServer made for us


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def pg(loop_thread: LoopThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pg]:
    """One shared, running server per test module; each test takes its own database."""
    state_dir = tmp_path_factory.mktemp("pg")
    server = Pg(loop_thread, state_dir, "apps-shared")
    server.init()
    server.start()
    yield server
    server.destroy()
    assert_no_postgres_left(pg_root(state_dir))


@pytest.fixture
def private_pg(loop_thread: LoopThread, tmp_path: Path) -> Iterator[Pg]:
    """An initialised but NOT started server the test may stop and start at will."""
    (tmp_path / "pg").mkdir()
    server = Pg(loop_thread, tmp_path / "pg", "apps-private")
    server.init()
    yield server
    server.destroy()
    assert_no_postgres_left(pg_root(tmp_path / "pg"))


@pytest.fixture
def apps() -> Iterator[list[AppProcess]]:
    """Collects started app processes and stops them all, asserting none is left behind."""
    started: list[AppProcess] = []
    yield started
    for proc in started:
        proc.stop()
    for proc in started:
        proc.assert_gone()
