"""AWS Signature Version 4 verification (docs/aws-api.md, "SigV4"), done the way botocore signs.

Only header auth (`Authorization: AWS4-HMAC-SHA256 …`) is accepted; presigned URLs are not
implemented. The scope, clock and payload rules AWS applies first are aws/sigscope.py's.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from chaoslab.aws.credentials import Credential, CredentialRegistry
from chaoslab.errors import AwsError

ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(frozen=True)
class Authorization:
    """The parsed `Authorization` header."""

    access_key: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def parse_authorization(header: str | None) -> Authorization | None:
    """None when the header is absent or not SigV4 (then the request is unsigned)."""
    if not header or not header.startswith(ALGORITHM + " "):
        return None
    fields = {}
    for part in header[len(ALGORITHM) + 1 :].split(","):
        key, _, value = part.strip().partition("=")
        fields[key] = value
    scope = fields.get("Credential", "").split("/")
    if len(scope) != 5 or "SignedHeaders" not in fields or "Signature" not in fields:
        return None
    return Authorization(
        scope[0], scope[1], scope[2], scope[3], tuple(fields["SignedHeaders"].split(";")), fields["Signature"]
    )


def canonical_path(raw_path: str) -> str:
    """botocore: drop empty and dot segments, then quote the (already encoded) path again."""
    if not raw_path:
        return "/"
    kept: list[str] = []
    for segment in raw_path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment and segment != ".":
            kept.append(segment)
    path = ("/" if raw_path.startswith("/") else "") + "/".join(kept)
    path += "/" if raw_path.endswith("/") and kept else ""
    return quote(path, safe="/~")


def canonical_query(raw_query: str) -> str:
    pairs = [pair.partition("=")[::2] for pair in raw_query.split("&") if raw_query]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_request(
    method: str, raw_path: str, raw_query: str, headers: Any, signed: tuple[str, ...], payload_hash: str
) -> str:
    lines = []
    for name in sorted(set(signed)):
        values = headers.getall(name, []) if hasattr(headers, "getall") else [headers.get(name, "")]
        lines.append(f"{name}:{','.join(' '.join(v.split()) for v in values)}")
    return "\n".join(
        [
            method.upper(),
            canonical_path(raw_path),
            canonical_query(raw_query),
            "\n".join(lines) + "\n",
            ";".join(signed),
            payload_hash,
        ]
    )


def signature(secret: str, auth: Authorization, amz_date: str, creq: str) -> str:
    to_sign = "\n".join([ALGORITHM, amz_date, auth.scope, hashlib.sha256(creq.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (auth.date, auth.region, auth.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def verify(
    auth: Authorization,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Any,
    raw_body: bytes,
    registry: CredentialRegistry,
    json_family: bool,
    body_sha256: str | None = None,
) -> Credential:
    """The caller's credential if the signature holds; else the AwsError AWS answers with.
    `body_sha256`, when given, is the hex digest of `raw_body` (hashed off the event loop).

    Unknown keys are `InvalidClientTokenId` for query services and `UnrecognizedClientException`
    for JSON/rest-json services, as AWS answers them; expired temporary keys `ExpiredToken` /
    `ExpiredTokenException`, which SDKs treat as "refresh the credentials".
    """
    cred = registry.lookup(auth.access_key)
    if cred is None and registry.has_expired(auth.access_key):
        code = "ExpiredTokenException" if json_family else "ExpiredToken"
        raise AwsError(code, "The security token included in the request is expired", 400)
    if cred is None:
        code = "UnrecognizedClientException" if json_family else "InvalidClientTokenId"
        raise AwsError(code, "The security token included in the request is invalid.", 403)
    if cred.session_token is not None and headers.get("X-Amz-Security-Token") != cred.session_token:
        code = "UnrecognizedClientException" if json_family else "InvalidClientTokenId"
        raise AwsError(code, "The security token included in the request is invalid.", 403)
    payload_hash = body_sha256 or hashlib.sha256(raw_body).hexdigest()  # these services sign every payload
    amz_date = headers.get("X-Amz-Date", "")
    creq = canonical_request(method, raw_path, raw_query, headers, auth.signed_headers, payload_hash)
    expected = signature(cred.secret, auth, amz_date, creq)
    if not hmac.compare_digest(expected, auth.signature):
        raise AwsError(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature "
            "you provided. Check your AWS Secret Access Key and signing method.",
            403,
        )
    return cred
