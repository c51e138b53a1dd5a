"""Database plumbing shared by the sample apps: env config, one connection per worker, schema init.

The seed apps run under gunicorn's sync workers: each worker serves one request at a time, so one
persistent connection per worker is safe and saves a TCP/auth round trip per request. The
connection is checked with ``SELECT 1`` before use and replaced when that fails, which is what
lets an app ride out a database restart or failover (seed 003's pattern).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pg8000

T = TypeVar("T")

INIT_LOCK_ID = 0x636C6162  # 'clab': serialises schema init across instances starting together


@dataclass(frozen=True)
class DbSettings:
    """Where the app's database is, from the same env variables the seed's userdata sets."""

    host: str
    port: int
    database: str
    user: str
    password: str
    timeout: float
    init_timeout: float

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> DbSettings:
        """Read DB_* variables; DB_TIMEOUT bounds every socket wait so a blackholed DB fails a
        request instead of hanging a worker until gunicorn kills it."""
        return cls(
            host=env.get("DB_ENDPOINT", ""),
            port=int(env.get("DB_PORT", "5432")),
            database=env.get("DB_NAME", ""),
            user=env.get("DB_USERNAME", ""),
            password=env.get("DB_PASSWORD", ""),
            timeout=float(env.get("DB_TIMEOUT", "10")),
            init_timeout=float(env.get("DB_INIT_TIMEOUT", "120")),
        )


def connect(settings: DbSettings) -> pg8000.Connection:
    """Open an autocommit connection whose timestamps are UTC, as Aurora's default is."""
    conn = pg8000.connect(
        host=settings.host,
        port=settings.port,
        database=settings.database or None,
        user=settings.user,
        password=settings.password or None,
        timeout=settings.timeout,
    )
    conn.autocommit = True
    cursor = conn.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    return conn


class WorkerConnection:
    """The worker's persistent connection, revalidated with SELECT 1 on every use."""

    def __init__(self, settings: DbSettings) -> None:
        self._settings = settings
        self._conn: pg8000.Connection | None = None

    def get(self) -> pg8000.Connection:
        """Return a live connection, reconnecting when the old one no longer answers."""
        if self._conn is not None:
            try:
                cursor = self._conn.cursor()
                cursor.execute("SELECT 1")
                cursor.fetchone()
                cursor.close()
                return self._conn
            except Exception:
                self.discard()
        self._conn = connect(self._settings)
        return self._conn

    def discard(self) -> None:
        """Drop the connection (after an error left it in an unknown state)."""
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
        self._conn = None


def in_transaction(db: WorkerConnection, work: Callable[[Any], T]) -> T:
    """Run `work(cursor)` in one transaction on the worker's connection: all of it or none."""
    conn = db.get()
    conn.autocommit = False
    try:
        result = work(conn.cursor())
        conn.commit()
        return result
    except Exception:
        try:
            conn.rollback()
        except Exception:
            db.discard()  # the connection died mid-transaction; the server rolls back for us
        raise
    finally:
        conn.autocommit = True


def run_init(settings: DbSettings, create: Callable[[pg8000.Connection], None], sleep: float = 0.5) -> None:
    """Run `create` once the database answers, under a cluster-wide advisory lock.

    Instances boot before (or while) the database does, so connection failures are retried until
    DB_INIT_TIMEOUT. The transaction-scoped advisory lock makes two instances initialising the same
    empty database take turns: concurrent CREATE TABLE IF NOT EXISTS can otherwise fail on
    PostgreSQL's catalog unique indexes.
    """
    deadline = time.monotonic() + settings.init_timeout
    while True:
        try:
            conn = connect(settings)
        except Exception:
            if time.monotonic() >= deadline:
                raise
            time.sleep(sleep)
            continue
        try:
            conn.autocommit = False
            cursor = conn.cursor()
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (INIT_LOCK_ID,))
            create(conn)
            conn.commit()
            return
        except Exception:
            try:
                conn.rollback()
            except Exception:
                pass
            if time.monotonic() >= deadline:
                raise
            time.sleep(sleep)
        finally:
            try:
                conn.close()
            except Exception:
                pass
