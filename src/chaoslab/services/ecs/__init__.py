"""ECS: clusters, task definitions, services with a scheduler, tasks as real process units."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaoslab.services.spec import ServiceSpec

if TYPE_CHECKING:
    from chaoslab.services.ecs.backend import EcsBackend
    from chaoslab.types import LabLike


def build_backend(lab: LabLike, /, **options: Any) -> EcsBackend:
    """Imported when the lab builds it, not whenever one of this package's modules is."""
    from chaoslab.services.ecs.backend import EcsBackend

    return EcsBackend(lab, **options)


SERVICE = ServiceSpec(
    package="ecs",
    model="ecs",
    signing_name="ecs",
    backend=build_backend,
    after=("ec2", "elbv2", "cloudwatch", "logs", "servicediscovery"),
)
