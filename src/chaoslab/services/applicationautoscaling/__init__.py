"""Application Auto Scaling: scalable targets (ECS services' desiredCount), target-tracking and
step scaling policies run by the lab's scaling engine (chaoslab/scaling), scaling activities."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaoslab.services.spec import ServiceSpec

if TYPE_CHECKING:
    from chaoslab.services.applicationautoscaling.backend import ApplicationAutoScalingBackend
    from chaoslab.types import LabLike


def build_backend(lab: LabLike, /, **options: Any) -> ApplicationAutoScalingBackend:
    """Imported when the lab builds it, not whenever one of this package's modules is."""
    from chaoslab.services.applicationautoscaling.backend import ApplicationAutoScalingBackend

    return ApplicationAutoScalingBackend(lab, **options)


SERVICE = ServiceSpec(
    package="applicationautoscaling",
    model="application-autoscaling",
    signing_name="application-autoscaling",
    backend=build_backend,
    after=("cloudwatch", "ecs"),
)
