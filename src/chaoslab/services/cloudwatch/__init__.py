"""CloudWatch metrics and alarms: a real metric store and alarms that are really evaluated."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaoslab.services.spec import ServiceSpec

if TYPE_CHECKING:
    from chaoslab.services.cloudwatch.backend import CloudWatchBackend
    from chaoslab.types import LabLike


def build_backend(lab: LabLike, /, **options: Any) -> CloudWatchBackend:
    """Imported when the lab builds it, not whenever one of this package's modules is."""
    from chaoslab.services.cloudwatch.backend import CloudWatchBackend

    return CloudWatchBackend(lab, **options)


SERVICE = ServiceSpec(package="cloudwatch", model="cloudwatch", signing_name="monitoring", backend=build_backend)
