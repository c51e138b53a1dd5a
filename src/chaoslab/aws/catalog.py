"""The emulated services as the wire layer looks them up, built from the services' own specs
(services/spec.py), so the gateway has no list of services of its own: which package a SigV4
signing name, an `X-Amz-Target` prefix or a query `Version` is for, and each package's botocore
model and handlers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING

from chaoslab.aws import models

if TYPE_CHECKING:
    from chaoslab.services.spec import ServiceSpec
    from chaoslab.types import ApiHandler


class Catalog:
    """Lookups by package (`elbv2`), the name the lab and the handlers use."""

    def __init__(self, specs: Iterable[ServiceSpec]) -> None:
        self._specs: dict[str, ServiceSpec] = {}
        self._by_signing_name: dict[str, str] = {}
        for spec in specs:
            for table, key in ((self._specs, spec.package), (self._by_signing_name, spec.signing_name)):
                if key in table:
                    raise ValueError(f"two services claim {key!r}")
            self._specs[spec.package] = spec
            self._by_signing_name[spec.signing_name] = spec.package

    @property
    def packages(self) -> list[str]:
        return list(self._specs)

    def signed(self, signing_name: str) -> str | None:
        """The package for a SigV4 credential scope's service, None if not emulated."""
        return self._by_signing_name.get(signing_name)

    def signing_name(self, package: str) -> str:
        """The SigV4 credential scope's service for a package (`elbv2` → `elasticloadbalancing`)."""
        return self._specs[package].signing_name

    def model(self, package: str) -> models.Service:
        """The package's botocore model (loaded once)."""
        return models.service(self._specs[package].model)

    def operations(self, package: str) -> Mapping[str, ApiHandler]:
        return self._specs[package].operations()

    @cached_property
    def json_targets(self) -> dict[str, str]:
        """`X-Amz-Target` prefix -> package, for routing unsigned JSON requests."""
        out: dict[str, str] = {}
        for package in self._specs:
            prefix = self.model(package).model.metadata.get("targetPrefix")
            if prefix:
                out[prefix] = package
        return out

    @cached_property
    def query_versions(self) -> dict[str, str]:
        """Query `Version=` -> package, for routing unsigned query requests."""
        out: dict[str, str] = {}
        for package in self._specs:
            svc = self.model(package)
            if "query" in svc.protocols or "ec2" in svc.protocols:
                out.setdefault(svc.model.metadata["apiVersion"], package)
        return out

    @cached_property
    def rest_json(self) -> list[str]:
        """The packages whose operations are routed by method and path."""
        return [package for package in self._specs if "rest-json" in self.model(package).protocols]

    def warm(self) -> None:
        """Load every emulated service's model and walk its shapes (models.warm)."""
        for spec in self._specs.values():
            models.warm(spec.model)
