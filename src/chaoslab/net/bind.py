"""Where the lab's client-facing listeners (AWS API and dashboard, ALB listeners) may listen when
the user asks for something other than loopback (`chaoslab up --bind ADDR`, docs/security.md)."""

from __future__ import annotations

import ipaddress
import socket

from chaoslab.errors import ChaoslabError


def bind_address(value: str, *, userns: bool) -> str:
    """`value` if the lab can listen there and still tell its own requests apart; else why not.

    A wildcard address is refused: the lab answers only requests whose `Host` names its address,
    so clients must use one address, the one bound. IPv4 only: the lab writes its URLs as
    `http://host:port`. In `userns` mode the lab's sockets live in a
    namespace of its own and only loopback ones are bound on the host for it."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ChaoslabError(f"--bind {value}: not an IP address", hint="give the address clients will use") from None
    if address.version == 6:
        raise ChaoslabError(f"--bind {value}: IPv6 listeners are not supported", hint="give an IPv4 address")
    if address.is_unspecified:
        raise ChaoslabError(
            f"--bind {value}: a wildcard address is refused",
            hint="give the one address clients will use (the lab refuses requests addressed to other names)",
        )
    if userns and not address.is_loopback:
        raise ChaoslabError(
            f"--bind {value}: in userns mode the lab can listen on loopback only",
            hint="run as root (netns mode) or with --network loopback to listen elsewhere",
        )
    try:
        with socket.socket(socket.AF_INET) as probe:
            probe.bind((str(address), 0))
    except OSError as exc:
        raise ChaoslabError(
            f"--bind {value}: cannot listen there: {exc.strerror}", hint="give an address of this machine"
        ) from None
    return str(address)


def exposure_warning(host: str) -> str:
    return (
        f"the AWS API, the dashboard and the ALB listeners listen on {host}: whoever can reach it can "
        "call the lab with its public credentials (test/test), read its token from the dashboard "
        "page and run commands in its units"
    )
