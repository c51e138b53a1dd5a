"""`workload.locust`: real Locust processes (one alone, or a master with local workers) run a
locustfile against a real HTTP server, and every request they make comes back as a workload
record with the run's phase at the time it was sent; stopping ends and reaps every process."""

from __future__ import annotations

import asyncio
import http.server
import importlib.util
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from chaoslab.errors import ChaoslabError
from chaoslab.experiment.locust_engine import PLUGIN, LocustWorkload

# Not importorskip: importing Locust patches this process's sockets and threads (gevent).
pytestmark = pytest.mark.skipif(importlib.util.find_spec("locust") is None, reason="Locust is not installed")

LOCUSTFILE = """
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser


class Shopper(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def health(self):
        self.client.get("/health")

    @task
    def missing(self):
        self.client.get("/missing", name="/missing")
"""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        ok = self.path == "/health"
        body = b'{"ok": true}' if ok else b"{}"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _run(base: str, settings: dict, seconds: float) -> tuple[list[dict], list[int]]:
    """Run the workload: `seconds` in "baseline", as long again in "injection", then stop."""
    records: list[dict] = []
    phase = ["baseline"]

    async def go() -> list[int]:
        load = LocustWorkload(base, settings, on_record=records.append, phase=lambda: phase[0])
        task = asyncio.create_task(load.run())
        await asyncio.wait_for(load.started.wait(), 60)
        await asyncio.sleep(seconds)
        phase[0] = "injection"
        await asyncio.sleep(seconds)
        load.stop()
        await task
        return load.pids

    return records, asyncio.run(go())


@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "master-and-2-workers"])
def test_locust_requests_become_phased_records_and_every_process_ends(
    tmp_path: Path, server: str, workers: int
) -> None:
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    settings = {"locustfile": str(locustfile), "users": 4, "workers": workers}
    records, pids = _run(server, settings, 1.5)

    assert len(pids) == 1 + workers
    assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    endpoints = {r["endpoint"] for r in records}
    assert endpoints == {"GET /health", "GET /missing"}, endpoints
    assert {r["status"] for r in records if r["endpoint"] == "GET /health"} == {200}
    assert {r["status"] for r in records if r["endpoint"] == "GET /missing"} == {404}
    assert all(r["error"] is None and r["done"] >= r["sent"] > time.time() - 120 for r in records)
    phases = [r["phase"] for r in sorted(records, key=lambda r: r["sent"])]
    assert {"baseline", "injection"} <= set(phases)
    assert phases == sorted(phases, key=["baseline", "injection"].index), "a record's phase is when it was sent"
    # 4 users, one request each per ~50 ms, over ~3 s: far more than a handful
    assert len(records) > 50, len(records)


def test_a_refused_endpoint_gives_error_records(tmp_path: Path) -> None:
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    records, _ = _run("http://127.0.0.1:1", {"locustfile": str(locustfile), "users": 2}, 0.5)
    assert records and {r["error"] for r in records} == {"refused"} and {r["status"] for r in records} == {None}


def test_a_locustfile_that_fails_to_load_is_an_error_with_locusts_words(tmp_path: Path, server: str) -> None:
    locustfile = tmp_path / "broken.py"
    locustfile.write_text("import no_such_module_here\n")

    async def go() -> None:
        load = LocustWorkload(server, {"locustfile": str(locustfile), "users": 1}, on_record=print, phase=lambda: "x")
        await asyncio.wait_for(load.run(), 60)

    with pytest.raises(ChaoslabError, match="no_such_module_here"):
        asyncio.run(go())


def test_a_worker_from_elsewhere_joins_with_the_plugin_alone(tmp_path: Path, server: str) -> None:
    """`expect_workers` counts workers chaoslab did not start: one started here by hand, as on
    another machine (no chaoslab environment, the plugin file passed by path), joins the master
    on `master_bind`; the run starts only once it has, and its requests are records too."""
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = {
        "locustfile": str(locustfile),
        "users": 4,
        "workers": 1,
        "expect_workers": 2,
        "master_bind": f"127.0.0.1:{port}",
    }
    records: list[dict] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAOSLAB_")}

    async def go() -> None:
        load = LocustWorkload(server, settings, on_record=records.append, phase=lambda: "baseline")
        task = asyncio.create_task(load.run())
        await asyncio.sleep(2)
        assert not load.started.is_set(), "the master waits for both workers"
        remote = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "locust",
            "-f",
            f"{locustfile},{PLUGIN}",
            "--worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            str(port),
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await asyncio.wait_for(load.started.wait(), 60)
            await asyncio.sleep(1.5)
            load.stop()
            await task
            assert await asyncio.wait_for(remote.wait(), 20) is not None  # the master told it to quit
        finally:
            if remote.returncode is None:
                remote.kill()
                await remote.wait()

    asyncio.run(go())
    assert len(records) > 20 and {r["endpoint"] for r in records} == {"GET /health", "GET /missing"}
