"""The lab's one AWS endpoint: every boto3/CLI call arrives here, is verified (SigV4), routed by
the credential scope's service, parsed per botocore's model and handed to a plain handler.

`/_chaoslab/...` belongs to the lab and dashboard (`add_routes`); everything else is AWS.
"""

from __future__ import annotations

import binascii
import gzip
import importlib
import inspect
import logging
import uuid
import zlib
from typing import Any, Awaitable, Callable, Iterable

from aiohttp import web

from chaoslab.aws import models
from chaoslab.aws.context import RequestContext
from chaoslab.aws.credentials import CredentialRegistry
from chaoslab.aws.protocols import WireProtocol, WireRequest, WireResponse, protocol_for
from chaoslab.aws.protocols.base import MissingMember, check_required, missing_member_error, unknown_operation, validation_error
from chaoslab.aws.sigv4 import Authorization, parse_authorization, verify
from chaoslab.errors import AwsError
from chaoslab.net.hostsock import bind_listener

log = logging.getLogger("chaoslab.aws.gateway")

Handler = Callable[[RequestContext, dict[str, Any]], "dict[str, Any] | Awaitable[dict[str, Any]] | None"]
RequestHook = Callable[[RequestContext, str, str], "AwsError | None | Awaitable[AwsError | None]"]

LAB_PREFIX = "/_chaoslab"
_MAX_BODY = 32 * 1024 * 1024


