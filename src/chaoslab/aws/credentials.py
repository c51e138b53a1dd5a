"""Who may call the lab: the configured long-term keys, temporary keys STS hands out, and IAM users'
access keys (looked up through `resolve` at every request, so a deleted key stops working at once)."""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass

from chaoslab.config import LabConfig

_KEY_CHARS = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Credential:
    """One access key: its secret, session token (temporary keys only) and the principal it is."""

    access_key: str
    secret: str
    principal_arn: str
    account_id: str
    user_id: str
    session_token: str | None = None
    expires: float | None = None

    def expired(self, now: float | None = None) -> bool:
        return self.expires is not None and (now or time.time()) >= self.expires


class CredentialRegistry:
    """Access key id -> Credential. The configured keys act as the account's root user."""

    def __init__(self, config: LabConfig, resolve: Callable[[str], Credential | None] | None = None) -> None:
        self._account = config.account_id
        self._resolve = resolve
        self._keys: dict[str, Credential] = {
            key: Credential(key, secret, f"arn:aws:iam::{config.account_id}:root", config.account_id, config.account_id)
            for key, secret in config.credentials.items()
        }
        self._expired: set[str] = set()  # forgotten temporary keys, so callers hear "expired", not "unknown"

    def lookup(self, access_key: str) -> Credential | None:
        """The live credential for a key; expired temporary keys are forgotten."""
        cred = self._keys.get(access_key)
        if cred is not None and cred.expired():
            del self._keys[access_key]
            self._expired.add(access_key)
            return None
        if cred is None and self._resolve is not None:
            return self._resolve(access_key)
        return cred

    def has_expired(self, access_key: str) -> bool:
        """Was this a temporary key that has run out (rather than one never issued)?"""
        return access_key in self._expired

    def issue(self, principal_arn: str, user_id: str, duration_seconds: int, prefix: str = "ASIA") -> Credential:
        """Mint a temporary key (as STS does: `ASIA…` id, a secret and a session token)."""
        cred = Credential(
            access_key=prefix + "".join(secrets.choice(_KEY_CHARS) for _ in range(16)),
            secret=secrets.token_urlsafe(30)[:40],
            principal_arn=principal_arn,
            account_id=self._account,
            user_id=user_id,
            session_token=secrets.token_urlsafe(96),
            expires=time.time() + duration_seconds,
        )
        self._keys[cred.access_key] = cred
        return cred
