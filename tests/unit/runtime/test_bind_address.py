"""`chaoslab up --bind ADDR`: which addresses the lab's client listeners may take, and that the
choice reaches the lab process."""

from __future__ import annotations

import pytest

from chaoslab.errors import ChaoslabError
from chaoslab.labctl import daemon_args
from chaoslab.net.bind import bind_address, exposure_warning


def test_a_specific_address_is_taken_as_given() -> None:
    assert bind_address("127.0.0.2", userns=True) == "127.0.0.2"


@pytest.mark.parametrize(
    ("value", "userns", "why"),
    [
        ("0.0.0.0", False, "wildcard"),
        ("::1", False, "IPv6"),
        ("lab.example", False, "not an IP address"),
        ("203.0.113.77", True, "loopback only"),
        ("203.0.113.77", False, "cannot listen there"),
    ],
)
def test_wildcards_names_and_non_loopback_in_userns_are_refused(value: str, userns: bool, why: str) -> None:
    with pytest.raises(ChaoslabError, match=why):
        bind_address(value, userns=userns)


def test_the_address_reaches_the_daemon_and_the_warning_says_what_is_exposed() -> None:
    assert daemon_args(None, False, None, "auto", bind="203.0.113.77")[:4] == [
        "--network",
        "auto",
        "--bind",
        "203.0.113.77",
    ]
    assert "--bind" not in daemon_args(None, False, None, "auto")
    assert "203.0.113.77" in exposure_warning("203.0.113.77") and "test/test" in exposure_warning("203.0.113.77")
