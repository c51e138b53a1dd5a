"""AWS Systems Manager for the lab: Run Command on its instances (the AWSFIS-Run-* documents and
AWS-RunShellScript), Parameter Store, and Automation runbooks (`automation/`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaoslab.services.spec import ServiceSpec

if TYPE_CHECKING:
    from chaoslab.services.ssm.backend import SsmBackend
    from chaoslab.types import LabLike


def build_backend(lab: LabLike, /, **options: Any) -> SsmBackend:
    """Imported when the lab builds it, not whenever one of this package's modules is."""
    from chaoslab.services.ssm.backend import SsmBackend

    return SsmBackend(lab, **options)


SERVICE = ServiceSpec(package="ssm", model="ssm", signing_name="ssm", backend=build_backend, after=("ec2",))
