"""Initialized data directories, kept once and copied: a cluster's writer starts from a copy.

initdb and CREATE DATABASE take two to three seconds on a loaded two-core machine; copying the
files they leave takes a tenth of that. The first writer with a given PostgreSQL build, master
user, password, database and settings is made the long way, then stopped cleanly and its data
directory kept here; every later one is a copy (`cp -a`, which keeps the PostgreSQL user's
ownership). Copies of a cleanly shut-down cluster are ordinary clusters, each starting from the
same checkpoint, so nothing downstream (replicas, pg_rewind, failover) can tell them apart.

The directory is shared by every lab of the user (root: beside the wheel's copy under /var/tmp),
mode 0700, since a data directory holds the master password's verifier.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import uuid
from pathlib import Path

from chaoslab.errors import ChaoslabError
from chaoslab.runtime.hostcaps import single_uid_namespace

FORMAT = "1"  # bump when what a template holds changes in a way its key does not capture


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
        """Fill `data_dir` (must not exist) with template `key`; False when there is none."""
        source = self.lookup(key)
        if source is None:
            return False
        await _cp(source, data_dir)
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
