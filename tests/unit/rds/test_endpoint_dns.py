"""The cluster endpoints as DNS names (docs/timing.md, "The cluster endpoint is a DNS name"):
the reader endpoint's answer rotates among available readers, and after a flip the writer
endpoint keeps the old writer until the TTL passes. Routing only: no postmaster behind it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

from chaoslab.services.rds.cluster import AuroraCluster, Member


def cluster(tmp_path: Path, readers: int) -> AuroraCluster:
    runtime = AuroraCluster(
        "c1",
        tmp_path,
        master_username="u",
        master_password="password1",
        writer_binds=[("127.0.0.1", 0)],
        reader_binds=[("127.0.0.1", 0)],
    )
    for n in range(readers + 1):
        server = SimpleNamespace(host="127.0.0.1", port=5000 + n, running=True)
        runtime.members[f"db{n}"] = Member(f"db{n}", "us-east-1a", 1, server, "available")  # type: ignore[arg-type]
    runtime.writer_id = "db0"
    runtime._route()
    return runtime


def answers(runtime: AuroraCluster, n: int) -> list[int]:
    return [runtime.reader_proxies[0].route(None)[1] for _ in range(n)]  # type: ignore[misc, arg-type]


def test_reader_endpoint_rotates_among_available_readers(tmp_path: Path) -> None:
    runtime = cluster(tmp_path, readers=3)
    assert sorted(answers(runtime, 3)) == [5001, 5002, 5003]
    assert answers(runtime, 6)[:3] == answers(runtime, 6)[3:]  # round robin, not random
    runtime.members["db2"].status = "rebooting"
    runtime._route()
    assert set(answers(runtime, 4)) == {5001, 5003}


def test_reader_endpoint_falls_back_to_the_writer(tmp_path: Path) -> None:
    runtime = cluster(tmp_path, readers=0)
    assert set(answers(runtime, 2)) == {5000}


def test_writer_endpoint_keeps_the_old_writer_for_the_ttl(tmp_path: Path) -> None:
    async def scenario() -> list[int | None]:
        runtime = cluster(tmp_path, readers=1)
        seen = []
        runtime._flip_later(("127.0.0.1", 5000), 0.2)
        runtime.writer_id = "db1"  # the promotion
        runtime._route()
        seen.append(runtime.writer_proxies[0].upstream[1])  # type: ignore[index]
        await asyncio.sleep(0.1)
        runtime._route()  # the old writer rejoined: routing again inside the TTL keeps it stale
        seen.append(runtime.writer_proxies[0].upstream[1])  # type: ignore[index]
        await asyncio.sleep(0.2)
        seen.append(runtime.writer_proxies[0].upstream[1])  # type: ignore[index]
        runtime._flip_later(("127.0.0.1", 5001), 0)  # no TTL (the fast profile): nothing stale
        runtime.writer_id = "db0"
        runtime._route()
        seen.append(runtime.writer_proxies[0].upstream[1])  # type: ignore[index]
        return seen

    assert asyncio.run(scenario()) == [5000, 5000, 5001, 5000]
