"""Request-body checks shared by the sample apps: pure functions, so they are unit-tested alone."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

MAX_KEY_LENGTH = 255
INT_MAX = 2**31 - 1  # PostgreSQL INTEGER: larger values would fail in the DB as a 500


class Invalid(ValueError):
    """The request body is unusable; the message is what the client sees with a 400."""


def as_int(value: Any, field: str) -> int:
    """An integer from JSON: ints and digit strings (the seed's int() accepts both); not bools."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            pass
    if number is None:
        raise Invalid(f"{field} must be an integer")
    if abs(number) > INT_MAX:
        raise Invalid(f"{field} is out of range")
    return number


def as_amount(value: Any, field: str = "amount") -> Decimal:
    """A positive money amount with at most two decimals."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Invalid(f"{field} must be a number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Invalid(f"{field} must be a number") from None
    if not amount.is_finite():
        raise Invalid(f"{field} must be a number")
    if amount <= 0:
        raise Invalid(f"{field} must be positive")
    if amount != amount.quantize(Decimal("0.01")):
        raise Invalid(f"{field} must have at most two decimal places")
    return amount.quantize(Decimal("0.01"))


def idempotency_key(value: str | None) -> str | None:
    """A usable idempotency key or None; empty means none, over-long is refused."""
    if value is None or not value.strip():
        return None
    key = value.strip()
    if len(key) > MAX_KEY_LENGTH:
        raise Invalid(f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters")
    return key


def order_request(data: Any) -> tuple[int, int]:
    """(product_id, quantity) from a POST /orders body, with the seed's error messages."""
    if not isinstance(data, dict) or "product_id" not in data or "quantity" not in data:
        raise Invalid("product_id and quantity are required")
    product_id = as_int(data["product_id"], "product_id")
    quantity = as_int(data["quantity"], "quantity")
    if quantity <= 0:
        raise Invalid("quantity must be positive")
    return product_id, quantity
