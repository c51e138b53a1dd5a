"""Fixtures for runtime integration tests: a fresh store, a VPC range nobody else routes, and a
guard that asserts no namespace or link of ours outlives the test."""

from __future__ import annotations

import ipaddress
import random
import uuid
from pathlib import Path

import pytest
from runtime_hostprobe import host_links, host_netns, host_routes

from chaoslab.runtime import addressing
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
    """A /16 in 10.200-254 (the band of the shared-range test stream) that no route on this host covers (other engineers' labs may be
    running the default 10.0.0.0/16 right now)."""
    routes = host_routes()
    for _ in range(50):
        second = random.randint(200, 254)
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
def no_leftovers(monkeypatch: pytest.MonkeyPatch, vpc: tuple[str, dict[str, str]]):
    """After the test, nothing of its own is left on the host: no namespace, link or route this
    process's runtime named (other labs on the host, root ones from a test stream running beside
    this one, make theirs; those are none of this test's business), and no route it added."""
    named: set[str] = set()

    def recorded(make):
        def wrapper(*args, **kwargs):
            names = make(*args, **kwargs)
            named.update([names] if isinstance(names, str) else names)
            return names

        return wrapper

    monkeypatch.setattr(addressing, "sandbox_names", recorded(addressing.sandbox_names))
    monkeypatch.setattr(addressing, "bridge_name", recorded(addressing.bridge_name))
    routes_before = _our_routes()
    yield
    left_ns = named & host_netns()
    left_links = named & host_links()
    assert not left_ns, f"namespaces left behind: {left_ns}"
    assert not left_links, f"links left behind: {left_links}"
    prefix = vpc[0].rsplit(".", 2)[0] + "."  # "10.<n>."
    new_routes = {r for r in _our_routes() - routes_before if prefix in r or any(n in r for n in named)}
    assert not new_routes, f"routes left behind: {new_routes}"


def _our_routes() -> set[str]:
    return {r.strip() for r in host_routes().splitlines() if r.startswith("unreachable") or "clb-" in r}
