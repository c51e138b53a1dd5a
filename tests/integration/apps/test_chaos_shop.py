"""Seed 003's walk-through, replayed through a real gunicorn Chaos Shop on a real PostgreSQL."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from app_helpers import start_app

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/chaos-shop:v1"


def shop_env(pg, instance: str = "i-0ef097d855de7f9a9", az: str = "us-east-1a") -> dict[str, str]:
    return {**pg.env(pg.create_database()), "INSTANCE_ID": instance, "AZ": az, "PRIVATE_IP": "10.0.10.5"}


def test_walkthrough(pg, apps, tmp_path: Path) -> None:
    shop = start_app(apps, IMAGE, shop_env(pg), tmp_path / "a")

    assert shop.get("/").json() == {
        "service": "chaos-shop",
        "instance_id": "i-0ef097d855de7f9a9",
        "availability_zone": "us-east-1a",
        "private_ip": "10.0.10.5",
        "status": "running",
    }
    assert shop.get("/health").json() == {"status": "healthy"}
    deep = shop.get("/health/deep")
    assert deep.status == 200 and deep.json()["database"] == "connected"
    assert deep.json()["latency_ms"] >= 0

    listing = shop.get("/products").json()
    assert listing["count"] == 10 and listing["served_by"] == "i-0ef097d855de7f9a9"
    assert listing["products"][0] == {"id": 1, "name": "Wireless Keyboard", "price": 49.99, "stock": 100}
    assert listing["products"][9] == {"id": 10, "name": "USB Microphone", "price": 69.99, "stock": 70}
    assert set(listing) == {"products", "count", "db_latency_ms", "served_by"}
    assert shop.get("/products/3").json() == {"id": 3, "name": "Mechanical Keyboard", "price": 129.99, "stock": 50}

    placed = shop.post("/orders", {"product_id": 3, "quantity": 2})
    assert placed.status == 201
    order = placed.json()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?", order.pop("created_at"))
    assert order == {
        "order_id": 1,
        "product_id": 3,
        "product_name": "Mechanical Keyboard",
        "quantity": 2,
        "total": 259.98,
        "status": "confirmed",
        "served_by": "i-0ef097d855de7f9a9",
    }
    assert shop.get("/products/3").json()["stock"] == 48
    fetched = shop.get("/orders/1").json()
    assert fetched == {
        "order_id": 1,
        "product_id": 3,
        "product_name": "Mechanical Keyboard",
        "quantity": 2,
        "total": 259.98,
        "status": "confirmed",
        "created_at": placed.json()["created_at"],
    }

    refused = shop.post("/orders", {"product_id": 3, "quantity": 999})
    assert refused.status == 409
    assert refused.json() == {"error": "insufficient stock", "available": 48, "requested": 999}

    second = shop.post("/orders", {"product_id": 1, "quantity": 1})
    third = shop.post("/orders", {"product_id": 5, "quantity": 3})
    assert (second.status, second.json()["order_id"], second.json()["total"]) == (201, 2, 49.99)
    assert second.json()["product_name"] == "Wireless Keyboard"
    assert (third.status, third.json()["order_id"], third.json()["total"]) == (201, 3, 239.97)
    assert third.json()["product_name"] == "Webcam HD"
    stock = {p["id"]: p["stock"] for p in shop.get("/products").json()["products"]}
    assert (stock[3], stock[1], stock[5]) == (48, 99, 77)

    listed = shop.get("/orders").json()
    assert listed["count"] == 3
    assert [
        (o["order_id"], o["product_id"], o["quantity"], o["total"], o["idempotency_key"]) for o in listed["orders"]
    ] == [(1, 3, 2, 259.98, None), (2, 1, 1, 49.99, None), (3, 5, 3, 239.97, None)]


def test_client_errors_are_json(pg, apps, tmp_path: Path) -> None:
    shop = start_app(apps, "chaos-shop", shop_env(pg), tmp_path / "a", workers=1)
    cases = [
        ({"product_id": 3}, 400, "product_id and quantity are required"),
        ({"quantity": 1}, 400, "product_id and quantity are required"),
        ({"product_id": "three", "quantity": 1}, 400, "product_id must be an integer"),
        ({"product_id": 3, "quantity": 0}, 400, "quantity must be positive"),
        ({"product_id": 3, "quantity": -2}, 400, "quantity must be positive"),
        ({"product_id": 99, "quantity": 1}, 404, "product not found"),
    ]
    for body, status, error in cases:
        resp = shop.post("/orders", body)
        assert (resp.status, resp.json()) == (status, {"error": error}), body
    assert shop.post("/orders", "not an object").status == 400
    assert shop.get("/products/99").status == 404
    assert shop.get("/products/99999999999").status == 404  # beyond INTEGER: not a DB error
    assert shop.get("/products/99").json() == {"error": "product not found"}
    assert (shop.get("/orders/42").status, shop.get("/orders/42").json()) == (404, {"error": "order not found"})
    assert shop.get("/nope").status == 404 and "error" in shop.get("/nope").json()
    assert shop.get("/orders").json()["count"] == 0  # nothing above changed state
    assert shop.get("/products/3").json()["stock"] == 50


def test_two_instances_initialise_one_empty_database(pg, apps, tmp_path: Path) -> None:
    env = pg.env(pg.create_database())
    a = start_app(apps, "chaoslab/chaos-shop", {**env, "INSTANCE_ID": "i-a"}, tmp_path / "a", wait=False)
    b = start_app(apps, "chaoslab/chaos-shop:latest", {**env, "INSTANCE_ID": "i-b"}, tmp_path / "b", wait=False)
    a.wait_healthy()
    b.wait_healthy()
    for unit in (a, b):
        products = unit.get("/products").json()["products"]
        assert [p["id"] for p in products] == list(range(1, 11))
    # The sequence was moved past the seeded ids: a new product gets id 11, not a clash.
    conn = pg.server.connect(env["DB_NAME"])
    try:
        assert conn.run("INSERT INTO products (name, price, stock) VALUES ('X', 1, 1) RETURNING id") == [[11]]
    finally:
        conn.close()


def test_idempotency_key_sequential_and_concurrent(pg, apps, tmp_path: Path) -> None:
    shop = start_app(apps, "chaos-shop", shop_env(pg), tmp_path / "a", workers=3)
    first = shop.post("/orders", {"product_id": 2, "quantity": 3}, headers={"Idempotency-Key": "k-1"})
    retry = shop.post("/orders", {"product_id": 2, "quantity": 3}, headers={"Idempotency-Key": "k-1"})
    assert first.status == 201 and retry.status == 200
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert retry.json()["order_id"] == first.json()["order_id"]
    assert retry.json() == first.json()
    misuse = shop.post("/orders", {"product_id": 2, "quantity": 4}, headers={"Idempotency-Key": "k-1"})
    assert misuse.status == 422

    results = []
    barrier = threading.Barrier(6)

    def racer() -> None:
        barrier.wait()
        results.append(shop.post("/orders", {"product_id": 4, "quantity": 1}, headers={"Idempotency-Key": "race"}))

    threads = [threading.Thread(target=racer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status for r in results)
    assert statuses == [200] * 5 + [201]
    assert len({r.json()["order_id"] for r in results}) == 1

    orders = shop.get("/orders").json()["orders"]
    assert [(o["product_id"], o["quantity"], o["idempotency_key"]) for o in orders] == [(2, 3, "k-1"), (4, 1, "race")]
    stock = {p["id"]: p["stock"] for p in shop.get("/products").json()["products"]}
    assert (stock[2], stock[4]) == (147, 29)


def test_waits_for_database_then_reconnects_after_restart(private_pg, apps, tmp_path: Path) -> None:
    env = {**private_pg.env("postgres"), "DB_INIT_TIMEOUT": "60"}
    shop = start_app(apps, "chaos-shop", env, tmp_path / "a", wait=False)
    # The database is still down: the unit keeps retrying init instead of dying.
    time.sleep(1.5)
    assert shop.proc.poll() is None
    private_pg.start()
    shop.wait_healthy()
    assert shop.get("/products").status == 200
    assert shop.post("/orders", {"product_id": 1, "quantity": 1}).status == 201

    for _ in range(6):
        assert shop.get("/products").status == 200  # workers now hold open connections
    # Restart with no request in between: every worker's connection is stale, and SELECT 1
    # must notice that before the request uses it.
    private_pg.stop("fast")
    private_pg.start()
    for _ in range(6):
        resp = shop.get("/products")
        assert resp.status == 200, resp.body

    private_pg.stop("fast")
    down = shop.get("/health/deep")
    assert down.status == 500 and down.json()["status"] == "unhealthy" and down.json()["error"]
    assert shop.get("/products").status == 500
    assert shop.get("/health").status == 200  # shallow check: the ALB keeps the instance
    private_pg.start()
    # Every worker's stale connection fails SELECT 1 and is replaced: all requests succeed.
    for _ in range(6):
        resp = shop.get("/products")
        assert resp.status == 200, resp.body
    assert shop.get("/orders/1").json()["product_name"] == "Wireless Keyboard"
