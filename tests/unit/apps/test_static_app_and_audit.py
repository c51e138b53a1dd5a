"""The static WSGI app called directly, and the audit log's durability contract."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from chaoslab.apps.pet_payment.audit import AuditLog
from chaoslab.apps.static.app import create_app


def call(app, method: str, path: str) -> tuple[str, dict, bytes]:
    seen: dict = {}

    def start_response(status: str, headers: list) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app({"REQUEST_METHOD": method, "PATH_INFO": path}, start_response))
    return seen["status"], seen["headers"], body


def test_static_routes() -> None:
    app = create_app({"INSTANCE_ID": "i-1"})
    status, headers, body = call(app, "GET", "/")
    assert status == "200 OK" and json.loads(body)["instance_id"] == "i-1"
    assert headers["Content-Length"] == str(len(body))
    assert json.loads(call(app, "GET", "/health")[2]) == {"status": "healthy"}
    assert call(app, "GET", "/x")[0].startswith("404")
    assert call(app, "POST", "/")[0].startswith("405")
    status, headers, body = call(app, "HEAD", "/health")
    assert status == "200 OK" and body == b"" and int(headers["Content-Length"]) > 0


def test_audit_appends_and_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit.log"
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    log = AuditLog(str(path))
    log.append({"payment_id": 1})
    log.append({"payment_id": 2, "amount": 9.5})
    assert synced == [str(path), str(path)]
    assert [json.loads(line) for line in path.read_text().splitlines()] == [
        {"payment_id": 1},
        {"payment_id": 2, "amount": 9.5},
    ]
