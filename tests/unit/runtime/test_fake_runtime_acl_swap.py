"""disrupt-connectivity's ACL swap (faults/acl_swap.py) on real EC2 backends without processes:
arming makes the deny ACL without effect, going swaps the subnet onto it, reverting restores the
original association and deletes the deny ACL — idempotently, and without a lab at all after a
crash. https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html#disrupt-connectivity"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest
from fake_lab import fake_lab

from chaoslab.faults.acl_swap import AclSwap


@pytest.mark.parametrize("scope", ["all", "availability-zone"])
def test_swap_goes_and_reverts_once(tmp_path: Path, scope: str) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        acls = lab.ec2.network_acls
        subnet = lab.ec2.subnet("us-east-1a").subnet_id
        _, original = acls.of_subnet(subnet)
        swap = AclSwap(lab, subnet, scope, ["10.0.11.0/24"], f"arn:subnet/{subnet}")
        journal: list[dict[str, object]] = []
        record = await swap.apply(lambda _name, rec: journal.append(rec))
        assert journal == [record] and record["original_acl_id"] == original.acl_id
        _, deny = acls.of_subnet(subnet)
        assert deny.acl_id == record["acl_id"] and deny.tags == {"managedByFIS": "true"}
        if scope == "all":
            assert deny.rules(egress=False) == [] and deny.rules(egress=True) == []
        else:
            assert [(e.number, e.allow, e.cidr) for e in deny.rules(egress=False)] == [
                (100, False, "10.0.11.0/24"),
                (32000, True, "0.0.0.0/0"),
            ]
        assert acls.of_subnet(lab.ec2.subnet("us-east-1b").subnet_id)[1] is original  # other subnets untouched
        await AclSwap.revert(lab, record)
        await AclSwap.revert(lab, record)  # an action end and a crash replay may both revert
        assert acls.of_subnet(subnet)[1] is original and record["acl_id"] not in acls.acls
        await AclSwap.revert(SimpleNamespace(), record)  # the watchdog has no EC2: nothing to do

    asyncio.run(scenario())
