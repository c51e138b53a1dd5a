"""Where loopback units really serve their ports when privileged ports are out of reach."""

from __future__ import annotations

import pytest

from chaoslab.runtime import ports


@pytest.fixture
def unprivileged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ports, "unprivileged_port_start", lambda: 1024)


def test_privileged_ports_of_loopback_units_move_up(unprivileged: None) -> None:
    assert ports.unit_port("127.0.1.4", 80) == 80 + ports.LOOPBACK_PORT_OFFSET
    assert ports.unit_port("127.0.2.9", 443) == 443 + ports.LOOPBACK_PORT_OFFSET
    assert ports.remapped()


def test_unprivileged_ports_and_other_addresses_stay(unprivileged: None) -> None:
    assert ports.unit_port("127.0.1.4", 8080) == 8080
    assert ports.unit_port("127.0.0.1", 80) == 80  # the host's own loopback is not a unit
    assert ports.unit_port("10.0.10.4", 80) == 80  # a unit in its own namespace owns its ports
    assert ports.unit_port("not-an-ip", 80) == 80


def test_nothing_moves_where_every_port_may_be_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ports, "unprivileged_port_start", lambda: 0)
    assert ports.unit_port("127.0.1.4", 80) == 80
    assert not ports.remapped()
