"""Pet payment tables (pets -> adoptions -> payments) and the seeded pets.

Seeded like Chaos Shop: explicit ids, ON CONFLICT DO NOTHING, sequence set past them, so
several tasks can initialise one database at once and agree on pet ids.
"""

from __future__ import annotations

import pg8000

PETS: list[tuple[int, str, str, str]] = [
    (1, "Biscuit", "dog", "150.00"),
    (2, "Luna", "cat", "95.00"),
    (3, "Pepper", "dog", "175.00"),
    (4, "Mochi", "rabbit", "60.00"),
    (5, "Shadow", "cat", "85.00"),
    (6, "Rocky", "dog", "200.00"),
    (7, "Kiwi", "parrot", "250.00"),
    (8, "Hazel", "guinea pig", "40.00"),
    (9, "Ziggy", "cat", "110.00"),
    (10, "Nugget", "hamster", "25.00"),
]

TABLES = [
    """CREATE TABLE IF NOT EXISTS pets (
        id SERIAL PRIMARY KEY,
        name VARCHAR(100) NOT NULL UNIQUE,
        species VARCHAR(30) NOT NULL,
        adoption_fee DECIMAL(10,2) NOT NULL,
        status VARCHAR(20) NOT NULL DEFAULT 'available'
    )""",
    """CREATE TABLE IF NOT EXISTS adoptions (
        id SERIAL PRIMARY KEY,
        pet_id INTEGER NOT NULL REFERENCES pets(id),
        adopter VARCHAR(100) NOT NULL,
        status VARCHAR(20) NOT NULL DEFAULT 'pending',
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
    )""",
    """CREATE TABLE IF NOT EXISTS payments (
        id SERIAL PRIMARY KEY,
        adoption_id INTEGER NOT NULL UNIQUE REFERENCES adoptions(id),
        amount DECIMAL(10,2) NOT NULL,
        currency CHAR(3) NOT NULL,
        payment_method VARCHAR(64) NOT NULL,
        status VARCHAR(20) NOT NULL,
        idempotency_key VARCHAR(255) UNIQUE,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
    )""",
]


SHELTER_FEE = "50.00"  # every generated shelter pet costs this, so a workload can pay for any of them


def create_schema(conn: pg8000.Connection, shelter_pets: int = 0) -> None:
    """Create tables and seed pets; idempotent, runs inside the caller's transaction.

    `shelter_pets` adds pets 11..10+n ("Shelter pet <id>", fee SHELTER_FEE) so a sustained
    payment load (POST /payments with a random pet_id among them) has pets left to pay for.
    """
    cursor = conn.cursor()
    for ddl in TABLES:
        cursor.execute(ddl)
    for pid, name, species, fee in PETS:
        cursor.execute(
            "INSERT INTO pets (id, name, species, adoption_fee) "
            "VALUES (%s, %s, %s, CAST(%s AS NUMERIC)) ON CONFLICT (id) DO NOTHING",
            (pid, name, species, fee),
        )
    if shelter_pets > 0:
        cursor.execute(
            "INSERT INTO pets (id, name, species, adoption_fee) "
            "SELECT n, 'Shelter pet ' || n, 'dog', CAST(%s AS NUMERIC) FROM generate_series(11, %s) AS n "
            "ON CONFLICT (id) DO NOTHING",
            (SHELTER_FEE, 10 + shelter_pets),
        )
    cursor.execute("SELECT setval('pets_id_seq', GREATEST((SELECT MAX(id) FROM pets), 10))")
    cursor.close()
