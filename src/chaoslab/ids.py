"""Identifiers and ARNs shaped the way AWS shapes them, so clients and filters see familiar values."""

from __future__ import annotations

import secrets
import string

_BASE62 = string.ascii_letters + string.digits


def hex_id(n: int) -> str:
    return secrets.token_hex((n + 1) // 2)[:n]


def base62_id(n: int) -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(n))


def instance_id() -> str:
    """EC2 instance ids: `i-` and 17 hex digits."""
    return "i-" + hex_id(17)


def task_id() -> str:
    """ECS task ids: 32 hex digits."""
    return hex_id(32)


def fis_id(prefix: str) -> str:
    """FIS ids: `EXT…` for templates, `EXP…` for experiments (observed 17 characters)."""
    return prefix + base62_id(17 - len(prefix))


def arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"
