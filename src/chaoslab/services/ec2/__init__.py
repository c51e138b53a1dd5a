"""EC2: VPCs/subnets (the lab's networks), instances as real process units, the describe/stop subset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaoslab.services.spec import ServiceSpec

if TYPE_CHECKING:
    from chaoslab.services.ec2.backend import Ec2Backend
    from chaoslab.types import LabLike


def build_backend(lab: LabLike, /, **options: Any) -> Ec2Backend:
    """Imported when the lab builds it, not whenever one of this package's modules is."""
    from chaoslab.services.ec2.backend import Ec2Backend

    return Ec2Backend(lab, **options)


SERVICE = ServiceSpec(
    package="ec2", model="ec2", signing_name="ec2", backend=build_backend, after=("cloudwatch", "logs")
)
