"""The address plan, as pure logic: which IP a new unit gets, which names host interfaces take.

Kept free of side effects so the rules (AWS-reserved addresses, no reuse of a live address,
15-character interface names) are unit-testable without root.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets

from chaoslab.errors import AwsError

# AWS reserves the network address, .1 (router), .2 (DNS), .3 (future) and the broadcast address
# of every subnet; units get addresses from .4 on, as ENIs do.
AWS_RESERVED_LOW = 4

# Name prefixes of everything we create on the host; cleanup refuses to touch other names.
NETNS_PREFIX = "cl-"
BRIDGE_PREFIX = "clb-"
VETH_PREFIX = "clv-"
IFNAMSIZ = 15  # Linux interface names are at most 15 characters.


def bridge_name(lab_run: str, vpc_id: str) -> str:
    """Short, stable and unique per (lab run, VPC), e.g. `clb-3fa9c1`."""
    digest = hashlib.sha1(f"{lab_run}/{vpc_id}".encode()).hexdigest()[:6]
    return BRIDGE_PREFIX + digest


def sandbox_names() -> tuple[str, str]:
    """A fresh (netns, host veth) name pair for one unit, e.g. (`cl-1a2b3c4d`, `clv-1a2b3c4d`)."""
    token = secrets.token_hex(4)
    return NETNS_PREFIX + token, VETH_PREFIX + token


def mac_for(ip: str) -> str:
    """A locally administered MAC derived from the IP, so a reused address keeps its MAC and
    stale ARP entries elsewhere in the VPC stay correct."""
    octets = ipaddress.IPv4Address(ip).packed
    return "02:00:" + ":".join(f"{b:02x}" for b in octets)


def service_address(vpc_cidr: str) -> str:
    """The VPC's `.2` (where AWS puts its DNS resolver): lab services listen here for units."""
    return str(ipaddress.IPv4Network(vpc_cidr).network_address + 2)


def gateway_address(subnet_cidr: str) -> str:
    """The first host of a subnet: the host's address on the bridge for that subnet."""
    return str(ipaddress.IPv4Network(subnet_cidr).network_address + 1)


def loopback_address(az_index: int, n: int) -> str:
    """Loopback mode's unit address `127.0.<1 + az index>.<n>` (127.0.0.x stays the host's)."""
    return f"127.0.{1 + az_index}.{n}"


class AddressPool:
    """Hands out the next free address of one subnet (or loopback block) and takes it back.

    The cursor moves forward and wraps, so a just-released address is handed out again only
    when the rest of the range is taken: peers' caches and the ALB's old connections forget it.
    """

    def __init__(self, candidates: list[str]) -> None:
        self._candidates = candidates
        self._in_use: set[str] = set()
        self._cursor = 0

    @classmethod
    def for_subnet(cls, subnet_cidr: str, vpc_cidr: str) -> AddressPool:
        subnet = ipaddress.IPv4Network(subnet_cidr)
        vpc = ipaddress.IPv4Network(vpc_cidr)
        if not subnet.subnet_of(vpc):
            raise ValueError(f"subnet {subnet_cidr} is not inside VPC {vpc_cidr}")
        hosts = [str(a) for a in subnet.hosts()][AWS_RESERVED_LOW - 1 :]
        return cls(hosts)

    @classmethod
    def for_loopback(cls, az_index: int) -> AddressPool:
        return cls([loopback_address(az_index, n) for n in range(AWS_RESERVED_LOW, 255)])

    def allocate(self) -> str:
        size = len(self._candidates)
        for step in range(size):
            ip = self._candidates[(self._cursor + step) % size]
            if ip not in self._in_use:
                self._in_use.add(ip)
                self._cursor = (self._cursor + step + 1) % size
                return ip
        raise AwsError("InsufficientFreeAddressesInSubnet", "no free address left in this subnet", 400)

    def release(self, ip: str) -> None:
        self._in_use.discard(ip)

    @property
    def in_use(self) -> frozenset[str]:
        return frozenset(self._in_use)
