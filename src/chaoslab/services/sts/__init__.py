"""STS: caller identity and temporary credentials for roles; stateless, its keys live in the gateway."""

from __future__ import annotations

from chaoslab.services.spec import ServiceSpec

SERVICE = ServiceSpec(package="sts", model="sts", signing_name="sts")
