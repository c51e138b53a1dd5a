"""Initialized data directories, kept once and copied: a cluster's writer starts from a copy.

initdb and CREATE DATABASE take two to three seconds on a loaded two-core machine; copying the
files they leave takes a tenth of that. The first writer with a given PostgreSQL build, master
user, password, database and settings is made the long way, then stopped cleanly and its data
directory kept here; every later one is a copy (`cp -a`, which keeps the PostgreSQL user's
ownership). Copies of a cleanly shut-down cluster are ordinary clusters, each starting from the
same checkpoint, so nothing downstream (replicas, pg_rewind, failover) can tell them apart.

The directory is shared by every lab of the user (root: beside the wheel's copy under /var/tmp),
mode 0700, since a data directory holds the master password's verifier. It keeps the `KEEP` most
recently used templates (each ~30 MB): every distinct password or database name makes one, and a
test suite that varies them had left a hundred (4.7 GB) before there was a limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import uuid
from pathlib import Path

from chaoslab.errors import ChaoslabError
from chaoslab.runtime.hostcaps import single_uid_namespace

FORMAT = "2"  # bump when what a template holds changes in a way its key does not capture (2: 1 MB WAL segments)
KEEP = 8  # templates kept; the least recently used beyond this are deleted when one is published


def default_root(pg_base: Path) -> Path:
    """Root on the host: beside the other PostgreSQL files under /var/tmp (as `pg_root` decides);
    anyone else: the user's cache dir, which outlives one lab's state dir."""
    if os.geteuid() == 0 and not single_uid_namespace():
        return pg_base / "templates"
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "chaoslab" / "pg-templates"


def template_key(bindir: Path, superuser: str, password: str, database: str | None, config: str) -> str:
    """Everything that makes two initialized clusters differ: the build (path, size and mtime of
    its `postgres`), the master user and password, the database and the configuration text."""
    binary = (bindir / "postgres").resolve()
    st = binary.stat()
    parts = [FORMAT, str(binary), str(st.st_size), str(st.st_mtime_ns), superuser, password, database or "", config]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


class DataTemplates:
    """Data directories by key under `root`; published atomically, so two labs building the same
    one at once both succeed and one copy is kept."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def lookup(self, key: str) -> Path | None:
        path = self.root / key
        return path if (path / "PG_VERSION").is_file() else None

    async def copy_to(self, key: str, data_dir: Path) -> bool:
        """Fill `data_dir` (must not exist) with template `key`; False when there is none (or
        another lab evicted it during the copy: the caller then builds one the long way)."""
        source = self.lookup(key)
        if source is None:
            return False
        with contextlib.suppress(OSError):
            os.utime(source)  # its mtime is its last use, which eviction goes by
        try:
            await _cp(source, data_dir)
        except ChaoslabError:
            if self.lookup(key) is not None:
                raise
            shutil.rmtree(data_dir, ignore_errors=True)
            return False
        return True

    async def publish(self, key: str, data_dir: Path) -> None:
        """Keep a copy of `data_dir` (a cleanly stopped cluster) as template `key`."""
        if self.lookup(key) is not None:
            return
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        staging = self.root / f".staging-{uuid.uuid4().hex}"
        try:
            await _cp(data_dir, staging)
            for leftover in ("postmaster.pid", "postmaster.opts"):
                (staging / leftover).unlink(missing_ok=True)
            try:
                staging.rename(self.root / key)
            except OSError:  # another lab published the same template first
                pass
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        self.evict(keep=KEEP)

    def evict(self, keep: int) -> list[str]:
        """Delete all but the `keep` most recently used templates; returns the keys deleted.
        Each is renamed away first, so no lab ever finds half of one."""
        kept = sorted(
            (p for p in self.root.iterdir() if not p.name.startswith(".") and (p / "PG_VERSION").is_file()),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        gone = []
        for old in kept[keep:]:
            doomed = self.root / f".evicted-{uuid.uuid4().hex}"
            try:
                old.rename(doomed)
            except OSError:  # another lab evicted it first
                continue
            shutil.rmtree(doomed, ignore_errors=True)
            gone.append(old.name)
        return gone


async def _cp(source: Path, dest: Path) -> None:
    """A copy with owners, modes and times kept (the PostgreSQL user owns the files when we are root)."""
    proc = await asyncio.create_subprocess_exec(
        "cp", "-a", "--", str(source), str(dest), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise ChaoslabError(
            f"copying PostgreSQL data {source} -> {dest} failed: {out.decode(errors='replace').strip()}"
        )
