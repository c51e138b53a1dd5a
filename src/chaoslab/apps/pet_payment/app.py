"""Pet payment HTTP API (seed 000): pets, adoptions and idempotent payments with an fsync'd audit.

Served as `gunicorn 'chaoslab.apps.pet_payment.app:create_app()'`, configured by the same env
variables as Chaos Shop plus AUDIT_LOG (default `payments-audit.log` in the working directory)
and SHELTER_PETS (extra pets at a fixed fee, for sustained payment workloads; default 0).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping

from flask import Flask, jsonify, request

from chaoslab.apps import validate
from chaoslab.apps.db import DbSettings, WorkerConnection, in_transaction, run_init
from chaoslab.apps.pet_payment.audit import AuditLog
from chaoslab.apps.pet_payment.payments import (
    PAYMENT_COLUMNS,
    PAYMENT_FROM,
    parse_payment,
    payment_json,
    reserve_pet,
    take_payment,
)
from chaoslab.apps.pet_payment.schema import create_schema
from chaoslab.apps.web import Identity, add_common_routes, elapsed_ms


def create_app(env: Mapping[str, str] = os.environ) -> Flask:
    """Initialise the database (waiting for it if needed) and build the app."""
    settings = DbSettings.from_env(env)
    run_init(settings, functools.partial(create_schema, shelter_pets=int(env.get("SHELTER_PETS", "0"))))
    identity = Identity.from_env(env)
    audit = AuditLog(os.path.abspath(env.get("AUDIT_LOG", "payments-audit.log")))
    db = WorkerConnection(settings)
    app = Flask(__name__)
    add_common_routes(app, "pet-payment", identity, db)
    served_by = identity.instance_id

    @app.get("/pets")
    def list_pets():
        start = time.time()
        cursor = db.get().cursor()
        cursor.execute("SELECT id, name, species, adoption_fee, status FROM pets ORDER BY id")
        rows = cursor.fetchall()
        latency_ms = elapsed_ms(start)
        cursor.close()
        pets = [{"id": r[0], "name": r[1], "species": r[2], "adoption_fee": float(r[3]), "status": r[4]} for r in rows]
        return jsonify({"pets": pets, "count": len(pets), "db_latency_ms": latency_ms, "served_by": served_by})

    @app.post("/adoptions")
    def create_adoption():
        data = request.get_json(force=True, silent=True)
        try:
            if not isinstance(data, dict) or "pet_id" not in data:
                raise validate.Invalid("pet_id is required")
            pet_id = validate.as_int(data["pet_id"], "pet_id")
            adopter = data.get("adopter", "anonymous")
            if not isinstance(adopter, str) or not 0 < len(adopter) <= 100:
                raise validate.Invalid("adopter must be a name of 1 to 100 characters")
        except validate.Invalid as exc:
            return jsonify({"error": str(exc)}), 400
        body, status = in_transaction(db, lambda cur: reserve_pet(cur, pet_id, adopter))
        return jsonify(body), status

    @app.post("/payments")
    def create_payment():
        try:
            req = parse_payment(request.get_json(force=True, silent=True), request.headers.get("Idempotency-Key"))
        except validate.Invalid as exc:
            return jsonify({"error": str(exc)}), 400
        start = time.time()
        body, status = in_transaction(db, lambda cur: take_payment(cur, req))
        if status == 201:
            # After commit: the audit line records a payment that exists; a failed write
            # answers 500 and the client's retry (same key) replays the stored payment.
            audit.append({**body, "served_by": served_by})
        if status in (200, 201):
            body["served_by"] = served_by
            body["latency_ms"] = elapsed_ms(start)
        headers = {"Idempotent-Replayed": "true"} if status == 200 else {}
        return jsonify(body), status, headers

    @app.get("/payments/<int(max=2147483647):payment_id>")
    def get_payment(payment_id: int):
        cursor = db.get().cursor()
        cursor.execute(f"SELECT {PAYMENT_COLUMNS} {PAYMENT_FROM} WHERE pm.id = %s", (payment_id,))
        row = cursor.fetchone()
        cursor.close()
        if row is None:
            return jsonify({"error": "payment not found"}), 404
        return jsonify(payment_json(row))

    @app.get("/payments")
    def list_payments():
        cursor = db.get().cursor()
        cursor.execute(f"SELECT {PAYMENT_COLUMNS} {PAYMENT_FROM} ORDER BY pm.id")
        payments = [payment_json(row) for row in cursor.fetchall()]
        cursor.close()
        return jsonify({"payments": payments, "count": len(payments), "served_by": served_by})

    return app
