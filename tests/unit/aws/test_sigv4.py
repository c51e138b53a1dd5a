"""SigV4 verification against signatures botocore itself computes."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from multidict import CIMultiDict

from chaoslab.aws.credentials import CredentialRegistry
from chaoslab.aws.sigv4 import canonical_path, parse_authorization, verify
from chaoslab.config import LabConfig
from chaoslab.errors import AwsError

CASES = [
    ("GET", "http://127.0.0.1:4566/tags/arn%3Aaws%3Afis%3Aus-east-1%3A1%3Aexperiment%2FEXP1", b"", "fis"),
    ("GET", "http://127.0.0.1:4566/experiments?maxResults=5&nextToken=a%20b%2Fc&b=2&a=1", b"", "fis"),
    ("POST", "http://127.0.0.1:4566/", b'{"cluster": "x"}', "ecs"),
    ("POST", "http://127.0.0.1:4566/", b"Action=DescribeLoadBalancers&Version=2015-12-01", "elasticloadbalancing"),
    ("DELETE", "http://localhost:4566/tags/x?tagKeys=a&tagKeys=b", b"", "fis"),
]


def signed(
    method: str, url: str, body: bytes, service: str, secret: str = "test", key: str = "test"
) -> tuple[str, str, CIMultiDict]:
    request = AWSRequest(
        method=method,
        url=url,
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "  a   b  "},
    )
    SigV4Auth(Credentials(key, secret), service, "eu-west-1").add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    headers = CIMultiDict(prepared.headers)
    headers["Host"] = parts.netloc
    return parts.path, parts.query, headers


@pytest.mark.parametrize(("method", "url", "body", "service"), CASES)
def test_accepts_what_botocore_signs(method: str, url: str, body: bytes, service: str) -> None:
    registry = CredentialRegistry(LabConfig())
    path, query, headers = signed(method, url, body, service)
    auth = parse_authorization(headers["Authorization"])
    assert auth is not None and (auth.service, auth.region) == (service, "eu-west-1")
    assert verify(auth, method, path, query, headers, body, registry, json_family=True).access_key == "test"


@pytest.mark.parametrize(("method", "url", "body", "service"), CASES)
def test_rejects_wrong_secret_and_tampering(method: str, url: str, body: bytes, service: str) -> None:
    registry = CredentialRegistry(LabConfig())
    path, query, headers = signed(method, url, body, service, secret="other")
    auth = parse_authorization(headers["Authorization"])
    with pytest.raises(AwsError) as err:
        verify(auth, method, path, query, headers, body, registry, json_family=True)
    assert (err.value.code, err.value.status) == ("SignatureDoesNotMatch", 403)
    path, query, headers = signed(method, url, body, service)
    with pytest.raises(AwsError):
        verify(auth, method, path, query, headers, body + b" ", registry, json_family=True)


def test_unknown_key_codes_per_protocol_family() -> None:
    registry = CredentialRegistry(LabConfig(credentials={"other": "x"}))
    path, query, headers = signed("POST", "http://h/", b"", "sts")
    auth = parse_authorization(headers["Authorization"])
    for json_family, code in [(True, "UnrecognizedClientException"), (False, "InvalidClientTokenId")]:
        with pytest.raises(AwsError) as err:
            verify(auth, "POST", path, query, headers, b"", registry, json_family=json_family)
        assert (err.value.code, err.value.status) == (code, 403)


def test_expired_temporary_keys_are_forgotten() -> None:
    registry = CredentialRegistry(LabConfig())
    cred = registry.issue("arn:aws:sts::123456789012:assumed-role/r/s", "AROA:s", duration_seconds=-1)
    assert registry.lookup(cred.access_key) is None
    live = registry.issue("arn:aws:sts::123456789012:assumed-role/r/s", "AROA:s", duration_seconds=60)
    assert registry.lookup(live.access_key) == live and live.session_token


def test_parse_authorization_rejects_other_schemes() -> None:
    assert parse_authorization(None) is None
    assert parse_authorization("Basic dXNlcjpw") is None
    assert parse_authorization("AWS4-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=x") is None


def test_canonical_path_matches_botocore_normalisation() -> None:
    assert canonical_path("") == "/"
    assert canonical_path("/a/./b/../c/") == "/a/c/"
    assert canonical_path("/tags/arn%3Aa%2Fb") == "/tags/arn%253Aa%252Fb"


def test_an_expired_temporary_key_is_reported_expired_not_unknown() -> None:
    registry = CredentialRegistry(LabConfig())
    cred = registry.issue("arn:aws:sts::123456789012:assumed-role/r/s", "AROA:s", duration_seconds=-1)
    path, query, headers = signed("POST", "http://h/", b"", "sts", key=cred.access_key, secret=cred.secret)
    auth = parse_authorization(headers["Authorization"])
    for json_family, code in [(True, "ExpiredTokenException"), (False, "ExpiredToken")]:
        with pytest.raises(AwsError) as err:
            verify(auth, "POST", path, query, headers, b"", registry, json_family=json_family)
        assert (err.value.code, err.value.status) == (code, 400)
