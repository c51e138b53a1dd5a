"""IAM: roles, policies and the policy evaluation FIS uses to check its experiment role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaoslab.services.spec import ServiceSpec

if TYPE_CHECKING:
    from chaoslab.services.iam.backend import IamBackend
    from chaoslab.types import LabLike


def build_backend(lab: LabLike, /, **options: Any) -> IamBackend:
    """Imported when the lab builds it, not whenever one of this package's modules is."""
    from chaoslab.services.iam.backend import IamBackend

    return IamBackend(lab, **options)


SERVICE = ServiceSpec(package="iam", model="iam", signing_name="iam", backend=build_backend)
