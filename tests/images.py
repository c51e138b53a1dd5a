"""Tiny container images for tests, built offline (no registry is reachable): `FROM scratch`
plus the distribution's static busybox, so the image has a shell, an HTTP server and coreutils
and nothing else (no Python)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSYBOX = Path("/bin/busybox")
CONTAINERFILE = (
    "FROM scratch\nCOPY busybox /bin/busybox\nCOPY index.html /www/index.html\nWORKDIR /www\nENV PATH=/bin:/opt/tools\n"
    'ENTRYPOINT ["/bin/busybox"]\n'
)
IMAGE_PATH = "/bin:/opt/tools"  # the image's own PATH, which a container keeps
PAGE = "served from a container image\n"  # /www/index.html, what `httpd -h /www` answers at /


def static_busybox() -> bool:
    """A busybox that needs no libraries (busybox-static), so it runs in an empty image."""
    if not BUSYBOX.exists():
        return False
    out = subprocess.run(["ldd", str(BUSYBOX)], capture_output=True, text=True)
    return "not a dynamic executable" in out.stdout + out.stderr


def podman(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=120)


@contextmanager
def busybox_image() -> Iterator[str]:
    """Build the image under a fresh local tag; yields the tag and removes the image after."""
    tag = f"localhost/chaoslab-test-busybox:{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as d:
        shutil.copy(BUSYBOX, Path(d) / "busybox")
        (Path(d) / "index.html").write_text(PAGE)
        (Path(d) / "Containerfile").write_text(CONTAINERFILE)
        built = podman("build", "-q", "-t", tag, d)
        assert built.returncode == 0, f"podman build failed: {built.stderr}"
    try:
        yield tag
    finally:
        podman("rmi", "-f", tag)
