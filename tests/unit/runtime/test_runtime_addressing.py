"""The address plan: AWS-reserved addresses, no reuse of live addresses, legal interface names."""

import pytest

from chaoslab.errors import AwsError
from chaoslab.runtime import addressing as plan
from chaoslab.runtime.network import detect_mode


def test_subnet_pool_skips_aws_reserved_and_broadcast():
    pool = plan.AddressPool.for_subnet("10.0.10.0/24", "10.0.0.0/16")
    assert pool.allocate() == "10.0.10.4"
    assert pool.allocate() == "10.0.10.5"
    small = plan.AddressPool.for_subnet("10.0.20.0/28", "10.0.0.0/16")
    got = [small.allocate() for _ in range(11)]
    assert got[0] == "10.0.20.4" and got[-1] == "10.0.20.14"  # .15 is the broadcast address
    with pytest.raises(AwsError) as err:
        small.allocate()
    assert err.value.code == "InsufficientFreeAddressesInSubnet"


def test_pool_never_hands_out_a_live_address_and_reuses_released_ones_last():
    pool = plan.AddressPool.for_subnet("10.0.20.0/29", "10.0.0.0/16")  # .4 .5 .6 usable
    a, b, c = pool.allocate(), pool.allocate(), pool.allocate()
    assert len({a, b, c}) == 3
    pool.release(b)
    assert pool.allocate() == b  # the only free one
    pool.release(a)
    pool.release(c)
    assert pool.allocate() == c  # the cursor moves on past b, not back to a
    assert pool.allocate() == a  # then wraps
    assert pool.in_use == frozenset({a, b, c})


def test_subnet_outside_vpc_is_rejected():
    with pytest.raises(ValueError):
        plan.AddressPool.for_subnet("10.1.0.0/24", "10.0.0.0/16")


def test_loopback_plan_uses_one_block_per_az_and_leaves_127_0_0_alone():
    a = plan.AddressPool.for_loopback(0)
    b = plan.AddressPool.for_loopback(1)
    assert a.allocate() == "127.0.1.4"
    assert b.allocate() == "127.0.2.4"


def test_names_fit_linux_interface_limit_and_carry_our_prefixes():
    netns, veth = plan.sandbox_names()
    bridge = plan.bridge_name("run-123", "vpc-abc")
    assert netns.startswith(plan.NETNS_PREFIX) and veth.startswith(plan.VETH_PREFIX)
    assert bridge.startswith(plan.BRIDGE_PREFIX)
    assert max(len(veth), len(bridge)) <= plan.IFNAMSIZ
    assert plan.bridge_name("run-123", "vpc-abc") == bridge
    assert plan.bridge_name("run-124", "vpc-abc") != bridge
    assert plan.sandbox_names() != (netns, veth)


def test_mac_is_locally_administered_and_derived_from_ip():
    assert plan.mac_for("10.0.10.4") == "02:00:0a:00:0a:04"


def test_service_and_gateway_addresses():
    assert plan.service_address("10.0.0.0/16") == "10.0.0.2"
    assert plan.gateway_address("10.0.11.0/24") == "10.0.11.1"


def test_explicit_mode_is_honoured():
    assert detect_mode("loopback") == "loopback"
    assert detect_mode("netns") == "netns"
    assert detect_mode("auto") in ("netns", "loopback")
