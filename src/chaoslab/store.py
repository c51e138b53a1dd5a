"""SQLite state: documents (templates, experiments, …), the fault undo journal and the processes we
own. The journal and the process table are what make a crash recoverable: both are written before
the thing they describe happens."""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
  kind TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, updated REAL NOT NULL,
  PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS undo_journal (
  id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, fault TEXT NOT NULL,
  record TEXT NOT NULL, created REAL NOT NULL, reverted REAL);
CREATE TABLE IF NOT EXISTS processes (
  pid INTEGER NOT NULL, create_time REAL NOT NULL, what TEXT NOT NULL, lab_run TEXT NOT NULL,
  PRIMARY KEY (pid, create_time));
CREATE TABLE IF NOT EXISTS resources (
  kind TEXT NOT NULL, name TEXT NOT NULL, lab_run TEXT NOT NULL, PRIMARY KEY (kind, name));
"""


class Store:
    """One SQLite file in the state dir. Every write commits at once (WAL), so a SIGKILL loses nothing."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    # documents -----------------------------------------------------------------------------
    def put(self, kind: str, id: str, body: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO documents (kind, id, body, updated) VALUES (?, ?, ?, ?)",
            (kind, id, json.dumps(body, default=str), time.time()),
        )

    def get(self, kind: str, id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT body FROM documents WHERE kind=? AND id=?", (kind, id)).fetchone()
        return json.loads(row[0]) if row else None

    def list(self, kind: str) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT body FROM documents WHERE kind=? ORDER BY updated", (kind,))
        return [json.loads(r[0]) for r in rows]

    def delete(self, kind: str, id: str) -> None:
        self._db.execute("DELETE FROM documents WHERE kind=? AND id=?", (kind, id))

    # undo journal ---------------------------------------------------------------------------
    def journal_add(self, owner: str, fault: str, record: dict[str, Any]) -> int:
        """Persist an undo record BEFORE the fault takes effect; returns its id."""
        cur = self._db.execute(
            "INSERT INTO undo_journal (owner, fault, record, created) VALUES (?, ?, ?, ?)",
            (owner, fault, json.dumps(record, default=str), time.time()),
        )
        assert cur.lastrowid is not None  # an INSERT into a table with an INTEGER PRIMARY KEY
        return int(cur.lastrowid)

    def journal_done(self, entry_id: int) -> None:
        self._db.execute("UPDATE undo_journal SET reverted=? WHERE id=?", (time.time(), entry_id))

    def journal_pending(self, owner: str | None = None) -> builtins.list[dict[str, Any]]:
        sql = "SELECT id, owner, fault, record, created FROM undo_journal WHERE reverted IS NULL"
        args: tuple[Any, ...] = ()
        if owner is not None:
            sql += " AND owner=?"
            args = (owner,)
        rows = self._db.execute(sql + " ORDER BY id DESC", args).fetchall()
        return [{"id": r[0], "owner": r[1], "fault": r[2], "record": json.loads(r[3]), "created": r[4]} for r in rows]

    # processes and host resources we own (for cleanup after a crash) -------------------------
    def own_process(self, pid: int, create_time: float, what: str, lab_run: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO processes (pid, create_time, what, lab_run) VALUES (?, ?, ?, ?)",
            (pid, create_time, what, lab_run),
        )

    def disown_process(self, pid: int) -> None:
        self._db.execute("DELETE FROM processes WHERE pid=?", (pid,))

    def owned_processes(self) -> Iterator[tuple[int, float, str]]:
        yield from self._db.execute("SELECT pid, create_time, what FROM processes").fetchall()

    def own_resource(self, kind: str, name: str, lab_run: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO resources (kind, name, lab_run) VALUES (?, ?, ?)", (kind, name, lab_run)
        )

    def disown_resource(self, kind: str, name: str) -> None:
        self._db.execute("DELETE FROM resources WHERE kind=? AND name=?", (kind, name))

    def owned_resources(self, kind: str) -> builtins.list[str]:
        return [r[0] for r in self._db.execute("SELECT name FROM resources WHERE kind=?", (kind,))]

    def close(self) -> None:
        self._db.close()
