"""Cloud Map's DNS rules, pure: which record sets a service may ask for, which attributes an
instance must carry for them, and the answers Route 53 gives for a service's names.

AWS facts relied on (docs/service-discovery.md): a service's records are A, AAAA, SRV or CNAME,
each type once; CNAME stands alone and needs WEIGHTED routing; an A record needs the instance's
AWS_INSTANCE_IPV4 and an SRV record its AWS_INSTANCE_PORT. An SRV answer is `1 1 <port>
<instance-id>.<service>.<namespace>`, and that target name gets an A record of its own. With
MULTIVALUE routing Route 53 answers up to eight healthy records (up to eight unhealthy ones when
none is healthy); with WEIGHTED routing, one record. An instance without a health check counts
as healthy.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chaoslab.errors import AwsError

RECORD_TYPES = ("A", "AAAA", "SRV", "CNAME")
ROUTING_POLICIES = ("MULTIVALUE", "WEIGHTED")
MULTIVALUE_MAX = 8
IPV4 = "AWS_INSTANCE_IPV4"
IPV6 = "AWS_INSTANCE_IPV6"
PORT = "AWS_INSTANCE_PORT"
CNAME = "AWS_INSTANCE_CNAME"
INIT_HEALTH = "AWS_INIT_HEALTH_STATUS"


def invalid(message: str) -> AwsError:
    return AwsError("InvalidInput", message)


def check_dns_config(records: Sequence[dict[str, Any]], routing_policy: str) -> None:
    """A service's DnsConfig as Cloud Map accepts it."""
    types = [r["Type"] for r in records]
    if not types:
        raise invalid("DnsConfig.DnsRecords must contain at least one record.")
    if len(set(types)) != len(types):
        raise invalid("DnsConfig.DnsRecords cannot contain the same record type more than once.")
    if routing_policy not in ROUTING_POLICIES:
        raise invalid(f"RoutingPolicy {routing_policy} is not valid.")
    if "CNAME" in types and (len(types) > 1 or routing_policy != "WEIGHTED"):
        raise invalid("A CNAME record must be the only record and requires the WEIGHTED routing policy.")


def check_attributes(record_types: Sequence[str], attributes: dict[str, str]) -> None:
    """The attributes RegisterInstance must carry for the service's record types."""
    if "A" in record_types and IPV4 not in attributes:
        raise invalid(f"{IPV4} is required for a service with an A record.")
    if "AAAA" in record_types and IPV6 not in attributes:
        raise invalid(f"{IPV6} is required for a service with an AAAA record.")
    if "CNAME" in record_types and CNAME not in attributes:
        raise invalid(f"{CNAME} is required for a service with a CNAME record.")
    if "SRV" in record_types:
        if PORT not in attributes:
            raise invalid(f"{PORT} is required for a service with an SRV record.")
        if not attributes[PORT].isdigit() or not 0 <= int(attributes[PORT]) <= 65535:
            raise invalid(f"{PORT} must be a port number, not {attributes[PORT]!r}.")
    health = attributes.get(INIT_HEALTH)
    if health is not None and health not in ("HEALTHY", "UNHEALTHY"):
        raise invalid(f"{INIT_HEALTH} must be HEALTHY or UNHEALTHY.")


@dataclass(frozen=True)
class Endpoint:
    """What DNS needs of one registered instance."""

    instance_id: str
    attributes: dict[str, str]
    healthy: bool


@dataclass(frozen=True)
class Answer:
    """One resource record: its type, TTL and value (an address, or `prio weight port target`)."""

    rtype: str
    ttl: int
    value: str


def chosen(endpoints: Sequence[Endpoint], routing_policy: str, rng: random.Random | None = None) -> list[Endpoint]:
    """The instances a query's answer names, by Route 53's rules for the routing policy."""
    healthy = [e for e in endpoints if e.healthy]
    pool = healthy or list(endpoints)
    if not pool:
        return []
    if routing_policy == "WEIGHTED":
        return [(rng or random).choice(pool)]
    return pool[:MULTIVALUE_MAX]


def answers(
    qname: str,
    qtype: str,
    service_fqdn: str,
    records: Sequence[dict[str, Any]],
    routing_policy: str,
    endpoints: Sequence[Endpoint],
) -> list[Answer] | None:
    """The answer to `qtype` for `qname` (lowercase, no trailing dot) within one service's names,
    or None when the name is not one of them. An empty list is a name without that type."""
    ttls = {r["Type"]: int(r["TTL"]) for r in records}
    if qname == service_fqdn:
        picked = chosen(endpoints, routing_policy)
        if qtype == "A" and "A" in ttls:
            return [Answer("A", ttls["A"], e.attributes[IPV4]) for e in picked]
        if qtype == "AAAA" and "AAAA" in ttls:
            return [Answer("AAAA", ttls["AAAA"], e.attributes[IPV6]) for e in picked]
        if qtype == "SRV" and "SRV" in ttls:
            return [
                Answer("SRV", ttls["SRV"], f"1 1 {e.attributes[PORT]} {e.instance_id}.{service_fqdn}") for e in picked
            ]
        if qtype == "CNAME" and "CNAME" in ttls:
            return [Answer("CNAME", ttls["CNAME"], e.attributes[CNAME]) for e in picked]
        return []
    if "SRV" not in ttls or not qname.endswith("." + service_fqdn):
        return None
    instance = qname[: -len(service_fqdn) - 1]
    match = next((e for e in endpoints if e.instance_id.lower() == instance), None)
    if match is None:
        return None
    if qtype == "A" and IPV4 in match.attributes:
        return [Answer("A", ttls.get("A", ttls["SRV"]), match.attributes[IPV4])]
    if qtype == "AAAA" and IPV6 in match.attributes:
        return [Answer("AAAA", ttls.get("AAAA", ttls["SRV"]), match.attributes[IPV6])]
    return []
