"""Fixtures for runtime integration tests: a fresh store, a VPC range nobody else routes, and a
guard that asserts no namespace or link of ours outlives the test."""

from __future__ import annotations

import ipaddress
import random
import uuid
from pathlib import Path

import pytest
from runtime_hostprobe import host_links, host_netns, host_routes

from chaoslab.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "state.db")
    yield s
    s.close()


@pytest.fixture
def lab_run() -> str:
    return "test-" + uuid.uuid4().hex[:8]


@pytest.fixture
def vpc() -> tuple[str, dict[str, str]]:
    """A /16 in 10.128.0.0/9 that no route on this host covers (other engineers' labs may be
    running the default 10.0.0.0/16 right now)."""
    routes = host_routes()
    for _ in range(50):
        second = random.randint(128, 254)
        cidr = f"10.{second}.0.0/16"
        net = ipaddress.IPv4Network(cidr)
        if not any(_overlaps(line, net) for line in routes.splitlines()):
            return cidr, {"us-east-1a": f"10.{second}.10.0/24", "us-east-1b": f"10.{second}.11.0/24"}
    pytest.skip("no free 10.x.0.0/16 on this host")


def _overlaps(route_line: str, net: ipaddress.IPv4Network) -> bool:
    words = route_line.split()
    for word in words[:2]:
        try:
            return ipaddress.IPv4Network(word, strict=False).overlaps(net)
        except ValueError:
            continue
    return False


@pytest.fixture
def no_leftovers():
    """Snapshot host networking; after the test, assert nothing new of ours is left."""
    netns_before, links_before, routes_before = host_netns(), host_links(), _our_routes()
    yield
    new_ns = {n for n in host_netns() - netns_before if n.startswith("cl-")}
    new_links = {n for n in host_links() - links_before if n.startswith(("clb-", "clv-"))}
    assert not new_ns, f"namespaces left behind: {new_ns}"
    assert not new_links, f"links left behind: {new_links}"
    new_routes = _our_routes() - routes_before
    assert not new_routes, f"routes left behind: {new_routes}"


def _our_routes() -> set[str]:
    return {r.strip() for r in host_routes().splitlines() if r.startswith("unreachable") or "clb-" in r}
