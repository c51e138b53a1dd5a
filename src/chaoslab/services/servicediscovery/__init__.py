"""AWS Cloud Map (`servicediscovery`): private DNS namespaces, their services and registered
instances, `DiscoverInstances`, and the DNS server on each VPC's resolver address that answers
the namespaces' names to units from the instances registered now (docs/service-discovery.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaoslab.services.spec import ServiceSpec

if TYPE_CHECKING:
    from chaoslab.services.servicediscovery.backend import ServiceDiscoveryBackend
    from chaoslab.types import LabLike


def build_backend(lab: LabLike, /, **options: Any) -> ServiceDiscoveryBackend:
    """Imported when the lab builds it, not whenever one of this package's modules is."""
    from chaoslab.services.servicediscovery.backend import ServiceDiscoveryBackend

    return ServiceDiscoveryBackend(lab, **options)


SERVICE = ServiceSpec(
    package="servicediscovery",
    model="servicediscovery",
    signing_name="servicediscovery",
    backend=build_backend,
    after=("ec2",),
)