class Gateway:
    """aiohttp app + runner on (`lab.config.host`, `lab.config.api_port`); port 0 picks a free port.

    `operations` overrides the handler registry per service (tests); other services load
    `chaoslab.services.<svc>.api.OPERATIONS` on first use.
    """

    def __init__(self, lab: Any, operations: dict[str, dict[str, Handler]] | None = None) -> None:
        self.lab = lab
        self.credentials = CredentialRegistry(lab.config)
        self.app = web.Application(client_max_size=_MAX_BODY)
        self.port: int | None = None
        self._overrides = dict(operations or {})
        self._loaded: dict[str, dict[str, Handler]] = {}
        self._hooks: list[RequestHook] = []
        self._runner: web.AppRunner | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind and serve. Lab routes must be added before this (aiohttp freezes the router)."""
        self.app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(self.app, access_log=None, auto_decompress=False)  # SigV4 covers the gzip bytes
        await self._runner.setup()
        sock = bind_listener(self.lab.config.host, self.lab.config.api_port)
        site = web.SockSite(self._runner, sock)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.lab.config.host}:{self.port}"

    # -- extension points ----------------------------------------------------------------------
    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        """Register lab/dashboard routes; their paths must start with `/_chaoslab/`."""
        routes = list(routes)
        for route in routes:
            path = getattr(route, "path", getattr(route, "prefix", ""))
            if not path.startswith(LAB_PREFIX):
                raise ValueError(f"lab routes live under {LAB_PREFIX}/, not {path}")
        self.app.add_routes(routes)

    def add_request_hook(self, hook: RequestHook) -> Callable[[], None]:
        """Run `hook(ctx, service, operation)` before every handler; an AwsError it returns is the
        answer instead (FIS inject-api-* faults). Returns the function that removes the hook."""
        self._hooks.append(hook)
        return lambda: self._hooks.remove(hook) if hook in self._hooks else None

    def operations(self, service: str) -> dict[str, Handler]:
        if service in self._overrides:
            return self._overrides[service]
        if service not in self._loaded:
            module_name = f"chaoslab.services.{service}.api"
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name not in (module_name, f"chaoslab.services.{service}"):
                    raise
                self._loaded[service] = {}
            else:
                self._loaded[service] = dict(getattr(module, "OPERATIONS", {}))
        return self._loaded[service]

    # -- request path --------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_path, _, raw_query = request.raw_path.partition("?")
        if raw_path.startswith(LAB_PREFIX):
            raise web.HTTPNotFound()
        raw_body = await request.read()
        request_id = str(uuid.uuid4())
        auth = parse_authorization(request.headers.get("Authorization"))
        try:
            body = _decompress(raw_body, request.headers.get("Content-Encoding", ""))
        except (OSError, EOFError, zlib.error):
            return web.Response(status=400, text="request body is not valid gzip")
        wire = WireRequest(request.method, raw_path, raw_query, request.headers, body)
        service = _service_name(auth.service if auth else None, wire)
        if service is None:
            return web.Response(status=404, text=f"chaoslab does not emulate this service ({auth and auth.service})")
        svc = models.service(service)
        proto = protocol_for(svc, wire)
        try:
            response = await self._dispatch(svc, proto, wire, auth, request, request_id)
        except AwsError as err:
            response = proto.error(svc, err, request_id)
        except Exception:
            log.exception("handler failed: %s %s %s", service, request.method, raw_path)
            code = "InternalError" if proto.name == "ec2" else "InternalFailure"
            err = AwsError(code, "We encountered an internal error. Please try again.", 500, sender=False)
            response = proto.error(svc, err, request_id)
        return _to_aiohttp(response, request_id)


    async def _dispatch(self, svc: models.Service, proto: WireProtocol, wire: WireRequest, auth: Authorization | None,
                        request: web.Request, request_id: str) -> WireResponse:
        """Authenticate, find the operation and its handler, parse, run hooks and the handler."""
        if auth is None:
            raise AwsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)
        cred = verify(auth, wire.method, wire.raw_path, wire.raw_query, wire.headers, await request.read(),
                      self.credentials, json_family=proto.name in ("json", "rest-json"))
        found = proto.operation(svc, wire)
        operation, labels = found if found else ("(unknown)", {})
        op = svc.operation(operation)
        handler = self.operations(svc.name).get(operation)
        if op is None or handler is None:
            raise unknown_operation(proto.name, operation, svc.name)
        ctx = RequestContext(self.lab, svc.name, operation, auth.region, cred.account_id, cred.access_key,
                             cred.principal_arn, request_id, request, self.credentials, proto.name)
        params = _parse(svc, proto, op, wire, labels)
        for hook in list(self._hooks):
            injected = await _maybe_await(hook(ctx, svc.name, operation))
            if isinstance(injected, AwsError):
                raise injected
        output = await _maybe_await(handler(ctx, params))
        return proto.serialize(svc, op, output or {}, request_id)


def _parse(svc: models.Service, proto: WireProtocol, op: Any, wire: WireRequest, labels: dict[str, str]) -> dict[str, Any]:
    """Input per the model; malformed values and missing required members become the service's
    validation error, never a 500."""
    try:
        params = proto.parse(svc, op, wire, labels)
        check_required(op.input_shape, params)
    except MissingMember as missing:
        raise missing_member_error(svc, proto.name, missing) from None
    except (ValueError, TypeError, binascii.Error) as exc:
        raise validation_error(svc, proto.name, f"could not parse the {op.name} request: {exc}") from None
    return params


def _service_name(signing_name: str | None, wire: WireRequest) -> str | None:
    """Signed requests route by credential scope; unsigned ones by their shape (docs/aws-api.md, "Routing")."""
    version = wire.form.get("Version") if "x-amz-json" not in wire.headers.get("Content-Type", "") else None
    if signing_name is not None:
        name = models.SIGNING_NAMES.get(signing_name)
        if name == "elbv2" and version == "2012-06-01":
            return None  # classic ELB shares the signing name; chaoslab emulates only v2
        return name
    target = wire.headers.get("X-Amz-Target")
    if target:
        return models.json_targets().get(target.partition(".")[0])
    if version:
        return models.query_service_for_version(version)
    fis = models.service("fis")
    return "fis" if fis.route(wire.method, wire.raw_path, {}) else None


def _decompress(body: bytes, encoding: str) -> bytes:
    """Bodies botocore compressed (PutMetricData >= 10 KB); the signature covers the raw bytes."""
    return gzip.decompress(body) if "gzip" in encoding.lower() else body


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _to_aiohttp(response: WireResponse, request_id: str) -> web.Response:
    headers = {"x-amzn-RequestId": request_id, **response.headers}
    return web.Response(status=response.status, body=response.body, headers=headers)
