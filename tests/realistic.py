"""The marks for tests that need something of the host, decided by one rule each
(`chaoslab.runtime.hostcaps.probe` for namespaces, `fuse_unavailable` for volume I/O). `tests/conftest.py` skips such a test where
the host lacks the thing, and fails it instead when the run must be complete (CI)."""

from __future__ import annotations

import pytest

# The lab (a daemon started like `chaoslab up`) can run its realistic mode: netns or userns.
needs_realistic_mode = pytest.mark.realistic
# This test process itself builds or inspects network namespaces: root's netns mode.
needs_netns_here = pytest.mark.netns_here
# Headless Chromium renders pages (reports, the dashboard).
needs_chromium = pytest.mark.chromium
# The lab can give volumes a FUSE mount whose I/O it pauses and slows.
needs_fuse = pytest.mark.fuse
# The lab can run container images (podman as root) and a test image can be built offline.
needs_containers = pytest.mark.containers
