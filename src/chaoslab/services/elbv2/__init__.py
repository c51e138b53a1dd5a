"""ELBv2 (Application Load Balancer): resources, semantics and API operations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaoslab.services.spec import ServiceSpec

if TYPE_CHECKING:
    from chaoslab.services.elbv2.backend import ElbV2Backend
    from chaoslab.types import LabLike


def build_backend(lab: LabLike, /, **options: Any) -> ElbV2Backend:
    """Imported when the lab builds it, not whenever one of this package's modules is."""
    from chaoslab.services.elbv2.backend import ElbV2Backend

    return ElbV2Backend(lab, **options)


SERVICE = ServiceSpec(
    package="elbv2",
    model="elbv2",
    signing_name="elasticloadbalancing",
    backend=build_backend,
    after=("ec2", "cloudwatch"),
)
