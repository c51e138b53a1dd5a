"""Network ACLs as EC2 keeps them: per VPC, numbered stateless allow/deny entries for each
direction, and exactly one ACL associated with each subnet.

Pure: no I/O and no lab. The rules of AWS this holds to (docs/network-security.md):
* every VPC has a default ACL (allow everything both ways, rule 100) that every subnet starts
  associated with and that cannot be deleted;
* a new ACL denies everything until entries are added; every ACL ends with the `*` rule
  (shown as number 32767) that denies what no entry matched;
* entries are evaluated lowest number first, the first match decides; numbers are 1-32766 and
  unique per direction (NetworkAclEntryAlreadyExists);
* an ACL still associated with a subnet cannot be deleted (DependencyViolation).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.ids import hex_id

LAST_RULE = 32767  # the `*` rule
_PROTOCOLS = {"-1": "-1", "all": "-1", "6": "6", "tcp": "6", "17": "17", "udp": "17", "1": "1", "icmp": "1"}
NAMES = {"6": "tcp", "17": "udp", "1": "icmp"}


@dataclass(frozen=True)
class AclEntry:
    number: int
    egress: bool
    protocol: str  # "-1" (all), "6", "17" or "1", as AWS reports it
    allow: bool
    cidr: str
    from_port: int | None = None
    to_port: int | None = None

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "RuleNumber": self.number,
            "Protocol": self.protocol,
            "RuleAction": "allow" if self.allow else "deny",
            "Egress": self.egress,
            "CidrBlock": self.cidr,
        }
        if self.from_port is not None:
            record["PortRange"] = {"From": self.from_port, "To": self.to_port}
        return record


@dataclass
class NetworkAcl:
    acl_id: str
    vpc_id: str
    is_default: bool
    entries: list[AclEntry] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    def rules(self, egress: bool) -> list[AclEntry]:
        """One direction's entries in evaluation order, without the `*` rule."""
        return sorted((e for e in self.entries if e.egress == egress), key=lambda e: e.number)

    def to_record(self, account: str, associations: list[tuple[str, str]]) -> dict[str, Any]:
        entries = [
            e.to_record()
            for egress in (True, False)
            for e in [*self.rules(egress), AclEntry(LAST_RULE, egress, "-1", False, "0.0.0.0/0")]
        ]
        return {
            "NetworkAclId": self.acl_id,
            "VpcId": self.vpc_id,
            "IsDefault": self.is_default,
            "OwnerId": account,
            "Entries": entries,
            "Associations": [
                {"NetworkAclAssociationId": assoc, "NetworkAclId": self.acl_id, "SubnetId": subnet}
                for assoc, subnet in associations
            ],
            "Tags": [{"Key": k, "Value": v} for k, v in self.tags.items()],
        }


def _not_found(acl_id: str) -> AwsError:
    return AwsError("InvalidNetworkAclID.NotFound", f"The networkAcl ID '{acl_id}' does not exist")


