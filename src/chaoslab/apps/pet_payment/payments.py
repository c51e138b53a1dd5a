"""Taking a payment for a pet adoption: request parsing and the one transaction that records it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chaoslab.apps import validate

CURRENCIES = frozenset({"USD", "EUR", "GBP"})
TOKEN = re.compile(r"^tok_[A-Za-z0-9_]{1,60}$")
KEY_LOCK_CLASS = 2  # advisory-lock namespace for payment idempotency keys

PAYMENT_COLUMNS = (
    "pm.id, pm.adoption_id, a.pet_id, p.name, pm.amount, pm.currency, pm.status, pm.idempotency_key, pm.created_at"
)
PAYMENT_FROM = "FROM payments pm JOIN adoptions a ON a.id = pm.adoption_id JOIN pets p ON p.id = a.pet_id"


@dataclass(frozen=True)
class PaymentRequest:
    """A validated POST /payments body; exactly one of pet_id / adoption_id is set."""

    pet_id: int | None
    adoption_id: int | None
    amount: Decimal
    currency: str
    payment_method: str
    key: str | None


def parse_payment(data: Any, header_key: str | None) -> PaymentRequest:
    """Validate a payment body; the Idempotency-Key header wins over `client_reference`."""
    if not isinstance(data, dict):
        raise validate.Invalid("a JSON object body is required")
    has_pet, has_adoption = data.get("pet_id") is not None, data.get("adoption_id") is not None
    if has_pet == has_adoption:
        raise validate.Invalid("exactly one of adoption_id or pet_id is required")
    if "amount" not in data:
        raise validate.Invalid("amount is required")
    amount = validate.as_amount(data["amount"])
    currency = data.get("currency")
    if not isinstance(currency, str) or currency.upper() not in CURRENCIES:
        raise validate.Invalid(f"currency must be one of {', '.join(sorted(CURRENCIES))}")
    method = data.get("payment_method")
    if not isinstance(method, str) or not TOKEN.match(method):
        raise validate.Invalid("payment_method must be a card token like tok_visa")
    reference = data.get("client_reference")
    if reference is not None and not isinstance(reference, str):
        raise validate.Invalid("client_reference must be a string")
    key = validate.idempotency_key(header_key) or validate.idempotency_key(reference)
    return PaymentRequest(
        pet_id=validate.as_int(data["pet_id"], "pet_id") if has_pet else None,
        adoption_id=validate.as_int(data["adoption_id"], "adoption_id") if has_adoption else None,
        amount=amount,
        currency=currency.upper(),
        payment_method=method,
        key=key,
    )


def payment_json(row: tuple) -> dict:
    """GET /payments/<id> shape from a PAYMENT_COLUMNS row."""
    return {
        "payment_id": row[0],
        "adoption_id": row[1],
        "pet_id": row[2],
        "pet_name": row[3],
        "amount": float(row[4]),
        "currency": row[5],
        "status": row[6],
        "client_reference": row[7],
        "created_at": str(row[8]),
    }


def take_payment(cursor, req: PaymentRequest) -> tuple[dict, int]:
    """Record one payment inside the caller's transaction; returns (body, HTTP status).

    201 new payment, 200 replay of the payment stored under the same key, 400 wrong amount,
    404 unknown pet/adoption, 409 pet not available or adoption already paid, 422 key reused
    for a different payment. Same-key requests are serialised on an advisory lock, so racing
    retries make one payment.
    """
    if req.key is not None:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (KEY_LOCK_CLASS, req.key))
        cursor.execute(f"SELECT {PAYMENT_COLUMNS} {PAYMENT_FROM} WHERE pm.idempotency_key = %s", (req.key,))
        existing = cursor.fetchone()
        if existing is not None:
            same = (
                Decimal(existing[4]) == req.amount
                and req.adoption_id in (None, existing[1])
                and req.pet_id in (None, existing[2])
            )
            if not same:
                return {"error": "idempotency key was already used for a different payment"}, 422
            return payment_json(existing), 200
    if req.adoption_id is not None:
        cursor.execute(
            "SELECT a.id, a.status, p.id, p.name, p.adoption_fee FROM adoptions a "
            "JOIN pets p ON p.id = a.pet_id WHERE a.id = %s FOR UPDATE",
            (req.adoption_id,),
        )
        row = cursor.fetchone()
        if row is None:
            return {"error": "adoption not found"}, 404
        adoption_id, adoption_status, pet_id, pet_name, fee = row
        if adoption_status != "pending":
            return {"error": "adoption already paid", "adoption_id": adoption_id}, 409
    else:
        cursor.execute("SELECT id, name, adoption_fee, status FROM pets WHERE id = %s FOR UPDATE", (req.pet_id,))
        row = cursor.fetchone()
        if row is None:
            return {"error": "pet not found"}, 404
        pet_id, pet_name, fee, pet_status = row
        if pet_status != "available":
            return {"error": "pet not available", "pet_id": pet_id, "pet_status": pet_status}, 409
        adoption_id = None
    if Decimal(fee) != req.amount:
        return {
            "error": "amount does not match the adoption fee",
            "expected": float(fee),
            "received": float(req.amount),
        }, 400
    if adoption_id is None:
        cursor.execute(
            "INSERT INTO adoptions (pet_id, adopter, status) VALUES (%s, 'walk-in', 'paid') RETURNING id",
            (pet_id,),
        )
        adoption_id = cursor.fetchone()[0]
    else:
        cursor.execute("UPDATE adoptions SET status = 'paid' WHERE id = %s", (adoption_id,))
    cursor.execute("UPDATE pets SET status = 'adopted' WHERE id = %s", (pet_id,))
    cursor.execute(
        "INSERT INTO payments (adoption_id, amount, currency, payment_method, status, idempotency_key) "
        "VALUES (%s, %s, %s, %s, 'captured', %s) RETURNING id, created_at",
        (adoption_id, req.amount, req.currency, req.payment_method, req.key),
    )
    payment_id, created_at = cursor.fetchone()
    return payment_json(
        (payment_id, adoption_id, pet_id, pet_name, req.amount, req.currency, "captured", req.key, created_at)
    ), 201


def reserve_pet(cursor, pet_id: int, adopter: str) -> tuple[dict, int]:
    """Open a pending adoption for an available pet (paid later by adoption_id)."""
    cursor.execute("SELECT id, name, adoption_fee, status FROM pets WHERE id = %s FOR UPDATE", (pet_id,))
    row = cursor.fetchone()
    if row is None:
        return {"error": "pet not found"}, 404
    if row[3] != "available":
        return {"error": "pet not available", "pet_id": row[0], "pet_status": row[3]}, 409
    cursor.execute("UPDATE pets SET status = 'reserved' WHERE id = %s", (pet_id,))
    cursor.execute(
        "INSERT INTO adoptions (pet_id, adopter) VALUES (%s, %s) RETURNING id, status, created_at",
        (pet_id, adopter),
    )
    adoption_id, status, created_at = cursor.fetchone()
    return {
        "adoption_id": adoption_id,
        "pet_id": row[0],
        "pet_name": row[1],
        "adopter": adopter,
        "status": status,
        "amount_due": float(row[2]),
        "created_at": str(created_at),
    }, 201
