"""One rule for tests that need something of the host: skipped where it is missing — except in
CI (`CI=true`) or with `CHAOSLAB_REQUIRE_REALISTIC=1`, where a missing capability fails the test,
so a green run cannot hide that the realistic mode, Chromium, FUSE, containers or PostgreSQL
never ran."""

from __future__ import annotations

import os
import shutil

import pytest

from chaoslab.runtime.hostcaps import fuse_unavailable, probe
from chaoslab.runtime.kinds.engine import unavailable_reason


def _must_run() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("CHAOSLAB_REQUIRE_REALISTIC") == "1"


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def containers_unavailable() -> str | None:
    """Why test images cannot be built and run here (None: they can)."""
    from images import BUSYBOX, static_busybox

    return unavailable_reason() or (None if static_busybox() else f"no static busybox at {BUSYBOX}")


def _missing(item: pytest.Item) -> str | None:
    """Why this host cannot run `item`, or None."""
    if item.get_closest_marker("realistic") and not probe().available:
        return f"the lab's realistic mode is unavailable here: {probe().reason}"
    if item.get_closest_marker("netns_here") and probe().mode != "netns":
        return (
            "this test builds network namespaces in its own process, which needs root on Linux "
            f"({probe().reason or 'here the lab would use a user namespace instead'})"
        )
    if item.get_closest_marker("fuse") and fuse_unavailable():
        return f"volumes cannot have faultable I/O here: {fuse_unavailable()} (make test installs FUSE as root)"
    if item.get_closest_marker("containers") and (why := containers_unavailable()):
        return f"{why} (make test installs podman and busybox-static with apt when run as root)"
    if item.get_closest_marker("chromium") and chromium_path() is None:
        return "chromium is not installed (make test installs it with apt when run as root)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    why = _missing(item)
    if why is None:
        return
    if _must_run():
        pytest.fail(f"required in CI but unavailable: {why}", pytrace=False)
    pytest.skip(why)
