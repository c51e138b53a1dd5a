"""IMDSv2 as AWS documents it: a PUT for a token with a TTL of 1-21600 s, GETs with the token,
401 without one (IMDSv1 off), directory listings, user data.
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html"""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import make_mocked_request

from chaoslab.services.ec2 import imds

PATHS = imds.instance_metadata(
    instance_id="i-0abc",
    instance_type="t3.micro",
    image_id="ami-123",
    az="us-east-1a",
    region="us-east-1",
    ip="10.0.10.4",
    mac="02:00:0a:00:0a:04",
)


def ask(handler: imds.Handler, method: str, path: str, **headers: str) -> tuple[int, str]:
    response = asyncio.run(handler(make_mocked_request(method, path, headers=headers)))
    return response.status, response.text or ""  # type: ignore[attr-defined]


def test_token_then_metadata_and_401_without_one() -> None:
    h = imds.handler(lambda: PATHS, lambda: "#!/bin/sh\necho hi\n")
    assert ask(h, "GET", "/latest/meta-data/instance-id")[0] == 401
    assert ask(h, "PUT", "/latest/api/token")[0] == 400  # no TTL
    assert ask(h, "PUT", "/latest/api/token", **{imds.TTL_HEADER: "21601"})[0] == 400
    status, token = ask(h, "PUT", "/latest/api/token", **{imds.TTL_HEADER: "60"})
    assert status == 200 and token
    auth = {imds.TOKEN_HEADER: token}
    assert ask(h, "GET", "/latest/meta-data/instance-id", **auth) == (200, "i-0abc")
    assert ask(h, "GET", "/latest/meta-data/placement/availability-zone/", **auth) == (200, "us-east-1a")
    assert ask(h, "GET", "/latest/meta-data/local-hostname", **auth) == (200, "ip-10-0-10-4.ec2.internal")
    assert ask(h, "GET", "/latest/user-data", **auth) == (200, "#!/bin/sh\necho hi\n")
    assert ask(h, "GET", "/latest/meta-data/instance-id", **{imds.TOKEN_HEADER: "forged"})[0] == 401
    assert ask(h, "GET", "/latest/meta-data/nothing-here", **auth)[0] == 404


def test_listings_end_directories_in_a_slash() -> None:
    h = imds.handler(lambda: PATHS, lambda: None)
    _, token = ask(h, "PUT", "/latest/api/token", **{imds.TTL_HEADER: "60"})
    status, listing = ask(h, "GET", "/latest/meta-data/", **{imds.TOKEN_HEADER: token})
    assert status == 200 and "placement/" in listing.split("\n") and "instance-id" in listing.split("\n")
    assert ask(h, "GET", "/latest/meta-data/placement", **{imds.TOKEN_HEADER: token}) == (
        200,
        "availability-zone\nregion",
    )
    assert ask(h, "GET", "/latest/user-data", **{imds.TOKEN_HEADER: token})[0] == 404  # none given


def test_tokens_expire() -> None:
    now = [0.0]
    tokens = imds.Tokens(clock=lambda: now[0])
    token = tokens.issue(10)
    assert tokens.valid(token)
    now[0] = 10.5
    assert not tokens.valid(token)


def test_imdsv1_answers_without_a_token_when_tokens_are_optional() -> None:
    """HttpTokens=optional (AWS's default): a GET without a token is answered; a GET with an
    invalid token is still refused."""
    h = imds.handler(lambda: PATHS, lambda: None, lambda: False)
    assert ask(h, "GET", "/latest/meta-data/instance-id") == (200, "i-0abc")
    assert ask(h, "GET", "/latest/meta-data/instance-id", **{imds.TOKEN_HEADER: "forged"})[0] == 401
