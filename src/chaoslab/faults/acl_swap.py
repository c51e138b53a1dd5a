"""A subnet's network ACL swapped for a deny ACL, as FIS's aws:network:disrupt-connectivity does
it: arming creates the ACL (no effect while nothing uses it), going associates the subnet with it,
reverting associates the subnet with its original ACL again and deletes the one made here.

The ACLs live in EC2's memory, so a crashed lab takes the swap with it; a revert that finds the
subnet, its association or the ACLs gone does nothing for them."""

from __future__ import annotations

from typing import Any

from chaoslab.faults.base import Fault, NetworkFaultError

ALLOW_REST = 32000  # after the per-CIDR denies of scope availability-zone


class AclSwap(Fault):
    """`subnet_id`'s ACL swapped for one denying `scope`: `all` (everything across the subnet's
    edge) or `availability-zone` (only `other_az_cidrs`, the VPC's subnets in other zones)."""

    name = "ec2.network_acl_swap"

    def __init__(self, lab: Any, subnet_id: str, scope: str, other_az_cidrs: list[str], target: str) -> None:
        self.lab, self.subnet_id, self.scope, self.target = lab, subnet_id, scope, target
        self.other_az_cidrs = other_az_cidrs
        self._association = self._acl_id = ""

    async def arm(self) -> dict[str, Any]:
        acls = self.lab.ec2.network_acls
        current = acls.of_subnet(self.subnet_id)
        if current is None:
            raise NetworkFaultError(f"subnet {self.subnet_id} has no network ACL association")
        self._association, original = current
        deny = acls.create(original.vpc_id, {"managedByFIS": "true"})
        self._acl_id = deny.acl_id
        if self.scope == "availability-zone":
            for egress in (False, True):
                for i, cidr in enumerate(self.other_az_cidrs):
                    acls.add_entry(deny, _entry(acls, 100 + i, "deny", egress, cidr))
                acls.add_entry(deny, _entry(acls, ALLOW_REST, "allow", egress, "0.0.0.0/0"))
        return {
            "target": self.target,
            "subnet_id": self.subnet_id,
            "acl_id": deny.acl_id,
            "original_acl_id": original.acl_id,
        }

    async def go(self) -> None:
        self.lab.ec2.network_acls.replace_association(self._association, self._acl_id)
        await self.lab.ec2.firewall.refresh()

    @classmethod
    async def revert(cls, lab: Any, record: dict[str, Any]) -> None:
        ec2 = getattr(lab, "ec2", None)
        if ec2 is None:
            return
        acls = ec2.network_acls
        current = acls.of_subnet(record["subnet_id"])
        if current is not None and current[1].acl_id == record["acl_id"]:
            original = record["original_acl_id"]
            if original not in acls.acls:  # deleted meanwhile: the VPC's default takes the subnet
                original = next(a.acl_id for a in acls.acls.values() if a.is_default and a.vpc_id == current[1].vpc_id)
            acls.replace_association(current[0], original)
        if record["acl_id"] in acls.acls and not acls.associations_of(record["acl_id"]):
            acls.delete(record["acl_id"])
        await ec2.firewall.refresh()


def _entry(acls: Any, number: int, action: str, egress: bool, cidr: str) -> Any:
    return acls.entry(
        {"RuleNumber": number, "Protocol": "-1", "RuleAction": action, "Egress": egress, "CidrBlock": cidr}
    )
