"""Seed 000's pet payment API on real PostgreSQL + gunicorn, incl. idempotency and the audit trail."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from app_helpers import start_app

CARD = "tok_visa"


def test_payment_flows_and_audit(pg, apps, tmp_path: Path) -> None:
    env = {**pg.env(pg.create_database()), "INSTANCE_ID": "task-1"}
    api = start_app(apps, "chaoslab/pet-payment", env, tmp_path / "task")
    assert api.get("/").json()["service"] == "pet-payment"
    assert api.get("/health/deep").json()["database"] == "connected"
    pets = api.get("/pets").json()
    assert pets["count"] == 10 and pets["served_by"] == "task-1"
    assert pets["pets"][0] == {
        "id": 1,
        "name": "Biscuit",
        "species": "dog",
        "adoption_fee": 150.0,
        "status": "available",
    }

    wrong = api.post("/payments", {"pet_id": 1, "amount": 10, "currency": "USD", "payment_method": CARD})
    assert wrong.status == 400 and wrong.json()["expected"] == 150.0
    paid = api.post(
        "/payments",
        {"pet_id": 1, "amount": "150.00", "currency": "usd", "payment_method": CARD, "client_reference": "ref-1"},
    )
    assert paid.status == 201, paid.body
    body = paid.json()
    assert (body["payment_id"], body["pet_id"], body["amount"], body["currency"], body["status"]) == (
        1,
        1,
        150.0,
        "USD",
        "captured",
    )
    replay = api.post(
        "/payments",
        {"pet_id": 1, "amount": 150, "currency": "USD", "payment_method": CARD, "client_reference": "ref-1"},
    )
    assert replay.status == 200 and replay.json()["payment_id"] == 1
    again = api.post("/payments", {"pet_id": 1, "amount": 150, "currency": "USD", "payment_method": CARD})
    assert again.status == 409 and again.json()["pet_status"] == "adopted"

    adoption = api.post("/adoptions", {"pet_id": 2, "adopter": "Sam"})
    assert adoption.status == 201 and adoption.json()["amount_due"] == 95.0
    assert api.post("/adoptions", {"pet_id": 2}).status == 409
    aid = adoption.json()["adoption_id"]
    by_adoption = api.post(
        "/payments",
        {"adoption_id": aid, "amount": 95, "currency": "EUR", "payment_method": CARD},
        headers={"Idempotency-Key": "pay-2"},
    )
    assert by_adoption.status == 201 and by_adoption.json()["adoption_id"] == aid
    assert (
        api.post("/payments", {"adoption_id": aid, "amount": 95, "currency": "EUR", "payment_method": CARD}).status
        == 409
    )
    assert api.get("/payments/2").json()["pet_name"] == "Luna"
    assert api.get("/payments/99").status == 404

    for bad in (
        {"amount": 1, "currency": "USD", "payment_method": CARD},
        {"pet_id": 3, "adoption_id": 1, "amount": 1, "currency": "USD", "payment_method": CARD},
        {"pet_id": 3, "amount": -5, "currency": "USD", "payment_method": CARD},
        {"pet_id": 3, "amount": 175, "currency": "XYZ", "payment_method": CARD},
        {"pet_id": 3, "amount": 175, "currency": "USD", "payment_method": "4111111111111111"},
    ):
        assert api.post("/payments", bad).status == 400, bad
    assert api.post("/payments", {"pet_id": 77, "amount": 1, "currency": "USD", "payment_method": CARD}).status == 404
    assert (
        api.post("/payments", {"adoption_id": 77, "amount": 1, "currency": "USD", "payment_method": CARD}).status == 404
    )

    listed = api.get("/payments").json()
    assert [p["payment_id"] for p in listed["payments"]] == [1, 2]
    assert [p["client_reference"] for p in listed["payments"]] == ["ref-1", "pay-2"]
    # One durable audit line per processed payment, none for replays or refusals.
    lines = (tmp_path / "task" / "payments-audit.log").read_text().splitlines()
    assert [json.loads(line)["payment_id"] for line in lines] == [1, 2]
    assert json.loads(lines[0])["served_by"] == "task-1"


def test_concurrent_retries_make_one_payment(pg, apps, tmp_path: Path) -> None:
    env = pg.env(pg.create_database())
    a = start_app(apps, "pet-payment", env, tmp_path / "a", workers=2)
    b = start_app(apps, "pet-payment", env, tmp_path / "b", workers=2)
    results = []
    barrier = threading.Barrier(8)

    def racer(i: int) -> None:
        barrier.wait()
        unit = a if i % 2 else b
        results.append(
            unit.post(
                "/payments",
                {"pet_id": 7, "amount": 250, "currency": "USD", "payment_method": CARD},
                headers={"Idempotency-Key": "same-click"},
            )
        )

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in results) == [200] * 7 + [201]
    assert {r.json()["payment_id"] for r in results} == {1}
    assert a.get("/payments").json()["count"] == 1
    audit = [*(tmp_path / "a").glob("payments-audit.log"), *(tmp_path / "b").glob("payments-audit.log")]
    assert sum(len(p.read_text().splitlines()) for p in audit) == 1
