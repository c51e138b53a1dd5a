"""Chaos Shop tables and the ten seed products.

Products are inserted with explicit ids (ON CONFLICT DO NOTHING) and the sequence is set past
them, so any number of instances can seed the same database and the ids stay 1..10 everywhere.
"""

from __future__ import annotations

import pg8000

PRODUCTS: list[tuple[int, str, str, int]] = [
    (1, "Wireless Keyboard", "49.99", 100),
    (2, "USB-C Hub", "34.99", 150),
    (3, "Mechanical Keyboard", "129.99", 50),
    (4, "27-inch Monitor", "349.99", 30),
    (5, "Webcam HD", "79.99", 80),
    (6, "Laptop Stand", "44.99", 120),
    (7, "Noise-Canceling Headphones", "199.99", 40),
    (8, "Portable SSD 1TB", "89.99", 90),
    (9, "Ergonomic Mouse", "59.99", 110),
    (10, "USB Microphone", "69.99", 70),
]

TABLES = [
    """CREATE TABLE IF NOT EXISTS products (
        id SERIAL PRIMARY KEY,
        name VARCHAR(100) NOT NULL UNIQUE,
        price DECIMAL(10,2) NOT NULL,
        stock INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS orders (
        id SERIAL PRIMARY KEY,
        product_id INTEGER REFERENCES products(id),
        quantity INTEGER NOT NULL,
        total DECIMAL(10,2) NOT NULL,
        status VARCHAR(20) DEFAULT 'pending',
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
    )""",
    # Lab addition (the seed's proposed fix): retries carrying the same key find their order.
    "ALTER TABLE orders ADD COLUMN IF NOT EXISTS idempotency_key VARCHAR(255) UNIQUE",
]


def create_schema(conn: pg8000.Connection) -> None:
    """Create tables and seed products; idempotent, runs inside the caller's transaction.

    No DDL runs once the schema is there: even a no-op ALTER TABLE … IF NOT EXISTS takes an ACCESS
    EXCLUSIVE lock on `orders` until the boot transaction ends, so an instance booting under live
    traffic deadlocked with orders in flight, and one cut off mid-boot (its subnet losing the
    network) held the lock and stalled every order in the cluster until its connection died.
    """
    cursor = conn.cursor()
    if not _schema_present(cursor):
        for ddl in TABLES:
            cursor.execute(ddl)
    for pid, name, price, stock in PRODUCTS:
        cursor.execute(
            "INSERT INTO products (id, name, price, stock) VALUES (%s, %s, CAST(%s AS NUMERIC), %s) "
            "ON CONFLICT (id) DO NOTHING",
            (pid, name, price, stock),
        )
    cursor.execute("SELECT setval('products_id_seq', GREATEST((SELECT MAX(id) FROM products), 10))")
    cursor.close()


def _schema_present(cursor: pg8000.Cursor) -> bool:
    """Whether the last DDL step already ran (it comes after both tables); reads only the catalog."""
    cursor.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'orders' AND column_name = 'idempotency_key'"
    )
    return cursor.fetchone()[0] == 1
