"""botocore's service models, indexed the way the gateway needs them.

The wire layer has no per-operation code: everything it knows about an operation (input and
output shapes, HTTP route, error codes) comes from the same `service-2.json` files boto3 uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from botocore.loaders import create_loader
from botocore.model import OperationModel, ServiceModel, Shape

# botocore's loader, not a Session: `botocore.session` imports the client, its waiters and
# docstring machinery (~75 ms of every lab's start) to answer what the loader answers.
_loader = create_loader()


@dataclass(frozen=True)
class Route:
    """One rest-json operation's `requestUri`, split into literal and `{label}` segments."""

    method: str
    segments: tuple[str, ...]
    query_literals: tuple[tuple[str, str], ...]
    operation: str

    def match(self, method: str, raw_segments: list[str]) -> dict[str, str] | None:
        """Path labels (still percent-encoded) if this route matches, else None."""
        if method != self.method:
            return None
        labels: dict[str, str] = {}
        for i, seg in enumerate(self.segments):
            if seg.startswith("{") and seg.endswith("+}"):
                if i >= len(raw_segments):
                    return None
                labels[seg[1:-2]] = "/".join(raw_segments[i:])
                return labels
            if i >= len(raw_segments):
                return None
            if seg.startswith("{"):
                if not raw_segments[i]:
                    return None
                labels[seg[1:-1]] = raw_segments[i]
            elif seg != raw_segments[i]:
                return None
        return labels if len(raw_segments) == len(self.segments) else None


@dataclass
class Service:
    """A botocore service model plus the lookups the wire layer needs."""

    name: str  # botocore's model name
    model: ServiceModel
    routes: list[Route] = field(default_factory=list)
    # error code as clients see it (modeled `error.code`, else shape name) -> error shape
    errors_by_code: dict[str, Shape] = field(default_factory=dict)
    errors_by_shape: dict[str, Shape] = field(default_factory=dict)

    @property
    def protocols(self) -> list[str]:
        md = self.model.metadata
        return list(md.get("protocols") or [md["protocol"]])

    @property
    def query_compatible(self) -> bool:
        return "awsQueryCompatible" in self.model.metadata

    def operation(self, name: str) -> OperationModel | None:
        return self.model.operation_model(name) if name in self.model.operation_names else None

    def error_shape(self, code: str) -> Shape | None:
        """The modeled error for a code a handler raised (query code or shape name)."""
        return self.errors_by_code.get(code) or self.errors_by_shape.get(code)

    def route(self, method: str, raw_path: str, query: dict[str, list[str]]) -> tuple[str, dict[str, str]] | None:
        """rest-json: (operation, raw path labels) for METHOD + raw path; most literal match wins."""
        raw_segments = raw_path.strip("/").split("/") if raw_path.strip("/") else []
        best: tuple[int, str, dict[str, str]] | None = None
        for route in self.routes:
            labels = route.match(method, raw_segments)
            if labels is None or any(k not in query for k, _ in route.query_literals):
                continue
            score = sum(1 for s in route.segments if not s.startswith("{")) * 10 + len(route.query_literals)
            if best is None or score > best[0]:
                best = (score, route.operation, labels)
        return (best[1], best[2]) if best else None


def _routes(model: ServiceModel) -> list[Route]:
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http.get("requestUri", "/")
        path, _, qs = uri.partition("?")
        literals = tuple((k, v) for k, _, v in (p.partition("=") for p in qs.split("&") if p))
        segments = tuple(s for s in path.strip("/").split("/") if s)
        routes.append(Route(http.get("method", "POST"), segments, literals, name))
    return routes


@cache
def service(name: str) -> Service:
    """Load (once) botocore's model of that name (`ServiceSpec.model`)."""
    model = ServiceModel(_loader.load_service_model(name, "service-2"), service_name=name)
    svc = Service(name, model)
    for shape in model.error_shapes:
        code = shape.metadata.get("error", {}).get("code") or shape.name
        svc.errors_by_code[code] = shape
        svc.errors_by_shape[shape.name] = shape
    if "rest-json" in svc.protocols:
        svc.routes = _routes(model)
    return svc


def warm(name: str) -> None:
    """Load a service's model and walk each operation's shapes, so that no request pays for
    botocore's lazy loading and the whole model can be frozen out of the GC's way."""
    svc = service(name)
    seen: set[str] = set()
    for op in svc.model.operation_names:
        model = svc.model.operation_model(op)
        stack = [s for s in (model.input_shape, model.output_shape) if s is not None]
        while stack:
            shape = stack.pop()
            if shape.name in seen:
                continue
            seen.add(shape.name)
            if shape.type_name == "structure":
                stack.extend(shape.members.values())
            elif shape.type_name == "list":
                stack.append(shape.member)
            elif shape.type_name == "map":
                stack.extend((shape.key, shape.value))


def lower_first(name: str) -> str:
    """`DBClusterIdentifier` -> `dBClusterIdentifier`, the way AWS validation messages name members."""
    return name[:1].lower() + name[1:]
