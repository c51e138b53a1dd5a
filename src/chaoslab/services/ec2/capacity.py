"""EC2's answer when a zone has no capacity for a launch: InsufficientInstanceCapacity, worded as
EC2 words it (the zone asked for, and the zones that still have capacity), and which zones an
availabilityZoneIdentifiers list names (zone names or zone ids, as FIS accepts both)."""

from __future__ import annotations

from collections.abc import Iterable

from chaoslab.errors import AwsError
from chaoslab.services.ec2.models import az_id


def insufficient_capacity_message(instance_type: str, az: str, others: Iterable[str]) -> str:
    alternatives = ", ".join(sorted(o for o in others if o != az))
    tail = f" or choosing {alternatives}" if alternatives else ""
    return (
        f"We currently do not have sufficient {instance_type} capacity in the Availability Zone you requested "
        f"({az}). Our system will be working on provisioning additional capacity. You can currently get "
        f"{instance_type} capacity by not specifying an Availability Zone in your request{tail}."
    )


def insufficient_capacity(instance_type: str, az: str, others: Iterable[str]) -> AwsError:
    """The error itself: a server error (HTTP 500), so SDKs retry it as they retry any 5xx."""
    return AwsError(
        "InsufficientInstanceCapacity", insufficient_capacity_message(instance_type, az, others), 500, sender=False
    )


def zone_names(identifiers: str, zones: Iterable[str]) -> frozenset[str]:
    """The zones of `zones` a comma-separated list names by zone name or zone id."""
    wanted = {i.strip() for i in identifiers.split(",") if i.strip()}
    return frozenset(z for z in zones if z in wanted or az_id(z) in wanted)
