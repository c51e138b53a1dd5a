"""Schema init racing itself on one empty database, from many connections at the same instant."""

from __future__ import annotations

import threading

import pytest

from chaoslab.apps.chaos_shop.schema import create_schema as shop_schema
from chaoslab.apps.db import DbSettings, connect, run_init
from chaoslab.apps.pet_payment.schema import create_schema as pet_schema


@pytest.mark.parametrize("create", [shop_schema, pet_schema], ids=["chaos-shop", "pet-payment"])
def test_concurrent_init_all_succeed(pg, create) -> None:
    database = pg.create_database()
    # No retry budget: every initialiser must succeed on its first attempt.
    settings = DbSettings.from_env({**pg.env(database), "DB_INIT_TIMEOUT": "0"})
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def init() -> None:
        barrier.wait()
        try:
            run_init(settings, create)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=init) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    conn = pg.server.connect(database)
    try:
        table = "products" if create is shop_schema else "pets"
        assert conn.run(f"SELECT count(*), min(id), max(id) FROM {table}") == [[10, 1, 10]]
    finally:
        conn.close()


def test_a_boot_left_open_does_not_lock_out_orders(pg) -> None:
    """An instance cut off mid-boot keeps its init transaction open; orders must not wait for it."""
    database = pg.create_database()
    settings = DbSettings.from_env({**pg.env(database), "DB_INIT_TIMEOUT": "0"})
    run_init(settings, shop_schema)
    booting, live = connect(settings), pg.server.connect(database)
    try:
        booting.autocommit = False
        shop_schema(booting)  # and then the instance's network goes away: no COMMIT
        live.run("SET lock_timeout = '1s'")
        live.run("INSERT INTO orders (product_id, quantity, total) VALUES (1, 1, 49.99)")
        assert live.run("SELECT count(*) FROM orders") == [[1]]
    finally:
        booting.close()
        live.close()
