"""AWS Fault Injection Service: catalogue, template validation, API and the experiment engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaoslab.services.spec import ServiceSpec

if TYPE_CHECKING:
    from chaoslab.services.fis.backend import FisBackend
    from chaoslab.types import LabLike


def build_backend(lab: LabLike, /, **options: Any) -> FisBackend:
    """Imported when the lab builds it, not whenever one of this package's modules is."""
    from chaoslab.services.fis.backend import FisBackend

    return FisBackend(lab, **options)


SERVICE = ServiceSpec(
    package="fis",
    model="fis",
    signing_name="fis",
    backend=build_backend,
    after=("iam", "cloudwatch", "logs", "ec2", "elbv2", "rds", "autoscaling", "ecs", "ssm"),
)
