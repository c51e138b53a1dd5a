"""Random operation inputs from botocore's shapes: mostly plausible values, often edge values
(empty, huge, unicode, control characters, markup, out-of-range numbers, non-finite floats, far
timestamps), sometimes the wrong type or a missing required member. Deterministic per seed."""

from __future__ import annotations

import datetime as dt
import random
import string
from typing import Any

from botocore.model import Shape

UTC = dt.UTC

EDGE_STRINGS = [
    "",
    " ",
    "a" * 100_000,
    "名前🙂ünïcödé",
    "\u202eevil",
    "\x1b[31mred",
    "nul\x00byte",
    "a\r\nInjected: 1",
    "<![CDATA[x]]>&amp;<a>",
    '"quote\\back',
    "../../../etc/passwd",
    "%00%ff",
    "*",
    "\ufeffbom",
    "\ufffe",
    "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
    "i-0123456789abcdef0",
    "\t\v\f",
    "x" * 1025,
    "-1",
    "true",
    "null",
    '{"a":1}',
]
WRONG_TYPES: list[Any] = [123, -1, "text", [1, 2], {"k": "v"}, True, 1.5]


class InputFuzzer:
    """`operation_input(op)` -> a params dict for the botocore client of `op`'s service."""

    def __init__(self, rng: random.Random, harvested: list[str] | None = None) -> None:
        self.rng = rng
        self.harvested = harvested if harvested is not None else []

    def operation_input(self, input_shape: Shape | None, broken: bool = False) -> dict[str, Any]:
        """`broken`: at least one required member is left out or one value is out of bounds
        (for operations whose valid calls would start real processes)."""
        if input_shape is None:
            return {}
        params = self.structure(input_shape, 0) or {}
        if broken:
            required = list(input_shape.required_members)
            if required and self.rng.random() < 0.5:
                params.pop(self.rng.choice(required), None)
            else:
                name = self.rng.choice(list(input_shape.members))
                params[name] = self.rng.choice(["a" * 100_000, {"bad": [1]}, -(2**40)])
        return params

    def value(self, shape: Shape, depth: int) -> Any:
        roll = self.rng.random()
        if roll < 0.07:
            return self.rng.choice(WRONG_TYPES)
        kind = shape.type_name
        if kind == "structure":
            return self.structure(shape, depth)
        if kind == "list":
            return self.list(shape, depth)
        if kind == "map":
            return self.map(shape, depth)
        edge = roll < 0.4
        return getattr(self, kind, self.string)(shape, edge)

    def structure(self, shape: Shape, depth: int) -> dict[str, Any] | None:
        if depth > 6 or getattr(shape, "is_document_type", False):
            return {"doc": [1, {"x": None}]} if depth <= 6 else None
        required = set(shape.required_members)
        out = {}
        for name, member in shape.members.items():
            if member.serialization.get("location") == "headers":
                continue
            keep = 0.93 if name in required else 0.35
            if self.rng.random() < keep:
                value = self.value(member, depth + 1)
                if value is not None:
                    out[name] = value
        return out

    def list(self, shape: Shape, depth: int) -> list[Any]:
        roll = self.rng.random()
        if roll < 0.1:
            return []
        if roll < 0.13 and depth < 3:
            return [self.value(shape.member, depth + 1)] * 2000
        return [self.value(shape.member, depth + 1) for _ in range(self.rng.randint(1, 3))]

    def map(self, shape: Shape, depth: int) -> dict[str, Any]:
        if self.rng.random() < 0.05 and depth < 3:
            return {f"k{i}": self.value(shape.value, depth + 1) for i in range(1500)}
        return {
            self.string(shape.key, self.rng.random() < 0.3): self.value(shape.value, depth + 1)
            for _ in range(self.rng.randint(0, 3))
        }

    def string(self, shape: Shape, edge: bool) -> str:
        meta = shape.metadata
        if edge:
            return self.rng.choice(EDGE_STRINGS)
        if meta.get("enum") and self.rng.random() < 0.8:
            return self.rng.choice(meta["enum"])
        if self.harvested and self.rng.random() < 0.3:
            return self.rng.choice(self.harvested)
        low = max(int(meta.get("min", 1)), 1)
        high = min(int(meta.get("max", 24)), low + 24)
        return "".join(
            self.rng.choice(string.ascii_letters + string.digits) for _ in range(self.rng.randint(low, high))
        )

    def integer(self, shape: Shape, edge: bool) -> int:
        meta = shape.metadata
        low, high = int(meta.get("min", 0)), int(meta.get("max", 100))
        if edge:
            return self.rng.choice([0, -1, low - 1, high + 1, 2**31, -(2**31) - 1, 2**63, 10**30])
        return self.rng.randint(low, max(low, min(high, low + 1000)))

    long = integer

    def double(self, shape: Shape, edge: bool) -> float:
        if edge:
            return self.rng.choice([0.0, -0.0, 1e308, -1e308, 5e-324, 1e20, float("inf"), float("-inf"), float("nan")])
        return round(self.rng.uniform(-1000, 1000), 3)

    float = double

    def boolean(self, shape: Shape, edge: bool) -> Any:
        return self.rng.choice(["maybe", 0]) if edge and self.rng.random() < 0.3 else self.rng.random() < 0.5

    def timestamp(self, shape: Shape, edge: bool) -> Any:
        if edge:
            return self.rng.choice(
                [
                    dt.datetime(1, 1, 1, tzinfo=UTC),
                    dt.datetime(9999, 12, 31, tzinfo=UTC),
                    dt.datetime(1970, 1, 1, tzinfo=UTC),
                    0,
                    -1,
                    1e11,
                ]
            )
        return dt.datetime.now(UTC) - dt.timedelta(minutes=self.rng.randint(0, 600))

    def blob(self, shape: Shape, edge: bool) -> bytes:
        if edge:
            return self.rng.choice([b"", b"\x00\xff" * 50_000, "🙂".encode()])
        return bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(1, 32)))
