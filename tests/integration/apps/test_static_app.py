"""The static responder under gunicorn: no database, answers / and /health."""

from __future__ import annotations

from pathlib import Path

from app_helpers import start_app


def test_static_responder(apps, tmp_path: Path) -> None:
    unit = start_app(apps, "chaoslab/static", {"INSTANCE_ID": "i-static"}, tmp_path / "s", workers=1)
    root = unit.get("/")
    assert root.status == 200 and root.json() == {"service": "static", "instance_id": "i-static", "status": "running"}
    assert root.headers["Content-Type"] == "application/json"
    assert unit.get("/health").json() == {"status": "healthy"}
    assert unit.get("/elsewhere").status == 404
