"""Request validation for the sample apps (pure functions)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chaoslab.apps.pet_payment.payments import parse_payment
from chaoslab.apps.validate import Invalid, as_amount, as_int, idempotency_key, order_request


def test_order_request_accepts_what_the_seed_accepts() -> None:
    assert order_request({"product_id": 3, "quantity": 2}) == (3, 2)
    assert order_request({"product_id": "3", "quantity": " 2 "}) == (3, 2)
    assert order_request({"product_id": 3.0, "quantity": 1}) == (3, 1)


@pytest.mark.parametrize(
    "body,message",
    [
        (None, "product_id and quantity are required"),
        ([], "product_id and quantity are required"),
        ({"product_id": 1}, "product_id and quantity are required"),
        ({"product_id": True, "quantity": 1}, "product_id must be an integer"),
        ({"product_id": 1, "quantity": 1.5}, "quantity must be an integer"),
        ({"product_id": 1, "quantity": "two"}, "quantity must be an integer"),
        ({"product_id": 1, "quantity": 0}, "quantity must be positive"),
        ({"product_id": 2**31, "quantity": 1}, "product_id is out of range"),
        ({"product_id": 1, "quantity": "99999999999"}, "quantity is out of range"),
    ],
)
def test_order_request_refusals(body, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        order_request(body)


def test_amounts() -> None:
    assert as_amount(150) == Decimal("150.00")
    assert as_amount("95.5") == Decimal("95.50")
    for bad in (0, -1, "1.001", "nan", "inf", True, None, "x"):
        with pytest.raises(Invalid):
            as_amount(bad)


def test_idempotency_keys() -> None:
    assert idempotency_key(None) is None and idempotency_key("  ") is None
    assert idempotency_key(" k ") == "k"
    with pytest.raises(Invalid):
        idempotency_key("k" * 256)
    assert as_int("7", "x") == 7


def test_parse_payment() -> None:
    req = parse_payment(
        {"pet_id": "4", "amount": 60, "currency": "eur", "payment_method": "tok_mc", "client_reference": "c-1"}, None
    )
    assert (req.pet_id, req.adoption_id, req.amount, req.currency, req.key) == (4, None, Decimal("60.00"), "EUR", "c-1")
    assert (
        parse_payment(
            {"adoption_id": 2, "amount": 1, "currency": "USD", "payment_method": "tok_a", "client_reference": "c-1"},
            "hdr",
        ).key
        == "hdr"
    )
    for bad in (
        {"amount": 1, "currency": "USD", "payment_method": "tok_a"},
        {"pet_id": 1, "adoption_id": 1, "amount": 1, "currency": "USD", "payment_method": "tok_a"},
        {"pet_id": 1, "currency": "USD", "payment_method": "tok_a"},
        {"pet_id": 1, "amount": 1, "currency": "JPY", "payment_method": "tok_a"},
        {"pet_id": 1, "amount": 1, "currency": "USD", "payment_method": "4111"},
        {"pet_id": 1, "amount": 1, "currency": "USD", "payment_method": "tok_a", "client_reference": 5},
        "text",
    ):
        with pytest.raises(Invalid):
            parse_payment(bad, None)
