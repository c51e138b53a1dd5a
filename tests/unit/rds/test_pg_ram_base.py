"""Where PostgreSQL's data goes: /dev/shm when it is a tmpfs with room, else the disk."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from chaoslab.services.rds import postgres
from chaoslab.services.rds.postgres import RAM_MIN_BYTES, pg_root, ram_base


@pytest.fixture(autouse=True)
def fresh_choice() -> Iterator[None]:
    ram_base.cache_clear()
    yield
    ram_base.cache_clear()


def _shm_with(free: int, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.statvfs

    def statvfs(path: object) -> object:
        if str(path) == "/dev/shm":
            return SimpleNamespace(f_bavail=free // 4096, f_frsize=4096)
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(postgres.os, "statvfs", statvfs)


def test_a_roomy_tmpfs_holds_every_labs_data_apart(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if not postgres._is_tmpfs(Path("/dev/shm")):
        pytest.skip("this host's /dev/shm is not a tmpfs")
    _shm_with(RAM_MIN_BYTES, monkeypatch)
    base = ram_base()
    assert base is not None and base.parent == Path("/dev/shm") and base.stat().st_uid == os.geteuid()
    one, two = pg_root(tmp_path / "one"), pg_root(tmp_path / "two")
    assert one.parent == two.parent == base and one != two


def test_a_small_or_full_shm_leaves_the_data_on_disk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _shm_with(RAM_MIN_BYTES - 1, monkeypatch)  # a container's 64 MB, or a tmpfs already full
    assert ram_base() is None
    assert not pg_root(tmp_path).is_relative_to("/dev/shm")


def test_someone_elses_dir_on_shm_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    _shm_with(RAM_MIN_BYTES, monkeypatch)
    monkeypatch.setattr(postgres, "_is_tmpfs", lambda _path: True)

    def refuse(path: Path, mode: int = 0o755) -> None:
        raise postgres.ChaoslabError(f"{path} belongs to another user")

    monkeypatch.setattr(postgres, "_own_dir", refuse)
    assert ram_base() is None
