"""CloudWatch Logs: log groups, streams and events, with the paging and filtering clients rely on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaoslab.services.spec import ServiceSpec

if TYPE_CHECKING:
    from chaoslab.services.logs.backend import LogsBackend
    from chaoslab.types import LabLike


def build_backend(lab: LabLike, /, **options: Any) -> LogsBackend:
    """Imported when the lab builds it, not whenever one of this package's modules is."""
    from chaoslab.services.logs.backend import LogsBackend

    return LogsBackend(lab, **options)


SERVICE = ServiceSpec(package="logs", model="logs", signing_name="logs", backend=build_backend)
