"""Chaos Shop HTTP API: products, orders with transactional stock, and idempotent retries.

Served as `gunicorn 'chaoslab.apps.chaos_shop.app:create_app()'`. Behaviour and JSON shapes follow
seed 003's walk-through; lab additions are GET /orders and the Idempotency-Key header.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from decimal import Decimal

from flask import Flask, jsonify, request

from chaoslab.apps import validate
from chaoslab.apps.chaos_shop.schema import create_schema
from chaoslab.apps.db import DbSettings, WorkerConnection, in_transaction, run_init
from chaoslab.apps.web import Identity, add_common_routes, elapsed_ms

KEY_LOCK_CLASS = 1  # advisory-lock namespace for order idempotency keys

ORDER_COLUMNS = "o.id, o.product_id, p.name, o.quantity, o.total, o.status, o.created_at, o.idempotency_key"


def order_json(row: tuple) -> dict:
    """The seed's GET /orders/<id> shape from an ORDER_COLUMNS row."""
    return {
        "order_id": row[0],
        "product_id": row[1],
        "product_name": row[2],
        "quantity": row[3],
        "total": float(row[4]),
        "status": row[5],
        "created_at": str(row[6]),
    }


def create_app(env: Mapping[str, str] = os.environ) -> Flask:
    """Initialise the database (waiting for it if needed) and build the app."""
    settings = DbSettings.from_env(env)
    run_init(settings, create_schema)
    identity = Identity.from_env(env)
    db = WorkerConnection(settings)
    app = Flask(__name__)
    add_common_routes(app, "chaos-shop", identity, db)
    served_by = identity.instance_id

    @app.get("/products")
    def list_products():
        start = time.time()
        cursor = db.get().cursor()
        cursor.execute("SELECT id, name, price, stock FROM products ORDER BY id")
        rows = cursor.fetchall()
        latency_ms = elapsed_ms(start)
        cursor.close()
        products = [{"id": r[0], "name": r[1], "price": float(r[2]), "stock": r[3]} for r in rows]
        return jsonify(
            {
                "products": products,
                "count": len(products),
                "db_latency_ms": latency_ms,
                "served_by": served_by,
            }
        )

    @app.get("/products/<int(max=2147483647):product_id>")
    def get_product(product_id: int):
        cursor = db.get().cursor()
        cursor.execute("SELECT id, name, price, stock FROM products WHERE id = %s", (product_id,))
        row = cursor.fetchone()
        cursor.close()
        if row is None:
            return jsonify({"error": "product not found"}), 404
        return jsonify({"id": row[0], "name": row[1], "price": float(row[2]), "stock": row[3]})

    @app.post("/orders")
    def create_order():
        try:
            product_id, quantity = validate.order_request(request.get_json(force=True, silent=True))
            key = validate.idempotency_key(request.headers.get("Idempotency-Key"))
        except validate.Invalid as exc:
            return jsonify({"error": str(exc)}), 400
        body, status = in_transaction(db, lambda cur: _place_order(cur, product_id, quantity, key))
        if status in (200, 201):
            body["served_by"] = served_by
        headers = {"Idempotent-Replayed": "true"} if status == 200 else {}
        return jsonify(body), status, headers

    @app.get("/orders/<int(max=2147483647):order_id>")
    def get_order(order_id: int):
        cursor = db.get().cursor()
        cursor.execute(
            f"SELECT {ORDER_COLUMNS} FROM orders o JOIN products p ON p.id = o.product_id WHERE o.id = %s",
            (order_id,),
        )
        row = cursor.fetchone()
        cursor.close()
        if row is None:
            return jsonify({"error": "order not found"}), 404
        return jsonify(order_json(row))

    @app.get("/orders")
    def list_orders():
        # Lab addition: the integrity checker compares every acknowledged order with this list.
        cursor = db.get().cursor()
        cursor.execute(
            "SELECT id, product_id, quantity, total, status, created_at, idempotency_key FROM orders ORDER BY id"
        )
        rows = cursor.fetchall()
        cursor.close()
        orders = [
            {
                "order_id": r[0],
                "product_id": r[1],
                "quantity": r[2],
                "total": float(r[3]),
                "status": r[4],
                "created_at": str(r[5]),
                "idempotency_key": r[6],
            }
            for r in rows
        ]
        return jsonify({"orders": orders, "count": len(orders), "served_by": served_by})

    return app


def _place_order(cursor, product_id: int, quantity: int, key: str | None) -> tuple[dict, int]:
    """One order inside the caller's transaction: lock, check, decrement, insert.

    With a key, same-key requests are serialised on an advisory lock first, so of two racing
    retries exactly one inserts and the other finds its order (status 200, a replay).
    """
    if key is not None:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (KEY_LOCK_CLASS, key))
        cursor.execute(
            f"SELECT {ORDER_COLUMNS} FROM orders o JOIN products p ON p.id = o.product_id WHERE o.idempotency_key = %s",
            (key,),
        )
        existing = cursor.fetchone()
        if existing is not None:
            if existing[1] != product_id or existing[3] != quantity:
                return {"error": "Idempotency-Key was already used for a different order"}, 422
            return order_json(existing), 200
    cursor.execute("SELECT id, name, price, stock FROM products WHERE id = %s FOR UPDATE", (product_id,))
    row = cursor.fetchone()
    if row is None:
        return {"error": "product not found"}, 404
    product_name, price, stock = row[1], Decimal(row[2]), row[3]
    if stock < quantity:
        return {"error": "insufficient stock", "available": stock, "requested": quantity}, 409
    total = (price * quantity).quantize(Decimal("0.01"))
    cursor.execute("UPDATE products SET stock = stock - %s WHERE id = %s", (quantity, product_id))
    cursor.execute(
        "INSERT INTO orders (product_id, quantity, total, status, idempotency_key) "
        "VALUES (%s, %s, %s, 'confirmed', %s) RETURNING id, created_at",
        (product_id, quantity, total, key),
    )
    order_id, created_at = cursor.fetchone()
    return {
        "order_id": order_id,
        "product_id": product_id,
        "product_name": product_name,
        "quantity": quantity,
        "total": float(total),
        "status": "confirmed",
        "created_at": str(created_at),
    }, 201
