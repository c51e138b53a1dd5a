"""The instance metadata service (IMDSv2) each instance reaches at 169.254.169.254, served by the
lab on the VPC's bridge (`runtime.linklocal`), so SDKs find their region and identity the usual
way.

A session token first: `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds`
(1–21600), then GETs with `X-aws-ec2-metadata-token`. An instance launched with
`MetadataOptions.HttpTokens=required` (IMDSv1 off) answers a GET without a valid token 401, as on
AWS; with `optional` (AWS's default) a GET without a token is answered, one with an invalid
token is still 401.
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping

from aiohttp import web

from chaoslab.runtime.linklocal import Handler

ADDRESS = "169.254.169.254"
PORT = 80
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
MAX_TTL = 21600
META_DATA = "/latest/meta-data"

# What an instance describes itself with: meta-data paths → values (see `instance_metadata`).
Describe = Callable[[], Mapping[str, str]]


def instance_metadata(
    *, instance_id: str, instance_type: str, image_id: str, az: str, region: str, ip: str, mac: str
) -> dict[str, str]:
    """The meta-data paths the lab serves, as AWS names them."""
    hostname = f"ip-{ip.replace('.', '-')}.ec2.internal"
    return {
        "ami-id": image_id,
        "hostname": hostname,
        "instance-id": instance_id,
        "instance-type": instance_type,
        "local-hostname": hostname,
        "local-ipv4": ip,
        "mac": mac,
        "placement/availability-zone": az,
        "placement/region": region,
    }


def listing(paths: Mapping[str, str], prefix: str) -> str | None:
    """A directory's entries as IMDS lists them (sub-directories end in "/"), None if none."""
    entries = []
    for path in paths:
        if path.startswith(prefix):
            head, slash, _ = path[len(prefix) :].partition("/")
            entry = head + slash
            if entry not in entries:
                entries.append(entry)
    return "\n".join(entries) if entries else None


class Tokens:
    """Session tokens of one instance and when each expires."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._expiry: dict[str, float] = {}
        self._clock = clock

    def issue(self, ttl: int) -> str:
        now = self._clock()
        self._expiry = {t: e for t, e in self._expiry.items() if e > now}
        token = secrets.token_urlsafe(42)
        self._expiry[token] = now + ttl
        return token

    def valid(self, token: str | None) -> bool:
        return token is not None and self._expiry.get(token, 0.0) > self._clock()


def handler(
    describe: Describe, user_data: Callable[[], str | None], tokens_required: Callable[[], bool] = lambda: True
) -> Handler:
    """One instance's IMDS: `describe()`, `user_data()` and `tokens_required()` (its
    HttpTokens) are read at each request."""
    tokens = Tokens()

    async def token(request: web.BaseRequest) -> web.Response:
        try:
            ttl = int(request.headers.get(TTL_HEADER, ""))
        except ValueError:
            ttl = 0
        if not 1 <= ttl <= MAX_TTL:
            return web.Response(status=400, text="Bad Request")
        return web.Response(text=tokens.issue(ttl), headers={TTL_HEADER: str(ttl)})

    def authorised(request: web.BaseRequest) -> bool:
        token = request.headers.get(TOKEN_HEADER)
        if token is None and not tokens_required():
            return True  # IMDSv1
        return tokens.valid(token)

    async def meta_data(request: web.BaseRequest) -> web.Response:
        if not authorised(request):
            return web.Response(status=401, text="Unauthorized")
        path = request.path.removeprefix(META_DATA).strip("/")
        paths = describe()
        if path in paths:
            return web.Response(text=paths[path])
        entries = listing(paths, f"{path}/" if path else "")
        return web.Response(text=entries) if entries is not None else web.Response(status=404, text="Not Found")

    async def get_user_data(request: web.BaseRequest) -> web.Response:
        if not authorised(request):
            return web.Response(status=401, text="Unauthorized")
        data = user_data()
        return web.Response(text=data) if data is not None else web.Response(status=404, text="Not Found")

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        if request.path == "/latest/api/token":
            return await token(request) if request.method == "PUT" else web.Response(status=405)
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405)
        if request.path == META_DATA or request.path.startswith(META_DATA + "/"):
            return await meta_data(request)
        if request.path.rstrip("/") == "/latest/user-data":
            return await get_user_data(request)
        return web.Response(status=404, text="Not Found")

    return handle