class NetworkAcls:
    """Every ACL of the lab and every subnet's association (association id → (ACL, subnet))."""

    def __init__(self) -> None:
        self.acls: dict[str, NetworkAcl] = {}
        self.associations: dict[str, tuple[str, str]] = {}

    def create(self, vpc_id: str, tags: dict[str, str] | None = None, default: bool = False) -> NetworkAcl:
        acl = NetworkAcl("acl-" + hex_id(17), vpc_id, default, tags=dict(tags or {}))
        if default:
            acl.entries = [AclEntry(100, egress, "-1", True, "0.0.0.0/0") for egress in (False, True)]
        self.acls[acl.acl_id] = acl
        return acl

    def create_default(self, vpc_id: str, subnet_ids: list[str]) -> NetworkAcl:
        """A VPC's default ACL, associated with each of its subnets."""
        acl = self.create(vpc_id, default=True)
        for subnet in subnet_ids:
            self.associations["aclassoc-" + hex_id(17)] = (acl.acl_id, subnet)
        return acl

    def get(self, acl_id: str) -> NetworkAcl:
        acl = self.acls.get(acl_id)
        if acl is None:
            raise _not_found(acl_id)
        return acl

    def delete(self, acl_id: str) -> None:
        acl = self.get(acl_id)
        if acl.is_default:
            raise AwsError("InvalidParameterValue", f"cannot delete default network ACL {acl_id}")
        if any(a == acl_id for a, _ in self.associations.values()):
            raise AwsError("DependencyViolation", f"The networkAcl '{acl_id}' has dependencies and cannot be deleted.")
        del self.acls[acl_id]

    def associations_of(self, acl_id: str) -> list[tuple[str, str]]:
        return [(assoc, subnet) for assoc, (a, subnet) in self.associations.items() if a == acl_id]

    def of_subnet(self, subnet_id: str) -> tuple[str, NetworkAcl] | None:
        """The subnet's association id and ACL."""
        for assoc, (acl_id, subnet) in self.associations.items():
            if subnet == subnet_id:
                return assoc, self.acls[acl_id]
        return None

    def replace_association(self, association_id: str, acl_id: str) -> str:
        """Move a subnet to another ACL of its VPC; the association gets a new id, as on AWS."""
        if association_id not in self.associations:
            raise AwsError("InvalidAssociationID.NotFound", f"The association ID '{association_id}' does not exist")
        acl = self.get(acl_id)
        old_acl, subnet = self.associations.pop(association_id)
        if self.acls[old_acl].vpc_id != acl.vpc_id:
            self.associations[association_id] = (old_acl, subnet)
            raise AwsError("InvalidParameterValue", f"Network ACL {acl_id} is not in the subnet's VPC.")
        new_id = "aclassoc-" + hex_id(17)
        self.associations[new_id] = (acl_id, subnet)
        return new_id

    # entries ---------------------------------------------------------------------------------
    @staticmethod
    def entry(params: dict[str, Any]) -> AclEntry:
        """An entry from CreateNetworkAclEntry / ReplaceNetworkAclEntry's members, checked."""
        number = int(params["RuleNumber"])
        if not 1 <= number <= 32766:
            raise AwsError("InvalidParameterValue", f"Invalid value '{number}' for ruleNumber. Must be 1-32766.")
        protocol = _PROTOCOLS.get(str(params["Protocol"]).lower())
        if protocol is None:
            raise AwsError("InvalidParameterValue", f"Invalid value '{params['Protocol']}' for protocol.")
        action = str(params["RuleAction"]).lower()
        if action not in ("allow", "deny"):
            raise AwsError("InvalidParameterValue", f"Invalid value '{params['RuleAction']}' for ruleAction.")
        cidr = params.get("CidrBlock")
        if not cidr:
            raise AwsError("MissingParameter", "The request must contain the parameter cidrBlock")
        try:
            cidr = str(ipaddress.IPv4Network(cidr, strict=False))
        except ValueError:
            raise AwsError("InvalidParameterValue", f"CIDR block {cidr} is malformed") from None
        lo = hi = None
        if protocol in ("6", "17"):
            ports = params.get("PortRange") or {}
            if ports.get("From") is None or ports.get("To") is None:
                raise AwsError("InvalidParameterValue", "TCP and UDP entries need a PortRange (From and To).")
            lo, hi = int(ports["From"]), int(ports["To"])
            if not (0 <= lo <= hi <= 65535):
                raise AwsError("InvalidParameterValue", f"Invalid port range {lo}-{hi}.")
        return AclEntry(number, bool(params["Egress"]), protocol, action == "allow", cidr, lo, hi)

    def add_entry(self, acl: NetworkAcl, entry: AclEntry) -> None:
        if any(e.number == entry.number and e.egress == entry.egress for e in acl.entries):
            raise AwsError(
                "NetworkAclEntryAlreadyExists", f"The network acl entry identified by {entry.number} already exists."
            )
        acl.entries.append(entry)

    def remove_entry(self, acl: NetworkAcl, number: int, egress: bool) -> AclEntry:
        found = next((e for e in acl.entries if e.number == number and e.egress == egress), None)
        if found is None:
            raise AwsError(
                "InvalidNetworkAclEntry.NotFound",
                f"The network ACL entry identified by {number} ({'egress' if egress else 'ingress'}) does not exist.",
            )
        acl.entries.remove(found)
        return found

    def replace_entry(self, acl: NetworkAcl, entry: AclEntry) -> None:
        self.remove_entry(acl, entry.number, entry.egress)
        acl.entries.append(entry)
