"""SHELTER_PETS: enough fixed-fee pets for a sustained payment workload (examples/seed000)."""

from __future__ import annotations

from pathlib import Path

from app_helpers import start_app


def test_shelter_pets_take_payments_at_the_fixed_fee(pg, apps, tmp_path: Path) -> None:
    env = {**pg.env(pg.create_database()), "INSTANCE_ID": "task-1", "SHELTER_PETS": "500"}
    api = start_app(apps, "chaoslab/pet-payment", env, tmp_path / "task")
    pets = api.get("/pets").json()
    assert pets["count"] == 510
    assert pets["pets"][10] == {
        "id": 11,
        "name": "Shelter pet 11",
        "species": "dog",
        "adoption_fee": 50.0,
        "status": "available",
    }
    for pet_id in (11, 260, 510):
        paid = api.post("/payments", {"pet_id": pet_id, "amount": 50, "currency": "USD", "payment_method": "tok_visa"})
        assert paid.status == 201, paid.body
    assert (
        api.post("/payments", {"pet_id": 511, "amount": 50, "currency": "USD", "payment_method": "tok_visa"}).status
        == 404
    )
    assert (
        api.post("/payments", {"pet_id": 260, "amount": 50, "currency": "USD", "payment_method": "tok_visa"}).status
        == 409
    )
