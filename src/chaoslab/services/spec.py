"""What a service package says about itself, so that adding a service edits no other file: the
lab builds and orders backends from these specs and the gateway builds its routing tables from
them. A leaf module: it names the lab and the handlers only as types."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from chaoslab.types import ApiHandler, LabLike


class Backend(Protocol):
    """A service's semantics, started with the lab and stopped with it."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class BackendFactory(Protocol):
    """Builds a service's backend for a lab; `options` are the lab's settings for that service
    (EC2's network mode), passed through to the backend's constructor."""

    def __call__(self, lab: LabLike, /, **options: Any) -> Backend: ...


@dataclass(frozen=True)
class ServiceSpec:
    """One emulated AWS service.

    `package` names the folder (`chaoslab.services.<package>`), the lab attribute holding the
    backend (`lab.<package>`) and `RequestContext.service`; `model` is botocore's service model
    name, which may differ (package `applicationautoscaling`, model `application-autoscaling`);
    `signing_name` is the SigV4 credential scope's service that routes a signed request here.
    `backend` is None for a stateless service (STS). `after` names the packages whose backends
    must be running before this one starts (and keep running until it has stopped).
    """

    package: str
    model: str
    signing_name: str
    backend: BackendFactory | None = None
    after: tuple[str, ...] = ()

    def operations(self) -> Mapping[str, ApiHandler]:
        """The handlers of `services/<package>/api.py`, keyed by botocore operation name; loaded
        on first use, so a lab that never sees a call to a service never imports its api."""
        module = importlib.import_module(f"chaoslab.services.{self.package}.api")
        operations: Mapping[str, ApiHandler] = module.OPERATIONS
        return operations


def start_order(specs: Iterable[ServiceSpec]) -> list[ServiceSpec]:
    """The specs with each one after everything it names in `after`; otherwise in the given
    order, so the order is stable and readable. An unknown or circular `after` is a ValueError."""
    pending = list(specs)
    known = {spec.package for spec in pending}
    for spec in pending:
        unknown = sorted(set(spec.after) - known)
        if unknown:
            raise ValueError(f"service {spec.package} starts after unknown services: {', '.join(unknown)}")
    ordered: list[ServiceSpec] = []
    placed: set[str] = set()
    while pending:
        ready = next((spec for spec in pending if placed.issuperset(spec.after)), None)
        if ready is None:
            raise ValueError(f"services wait on each other in a cycle: {', '.join(s.package for s in pending)}")
        ordered.append(ready)
        placed.add(ready.package)
        pending.remove(ready)
    return ordered
