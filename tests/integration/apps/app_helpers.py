"""Start sample apps exactly as the runtime will (registry command line), and talk HTTP to them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from chaoslab.apps.registry import resolve_image
from chaoslab.services.rds.postgres import free_port


class Response:
    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status = status
        self.body = body
        self.headers = headers

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 10
) -> Response:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={**({"Content-Type": "application/json"} if data is not None else {}), **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Response(resp.status, resp.read(), dict(resp.headers))
    except urllib.error.HTTPError as err:
        return Response(err.code, err.read(), dict(err.headers))


class AppProcess:
    """One gunicorn unit on 127.0.0.1:<free port>, its own process group and working dir."""

    def __init__(self, image: str, env: dict[str, str], workdir: Path, workers: int = 2) -> None:
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        unit_env = {**env, "HOST": "127.0.0.1", "PORT": str(self.port), "WORKERS": str(workers)}
        command = resolve_image(image, unit_env)
        assert command is not None, image
        self.log_path = workdir / "app.log"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                command,
                env={"PATH": os.environ.get("PATH", ""), **unit_env},
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"app exited {self.proc.returncode}: {self.log()}")
            try:
                if call("GET", self.url + "/health", timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"app not healthy after {timeout}s: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def get(self, path: str, **kw: Any) -> Response:
        return call("GET", self.url + path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Response:
        return call("POST", self.url + path, body, **kw)

    def stop(self) -> None:
        """SIGTERM (gunicorn's graceful stop), then SIGKILL the group if it lingers."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(5)

    def assert_gone(self) -> None:
        """No process of this unit's group survives (workers included)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            left = [
                p
                for p in psutil.process_iter(["status"])
                if _pgid(p.pid) == self.proc.pid and p.info["status"] != psutil.STATUS_ZOMBIE
            ]
            if not left:
                return
            time.sleep(0.05)
        raise AssertionError(f"unit processes left: {left}")


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def start_app(
    apps: list[AppProcess], image: str, env: dict[str, str], workdir: Path, wait: bool = True, workers: int = 2
) -> AppProcess:
    app = AppProcess(image, env, workdir, workers)
    apps.append(app)
    if wait:
        app.wait_healthy()
    return app


def live_postgres(under: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and str(under) in " ".join(proc.info["cmdline"] or []):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def assert_no_postgres_left(under: Path, wait: float = 5.0) -> None:
    deadline = time.monotonic() + wait
    while live_postgres(under) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_postgres(under) == []
