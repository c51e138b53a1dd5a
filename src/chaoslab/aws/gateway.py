"""The lab's one AWS endpoint: every boto3/CLI call arrives here, is verified (SigV4), routed by
the credential scope's service, parsed per botocore's model, validated against its constraints
and handed to a plain handler.

`/_chaoslab/...` belongs to the lab and dashboard (`add_routes`), and so does `GET /metrics` (the
Prometheus exposition); everything else is AWS. The
endpoint shares the lab's event loop with the ALB data plane, so every step is bounded
(aws/limits.py) and big bodies and responses are handled on worker threads (aws/offload.py).
"""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import inspect
import logging
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from chaoslab.aws import guard, limits, models, routing, sigscope, validation
from chaoslab.aws.body import inflate, is_gzip, read_body
from chaoslab.aws.catalog import Catalog
from chaoslab.aws.context import RequestContext
from chaoslab.aws.credentials import Credential, CredentialRegistry
from chaoslab.aws.offload import Offloader, is_heavy_output
from chaoslab.aws.protocols import WireProtocol, WireRequest, WireResponse, protocol_for
from chaoslab.aws.protocols.base import (
    MissingMember,
    check_required,
    generic_error,
    missing_member_error,
    unknown_operation,
    validation_error,
)
from chaoslab.aws.server import HANDLER_SETTINGS, LAB_PREFIX, METRICS_PATH, ApiSite, handler_factory
from chaoslab.aws.sigv4 import Authorization, parse_authorization, verify
from chaoslab.errors import AwsError
from chaoslab.net.hostsock import bind_listener
from chaoslab.services import SERVICES
from chaoslab.services.iam import enforce
from chaoslab.services.spec import ServiceSpec
from chaoslab.types import ApiHandler

log = logging.getLogger("chaoslab.aws.gateway")

RequestHook = Callable[[RequestContext, str, str], "AwsError | None | Awaitable[AwsError | None]"]


