"""The kept initialized data directories (services/rds/template.py) as files: what changes a
key, a copy that keeps the files, a publication that two labs may race. No postmaster here:
tests/integration/rds/test_rds_cluster.py starts clusters from one."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from chaoslab.errors import ChaoslabError
from chaoslab.services.rds import template
from chaoslab.services.rds.template import DataTemplates, template_key


def _bindir(tmp_path: Path) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "postgres").write_bytes(b"\x7fELF build one")
    return bindir


def _cluster(path: Path, marker: str) -> Path:
    (path / "base").mkdir(parents=True)
    (path / "PG_VERSION").write_text("18\n")
    (path / "base" / "1").write_text(marker)
    (path / "postmaster.opts").write_text("postgres -D ...")
    return path


def test_every_input_of_an_initialized_cluster_changes_its_key(tmp_path: Path) -> None:
    bindir = _bindir(tmp_path)
    base = ("master", "secret", "shop", "fsync = off")
    key = template_key(bindir, *base)
    assert template_key(bindir, *base) == key
    for i, other in enumerate(("other", "secret2", "shop2", "fsync = on")):
        changed = list(base)
        changed[i] = other
        assert template_key(bindir, *changed) != key, f"input {i} must change the key"
    assert template_key(bindir, "master", "secret", None, "fsync = off") != key
    (bindir / "postgres").write_bytes(b"\x7fELF build two, longer")
    assert template_key(bindir, *base) != key, "another PostgreSQL build is another template"


def test_publish_then_copy_and_a_race_keeps_one(tmp_path: Path) -> None:
    templates = DataTemplates(tmp_path / "templates")

    async def scenario() -> None:
        assert templates.lookup("k") is None
        assert not await templates.copy_to("k", tmp_path / "nothing")
        # two labs publish at once: both checked before either renamed
        await asyncio.gather(
            templates.publish("k", _cluster(tmp_path / "a", "first")),
            templates.publish("k", _cluster(tmp_path / "b", "second")),
        )
        await templates.publish("k", _cluster(tmp_path / "c", "third"))  # kept already: a no-op
        assert await templates.copy_to("k", tmp_path / "copy")

    asyncio.run(scenario())
    assert (tmp_path / "copy" / "base" / "1").read_text() in ("first", "second")
    assert not (tmp_path / "copy" / "postmaster.opts").exists(), "no trace of the postmaster that made it"
    assert [p.name for p in (tmp_path / "templates").iterdir()] == ["k"], "no staging dir left behind"
    assert oct((tmp_path / "templates").stat().st_mode & 0o777) == "0o700"


def test_only_the_most_recently_used_templates_are_kept(tmp_path: Path) -> None:
    templates = DataTemplates(tmp_path / "templates")

    async def scenario() -> None:
        for i in range(4):
            await templates.publish(f"k{i}", _cluster(tmp_path / f"c{i}", str(i)))
            os.utime(templates.root / f"k{i}", (1000 + i, 1000 + i))  # published one after another
        assert await templates.copy_to("k0", tmp_path / "used")  # the oldest, used again: now the newest

    asyncio.run(scenario())
    assert templates.evict(keep=2) == ["k2", "k1"]
    assert sorted(p.name for p in templates.root.iterdir()) == ["k0", "k3"], "nothing half-deleted left"


def test_a_template_evicted_during_a_copy_means_build_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another lab's eviction can delete files under a running cp: the copy then reports no
    template (the writer is built with initdb) and leaves no half copy; any other failure is raised."""
    templates = DataTemplates(tmp_path / "templates")
    real_cp = template._cp

    async def cp_while_evicted(source: Path, dest: Path) -> None:
        await real_cp(source, dest)
        templates.evict(keep=0)
        raise ChaoslabError("cp: cannot stat: No such file or directory")

    async def scenario() -> bool:
        await templates.publish("k", _cluster(tmp_path / "a", "x"))
        monkeypatch.setattr(template, "_cp", cp_while_evicted)
        return await templates.copy_to("k", tmp_path / "copy")

    assert asyncio.run(scenario()) is False
    assert not (tmp_path / "copy").exists()

    async def failing_cp(source: Path, dest: Path) -> None:
        raise ChaoslabError("cp: No space left on device")

    async def with_template() -> bool:
        await templates.publish("k", _cluster(tmp_path / "b", "y"))
        monkeypatch.setattr(template, "_cp", failing_cp)
        return await templates.copy_to("k", tmp_path / "copy2")

    monkeypatch.setattr(template, "_cp", real_cp)
    with pytest.raises(ChaoslabError, match="No space"):
        asyncio.run(with_template())
