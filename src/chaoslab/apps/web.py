"""Flask pieces every sample app shares: identity, the two health checks and JSON error pages."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from chaoslab.apps.db import WorkerConnection


@dataclass(frozen=True)
class Identity:
    """Which instance answered: the routing indicator the seed's walk-through relies on."""

    instance_id: str
    availability_zone: str
    private_ip: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Identity:
        return cls(
            instance_id=env.get("INSTANCE_ID", "unknown"),
            availability_zone=env.get("AZ", "unknown"),
            private_ip=env.get("PRIVATE_IP", "unknown"),
        )


def elapsed_ms(start: float) -> float:
    """Milliseconds since `start` (a time.time() value), rounded as the seed prints them."""
    return round((time.time() - start) * 1000, 2)


def add_common_routes(app: Flask, service: str, identity: Identity, db: WorkerConnection) -> None:
    """GET /, GET /health (shallow, for the ALB) and GET /health/deep (SELECT 1, for humans).

    The shallow check has no dependencies on purpose: a DB blip must not make the ALB pull
    healthy instances out of rotation.
    """

    @app.get("/")
    def index():
        return jsonify(
            {
                "service": service,
                "instance_id": identity.instance_id,
                "availability_zone": identity.availability_zone,
                "private_ip": identity.private_ip,
                "status": "running",
            }
        )

    @app.get("/health")
    def health():
        return jsonify({"status": "healthy"}), 200

    @app.get("/health/deep")
    def health_deep():
        try:
            start = time.time()
            cursor = db.get().cursor()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            latency_ms = elapsed_ms(start)
            cursor.close()
            return jsonify({"status": "healthy", "database": "connected", "latency_ms": latency_ms})
        except Exception as exc:
            return jsonify({"status": "unhealthy", "database": "error", "error": str(exc)}), 500

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # Clients (and the integrity checker) parse every answer as JSON, even a 404 or 405.
        return jsonify({"error": (exc.name or "error").lower()}), exc.code or 500

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # The handler's connection may be mid-transaction or dead; start clean next time.
        db.discard()
        return jsonify({"error": str(exc)}), 500
