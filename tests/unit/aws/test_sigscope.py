"""The rules AWS applies to a SigV4 request before its signature: scope date, region and service,
the 15-minute clock window, and no UNSIGNED-PAYLOAD for these services.
https://docs.aws.amazon.com/IAM/latest/UserGuide/signing-elements.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/signature-v4-troubleshooting.html
"""

from __future__ import annotations

import calendar
import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from multidict import CIMultiDict

from chaoslab.aws.sigscope import MAX_SKEW, accepted_regions, check
from chaoslab.aws.sigv4 import Authorization, parse_authorization
from chaoslab.errors import AwsError

NOW = calendar.timegm((2026, 3, 4, 12, 0, 0))
US = frozenset({"us-east-1"})


def signed(service: str = "ecs", region: str = "us-east-1", **headers: str) -> tuple[Authorization, CIMultiDict[str]]:
    """Headers as botocore signs them now (the test moves the server clock instead)."""
    request = AWSRequest(method="POST", url="http://127.0.0.1:4566/", data=b"{}", headers=headers)
    SigV4Auth(Credentials("test", "test"), service, region).add_auth(request)
    out = CIMultiDict(request.prepare().headers)
    auth = parse_authorization(out["Authorization"])
    assert auth is not None
    return auth, out


def signed_at(now: float) -> float:
    """The server time `now` seconds after the moment the request was signed."""
    return time.time() + now


def refused(auth: Authorization, headers: CIMultiDict[str], protocol: str = "json", **kw: object) -> AwsError:
    options: dict[str, object] = {"regions": US, "signing_name": "ecs", "protocol": protocol, **kw}
    with pytest.raises(AwsError) as err:
        check(auth, headers, **options)  # type: ignore[arg-type]
    return err.value


def test_a_fresh_request_for_the_lab_region_and_its_service_passes() -> None:
    auth, headers = signed()
    check(auth, headers, regions=US, signing_name="ecs", protocol="json")
    check(auth, headers, regions=US, signing_name="ecs", protocol="json", now=signed_at(MAX_SKEW - 5))
    check(auth, headers, regions=US, signing_name="ecs", protocol="json", now=signed_at(-MAX_SKEW + 5))


@pytest.mark.parametrize(
    ("protocol", "code", "status"),
    [
        ("json", "InvalidSignatureException", 400),
        ("rest-json", "InvalidSignatureException", 400),
        ("query", "SignatureDoesNotMatch", 403),
        ("ec2", "RequestExpired", 400),
    ],
)
def test_more_than_15_minutes_off_the_server_clock_is_refused(protocol: str, code: str, status: int) -> None:
    auth, headers = signed()
    for offset in (MAX_SKEW + 30, -(MAX_SKEW + 30)):
        err = refused(auth, headers, protocol, now=signed_at(offset))
        assert (err.code, err.status) == (code, status)
    old = refused(auth, headers, "query", now=signed_at(MAX_SKEW + 30))
    assert old.message.startswith("Signature expired: ") and "- 15 min.)" in old.message
    ahead = refused(auth, headers, "query", now=signed_at(-(MAX_SKEW + 30)))
    assert ahead.message.startswith("Signature not yet current: ")


def test_scope_date_must_be_the_request_date() -> None:
    auth, headers = signed()
    headers["X-Amz-Date"] = "20260304T120000Z"
    err = refused(Authorization("test", "20260303", "us-east-1", "ecs", auth.signed_headers, "x"), headers, now=NOW)
    assert err.code == "InvalidSignatureException" and "'20260303' != '20260304'" in err.message


def test_a_missing_or_malformed_date_is_an_incomplete_signature() -> None:
    auth, headers = signed()
    del headers["X-Amz-Date"]
    assert (refused(auth, headers, "json").code, refused(auth, headers, "query").code) == (
        "IncompleteSignatureException",
        "IncompleteSignature",
    )
    headers["X-Amz-Date"] = "yesterday"
    assert refused(auth, headers).status == 400


def test_another_region_is_refused_naming_the_lab_region() -> None:
    auth, headers = signed(region="eu-west-1")
    err = refused(auth, headers, "query")
    assert err.code == "SignatureDoesNotMatch" and "not 'eu-west-1'" in err.message and "us-east-1" in err.message


def test_iam_is_global_so_its_signing_region_is_accepted_beside_the_lab_region() -> None:
    assert accepted_regions("eu-west-1", "iam") == {"eu-west-1", "us-east-1"}
    assert accepted_regions("eu-west-1", "ecs") == {"eu-west-1"}
    auth, headers = signed("iam", "us-east-1")
    check(auth, headers, regions=accepted_regions("eu-west-1", "iam"), signing_name="iam", protocol="query")


def test_the_scope_service_must_be_the_one_addressed() -> None:
    auth, headers = signed("logs")
    err = refused(auth, headers, signing_name="ecs")
    assert err.code == "InvalidSignatureException" and "'ecs'" in err.message


def test_unsigned_payload_is_refused() -> None:
    auth, headers = signed(**{"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    assert refused(auth, headers, "query").code == "SignatureDoesNotMatch"
    assert refused(auth, headers, "json").code == "InvalidSignatureException"
