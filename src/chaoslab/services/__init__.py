"""The emulated AWS services, one package each. Each package's `__init__` declares its
`SERVICE` (services/spec.py); this tuple is the one list of them, in a readable start order (the
lab still orders by each spec's `after`). Adding a service is a folder and a line here."""

from __future__ import annotations

from chaoslab.services import (
    applicationautoscaling,
    autoscaling,
    cloudwatch,
    ec2,
    ecs,
    elbv2,
    fis,
    iam,
    logs,
    rds,
    servicediscovery,
    ssm,
    sts,
)
from chaoslab.services.spec import ServiceSpec

SERVICES: tuple[ServiceSpec, ...] = (
    iam.SERVICE,
    sts.SERVICE,
    cloudwatch.SERVICE,
    logs.SERVICE,
    ec2.SERVICE,
    elbv2.SERVICE,
    rds.SERVICE,
    autoscaling.SERVICE,
    servicediscovery.SERVICE,
    ecs.SERVICE,
    applicationautoscaling.SERVICE,
    ssm.SERVICE,
    fis.SERVICE,
)
