"""RDS (Aurora-like PostgreSQL clusters): real postmasters behind endpoint proxies, failover and reboot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaoslab.services.spec import ServiceSpec

if TYPE_CHECKING:
    from chaoslab.services.rds.backend import RdsBackend
    from chaoslab.types import LabLike


def build_backend(lab: LabLike, /, **options: Any) -> RdsBackend:
    """Imported when the lab builds it, not whenever one of this package's modules is."""
    from chaoslab.services.rds.backend import RdsBackend

    return RdsBackend(lab, **options)


SERVICE = ServiceSpec(package="rds", model="rds", signing_name="rds", backend=build_backend, after=("cloudwatch",))
