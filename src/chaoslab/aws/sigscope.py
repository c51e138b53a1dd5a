"""What AWS checks of a SigV4 request besides the signature itself (docs/aws-api.md, "SigV4"):
the credential scope names the request's date, the lab's region and the service addressed; the
request time is within 15 minutes of the server clock; the payload is signed by its hash.

These run before the signature is computed, so a request that cannot be valid is refused with
the reason AWS gives, not a bare signature mismatch.
"""

from __future__ import annotations

import time
from calendar import timegm
from typing import Any

from chaoslab.aws.sigv4 import Authorization
from chaoslab.errors import AwsError

MAX_SKEW = 15 * 60  # seconds either side of the server clock
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# A global service is signed for its partition's one region whatever region the client is in.
GLOBAL_SIGNING_REGIONS = {"iam": "us-east-1"}


def accepted_regions(lab_region: str, signing_name: str) -> frozenset[str]:
    """The lab is one region: other regions are AWS endpoints elsewhere, so a request signed
    for one is refused (a client pointed at the lab with the wrong region learns it at once)."""
    extra = GLOBAL_SIGNING_REGIONS.get(signing_name)
    return frozenset({lab_region, extra} if extra else {lab_region})


def check(
    auth: Authorization,
    headers: Any,
    *,
    regions: frozenset[str],
    signing_name: str,
    protocol: str,
    now: float | None = None,
) -> None:
    """Raise the AwsError AWS answers if the scope, the clock or the payload rule is broken.

    `signing_name` is the service the request addresses (its `X-Amz-Target` prefix, else the
    scope that routed it); `protocol` the wire protocol, which decides the error's code."""
    amz_date = headers.get("X-Amz-Date", "")
    try:
        signed_at = timegm(time.strptime(amz_date, AMZ_DATE_FORMAT))
    except ValueError:
        code = "IncompleteSignatureException" if _json(protocol) else "IncompleteSignature"
        raise AwsError(code, "Authorization header requires existence of a valid 'X-Amz-Date' header.", 400) from None
    if auth.date != amz_date[:8]:
        raise signature_error(
            protocol,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{auth.date}' != '{amz_date[:8]}', from '{amz_date}'.",
        )
    if auth.region not in regions:
        wanted = "', '".join(sorted(regions))
        raise signature_error(
            protocol, f"Credential should be scoped to a valid region, not '{auth.region}'. This lab serves '{wanted}'."
        )
    if auth.service != signing_name:
        raise signature_error(protocol, f"Credential should be scoped to correct service: '{signing_name}'.")
    _check_clock(signed_at, amz_date, protocol, time.time() if now is None else now)
    if headers.get("X-Amz-Content-SHA256") == UNSIGNED_PAYLOAD:
        raise signature_error(
            protocol, f"{UNSIGNED_PAYLOAD} is not accepted by this service: sign the SHA-256 of the payload."
        )


def _check_clock(signed_at: int, amz_date: str, protocol: str, now: float) -> None:
    """AWS's wording: 'Signature expired' (too old) or 'not yet current' (too far ahead); EC2
    answers `RequestExpired` for both."""
    if abs(now - signed_at) <= MAX_SKEW:
        return
    if protocol == "ec2":
        raise AwsError(
            "RequestExpired",
            f"Request has expired. The request time {amz_date} is more than 15 minutes from the server time.",
            400,
        )
    server = time.strftime(AMZ_DATE_FORMAT, time.gmtime(now))
    if signed_at < now:
        limit = time.strftime(AMZ_DATE_FORMAT, time.gmtime(now - MAX_SKEW))
        message = f"Signature expired: {amz_date} is now earlier than {limit} ({server} - 15 min.)"
    else:
        limit = time.strftime(AMZ_DATE_FORMAT, time.gmtime(now + MAX_SKEW))
        message = f"Signature not yet current: {amz_date} is still later than {limit} ({server} + 15 min.)"
    raise signature_error(protocol, message)


def signature_error(protocol: str, message: str) -> AwsError:
    """A signature problem as each protocol family names it: JSON services answer
    `InvalidSignatureException` (400), query and EC2 services `SignatureDoesNotMatch` (403)."""
    if _json(protocol):
        return AwsError("InvalidSignatureException", message, 400)
    return AwsError("SignatureDoesNotMatch", message, 403)


def _json(protocol: str) -> bool:
    return protocol in ("json", "rest-json")