class Gateway:
    """aiohttp app + runner on (`lab.config.host`, `lab.config.api_port`); port 0 picks a free port.

    The emulated services are `services` (by default every one in services/__init__.py); each
    package's handlers load on first use. `operations` overrides them per package (tests).
    """

    def __init__(
        self,
        lab: Any,
        operations: dict[str, dict[str, ApiHandler]] | None = None,
        services: Iterable[ServiceSpec] = SERVICES,
    ) -> None:
        self.lab = lab
        self.catalog = Catalog(services)
        self.credentials = CredentialRegistry(lab.config, resolve=self._user_key)
        self.port: int | None = None
        # The token state-changing `/_chaoslab/` calls must carry (aws/guard.py); the lab sets it.
        self.lab_token: str | None = None
        self.app = web.Application(
            client_max_size=limits.MAX_BODY,
            middlewares=[guard.middleware(self.allowed_hosts, lambda: self.lab_token)],
        )
        self._overrides = dict(operations or {})
        self._loaded: dict[str, dict[str, ApiHandler]] = {}
        self._hooks: dict[object, RequestHook] = {}
        self._runner: web.AppRunner | None = None
        self._offload = Offloader()

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind and serve. Lab routes must be added before this (aiohttp freezes the router)."""
        sys.setswitchinterval(min(sys.getswitchinterval(), limits.GIL_SWITCH))  # the loop and the workers share the GIL
        self.app.router.add_route("*", r"/{tail:[\s\S]*}", self._handle)  # any path, CR/LF-encoded ones too
        self._runner = web.AppRunner(self.app, **HANDLER_SETTINGS)
        await self._runner.setup()
        assert self._runner.server is not None
        sock = bind_listener(self.lab.config.host, self.lab.config.api_port)
        site = ApiSite(self._runner, sock, handler_factory(self._runner.server, asyncio.get_running_loop()))
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def warm(self) -> None:
        """Load every emulated service's model on a worker thread (models.warm)."""
        await self._offload.run(True, self.catalog.warm)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._offload.close()

    def _user_key(self, access_key: str) -> Credential | None:
        """An IAM user's active access key, as a credential that signs as that user."""
        iam = getattr(self.lab, "iam", None)
        owner = iam.key_owner(access_key) if iam is not None else None
        if owner is None:
            return None
        user, key = owner
        return Credential(key.access_key_id, key.secret, user.arn, self.lab.config.account_id, user.user_id)

    def allowed_hosts(self) -> frozenset[str]:
        """The `Host` values this endpoint answers: its own names (aws/guard.py)."""
        return guard.allowed_hosts(self.lab.config.host, self.port or 0)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.lab.config.host}:{self.port}"

    # -- extension points ----------------------------------------------------------------------
    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        """Register lab/dashboard routes; their paths must start with `/_chaoslab/` (or be the
        metrics path, which no AWS service the lab serves routes)."""
        routes = list(routes)
        for route in routes:
            path = getattr(route, "path", getattr(route, "prefix", ""))
            if not path.startswith(LAB_PREFIX) and path != METRICS_PATH:
                raise ValueError(f"lab routes live under {LAB_PREFIX}/ or at {METRICS_PATH}, not {path}")
        self.app.add_routes(routes)

    def add_request_hook(self, hook: RequestHook, key: str | None = None) -> Callable[[], None]:
        """Run `hook(ctx, service, operation)` before every handler; an AwsError it returns is the
        answer instead (FIS inject-api-* faults). Returns the function that removes the hook;
        `key` also names it for `remove_request_hook` (a fault's revert has only its record)."""
        handle: object = key if key is not None else object()
        self._hooks[handle] = hook
        return lambda: self.remove_request_hook(handle)

    def remove_request_hook(self, key: object) -> None:
        """Remove the hook added under `key`; nothing if there is none (any more)."""
        self._hooks.pop(key, None)

    async def invoke(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Serve a call made inside the lab (an Automation step's aws:executeAwsApi): the request
        hooks and the handler a wire request reaches, so injected API faults hit it too."""
        handler = self.operations(ctx.service).get(ctx.operation)
        if handler is None:
            raise unknown_operation(ctx.protocol, ctx.operation, ctx.service)
        ctx.params = params
        for hook in list(self._hooks.values()):
            injected = await _maybe_await(hook(ctx, ctx.service, ctx.operation))
            if isinstance(injected, AwsError):
                raise injected
        output: dict[str, Any] = await _maybe_await(handler(ctx, params)) or {}
        return output

    def operations(self, service: str) -> dict[str, ApiHandler]:
        """The handlers of a package, by botocore operation name."""
        if service in self._overrides:
            return self._overrides[service]
        if service not in self._loaded:
            self._loaded[service] = dict(self.catalog.operations(service))
        return self._loaded[service]

    # -- request path --------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_path, _, raw_query = request.raw_path.partition("?")
        if raw_path.startswith(LAB_PREFIX):
            raise web.HTTPNotFound()
        request_id = str(uuid.uuid4())
        auth = parse_authorization(request.headers.get("Authorization"))
        service = self.catalog.signed(auth.service) if auth else None
        try:
            raw_body = await read_body(request)
            if auth is None:
                service = routing.unsigned_service(
                    self.catalog, request.method, raw_path, raw_query, request.headers, raw_body
                )
                raise AwsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)
            if service is None:
                raise AwsError("UnknownService", f"chaoslab does not emulate this service ({auth.service})", 404)
        except AwsError as err:
            if service is None:
                return _to_aiohttp(generic_error(err, request_id, routing.is_json_family(request.headers)), request_id)
            svc = self.catalog.model(service)
            wire = WireRequest(request.method, raw_path, raw_query, request.headers, b"")
            return _to_aiohttp(protocol_for(svc, wire).error(svc, err, request_id), request_id)
        svc = self.catalog.model(service)
        proto = protocol_for(svc, WireRequest(request.method, raw_path, raw_query, request.headers, b""))
        try:
            response = await self._dispatch(service, svc, proto, auth, raw_body, request, request_id)
        except AwsError as err:
            response = proto.error(svc, err, request_id)
        except Exception:
            log.exception("handler failed: %s %s %s", service, request.method, raw_path)
            code = "InternalError" if proto.name == "ec2" else "InternalFailure"
            internal = AwsError(code, "We encountered an internal error. Please try again.", 500, sender=False)
            response = proto.error(svc, internal, request_id)
        return _to_aiohttp(response, request_id)

    async def _addressed(self, service: str, svc: models.Service, headers: Any) -> str:
        """The signing name of the service a request addresses: its scope's, unless an
        `X-Amz-Target` names another service (looked up off the loop: it loads every model)."""
        prefix = headers.get("X-Amz-Target", "").partition(".")[0]
        if not prefix or prefix == svc.model.metadata.get("targetPrefix"):
            return self.catalog.signing_name(service)
        other = await self._offload.run(True, self.catalog.json_targets.get, prefix)
        return self.catalog.signing_name(other or service)

    async def _dispatch(
        self,
        service: str,
        svc: models.Service,
        proto: WireProtocol,
        auth: Authorization,
        raw_body: bytes,
        request: web.Request,
        request_id: str,
    ) -> WireResponse:
        """Check the signature's scope and time, authenticate, inflate, find the operation and its
        handler, parse and validate, run hooks and the handler, serialise. Heavy steps run on a
        worker thread."""
        raw_path, _, raw_query = request.raw_path.partition("?")
        sigscope.check(
            auth,
            request.headers,
            regions=sigscope.accepted_regions(self.lab.config.region, auth.service),
            signing_name=await self._addressed(service, svc, request.headers),
            protocol=proto.name,
        )
        heavy = len(raw_body) > limits.HEAVY_BODY
        digest = await self._offload.run(heavy, _sha256, raw_body)
        cred = verify(
            auth,
            request.method,
            raw_path,
            raw_query,
            request.headers,
            raw_body,
            self.credentials,
            json_family=proto.name in ("json", "rest-json"),
            body_sha256=digest,
        )
        wire = await self._offload.run(
            heavy or is_gzip(request.headers.get("Content-Encoding", "")),
            _wire_request,
            svc,
            proto,
            request.method,
            raw_path,
            raw_query,
            request.headers,
            raw_body,
        )
        if service == "elbv2" and proto.name == "query" and wire.form.get("Version") == routing.CLASSIC_ELB_VERSION:
            raise AwsError(
                "UnknownService", "chaoslab emulates Elastic Load Balancing v2 only (Version=2015-12-01)", 404
            )
        try:
            found = proto.operation(svc, wire)
        except ValueError as exc:  # a query string past the form limits
            raise validation_error(svc, proto.name, str(exc)) from None
        operation, labels = found if found else ("(unknown)", {})
        op = svc.operation(operation)
        handler = self.operations(service).get(operation)
        if op is None or handler is None:
            raise unknown_operation(proto.name, operation, service)
        ctx = RequestContext(
            self.lab,
            service,
            operation,
            auth.region,
            cred.account_id,
            cred.access_key,
            cred.principal_arn,
            request_id,
            request,
            self.credentials,
            proto.name,
        )
        params = await self._offload.run(len(wire.body) > limits.HEAVY_BODY, _parse, svc, proto, op, wire, labels)
        ctx.params = params
        if self.lab.config.enforce_iam:
            enforce.check(ctx, svc.query_compatible)
        for hook in list(self._hooks.values()):
            injected = await _maybe_await(hook(ctx, service, operation))
            if isinstance(injected, AwsError):
                raise injected
        output = await _maybe_await(handler(ctx, params)) or {}
        if not is_heavy_output(output):
            return proto.serialize(svc, op, output, request_id)
        try:
            return await self._offload.run(True, proto.serialize, svc, op, output, request_id)
        except RuntimeError:  # the loop changed a live dict in the output meanwhile: serialise here
            return proto.serialize(svc, op, output, request_id)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _wire_request(
    svc: models.Service, proto: WireProtocol, method: str, raw_path: str, raw_query: str, headers: Any, raw_body: bytes
) -> WireRequest:
    """The request with its body inflated (at most MAX_INFLATED bytes) and, for the query
    protocols, its form parsed within the form limits; bad bodies are the service's validation error."""
    try:
        body = inflate(raw_body) if is_gzip(headers.get("Content-Encoding", "")) else raw_body
        wire = WireRequest(method, raw_path, raw_query, headers, body)
        if proto.name in ("query", "ec2"):
            wire.form  # noqa: B018 - parse now, on this thread, so later reads are free
    except ValueError as exc:
        raise validation_error(svc, proto.name, str(exc)) from None
    return wire


def _parse(
    svc: models.Service, proto: WireProtocol, op: Any, wire: WireRequest, labels: dict[str, str]
) -> dict[str, Any]:
    """Input per the model; malformed values, missing required members and values that break the
    model's constraints become the service's validation error, never a 500."""
    try:
        params = proto.parse(svc, op, wire, labels)
        check_required(op.input_shape, params)
    except MissingMember as missing:
        raise missing_member_error(svc, proto.name, missing) from None
    except (ValueError, TypeError, binascii.Error) as exc:
        raise validation_error(svc, proto.name, f"could not parse the {op.name} request: {exc}") from None
    validation.check(svc, op.input_shape, params)
    return params


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _to_aiohttp(response: WireResponse, request_id: str) -> web.Response:
    headers = {"x-amzn-RequestId": request_id, **{k: _header_value(v) for k, v in response.headers.items()}}
    return web.Response(status=response.status, body=response.body, headers=headers)


def _header_value(value: str) -> str:
    """Header values can carry no line breaks or controls; a value echoing input loses them."""
    return "".join(c if c >= " " and c != "\x7f" else " " for c in value) if not value.isprintable() else value
