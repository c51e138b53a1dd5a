"""Auto Scaling groups: desired capacity kept with real instances, replaced per the health-check type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaoslab.services.spec import ServiceSpec

if TYPE_CHECKING:
    from chaoslab.services.autoscaling.backend import AutoScalingBackend
    from chaoslab.types import LabLike


def build_backend(lab: LabLike, /, **options: Any) -> AutoScalingBackend:
    """Imported when the lab builds it, not whenever one of this package's modules is."""
    from chaoslab.services.autoscaling.backend import AutoScalingBackend

    return AutoScalingBackend(lab, **options)


SERVICE = ServiceSpec(
    package="autoscaling",
    model="autoscaling",
    signing_name="autoscaling",
    backend=build_backend,
    after=("ec2", "elbv2", "cloudwatch"),
)
