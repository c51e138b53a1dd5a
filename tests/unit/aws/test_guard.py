"""The lab port's guard: only the lab's own `Host` names, and the lab token for state-changing
`/_chaoslab/` calls (docs/security.md)."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from aiohttp import WSServerHandshakeError, web
from aiohttp.test_utils import TestClient, TestServer

from chaoslab.aws import guard


def test_allowed_hosts_are_the_loopback_names_and_the_configured_one_with_the_port() -> None:
    assert guard.allowed_hosts("127.0.0.1", 4566) == {"127.0.0.1:4566", "localhost:4566", "[::1]:4566"}
    assert "10.1.2.3:4566" in guard.allowed_hosts("10.1.2.3", 4566)
    assert "[fd00::1]:9000" in guard.allowed_hosts("fd00::1", 9000)
    assert "localhost" in guard.allowed_hosts("127.0.0.1", 80) and "localhost" not in guard.allowed_hosts("x", 81)


def test_the_token_file_is_fresh_and_private(tmp_path: Path) -> None:
    (tmp_path / guard.TOKEN_FILE).write_text("old")
    (tmp_path / guard.TOKEN_FILE).chmod(0o644)
    first = guard.write_token(tmp_path)
    path = tmp_path / guard.TOKEN_FILE
    assert path.read_text() == first and len(first) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert guard.write_token(tmp_path) != first


async def _exchanges(token: str | None) -> list[tuple[int, str]]:
    changed: list[str] = []

    async def change(request: web.Request) -> web.Response:
        changed.append(request.method)
        return web.json_response({"ok": True})

    app = web.Application(middlewares=[guard.middleware(lambda: frozenset({f"127.0.0.1:{port}"}), lambda: token)])
    app.router.add_route("*", "/_chaoslab/thing", change)
    app.router.add_route("*", "/", change)
    server = TestServer(app, host="127.0.0.1")
    async with TestClient(server) as client:
        port = server.port
        out = []
        for method, path, headers in [
            ("GET", "/_chaoslab/thing", {}),
            ("GET", "/_chaoslab/thing", {"Host": f"evil.example:{port}"}),
            ("POST", "/_chaoslab/thing", {"Host": f"evil.example:{port}", guard.TOKEN_HEADER: token or ""}),
            ("POST", "/_chaoslab/thing", {}),
            ("POST", "/_chaoslab/thing", {guard.TOKEN_HEADER: "wrong"}),
            ("POST", "/_chaoslab/thing", {guard.TOKEN_HEADER: token or ""}),
            ("POST", "/", {"Host": f"evil.example:{port}"}),
        ]:
            async with client.request(method, path, headers=headers) as resp:
                body = await resp.text()
                out.append((resp.status, body))
        out.append((len(changed), ""))
    return out


def test_foreign_hosts_and_tokenless_changes_are_refused_before_the_handler() -> None:
    (read, foreign_read, foreign_post, no_token, wrong, right, foreign_aws, handled) = asyncio.run(_exchanges("s3cret"))
    assert read[0] == 200 and right[0] == 200
    for status, body in (foreign_read, foreign_post):
        assert status == 403 and '"InvalidHost"' in body
    for status, body in (no_token, wrong):
        assert status == 403 and '"MissingLabToken"' in body
    assert foreign_aws[0] == 403 and "<Code>InvalidHost</Code>" in foreign_aws[1]  # AWS-shaped off /_chaoslab
    assert handled == (2, "")  # only the allowed read and the tokened change reached the handler


def test_without_a_token_no_change_is_accepted() -> None:
    results = asyncio.run(_exchanges(None))
    assert results[5][0] == 403 and results[-1] == (1, "")


async def _upgrades(token: str) -> list[int]:
    """A WebSocket upgrade to a lab route without the token, with a wrong one, with the right one."""

    async def shell(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.close()
        return ws

    app = web.Application(middlewares=[guard.middleware(lambda: frozenset({f"127.0.0.1:{port}"}), lambda: token)])
    app.router.add_get("/_chaoslab/shell", shell)
    server = TestServer(app, host="127.0.0.1")
    statuses = []
    async with TestClient(server) as client:
        port = server.port
        for headers in ({}, {guard.TOKEN_HEADER: "wrong"}, {guard.TOKEN_HEADER: token}):
            try:
                async with client.ws_connect("/_chaoslab/shell", headers=headers):
                    statuses.append(101)
            except WSServerHandshakeError as exc:
                statuses.append(exc.status)
    return statuses


def test_a_websocket_upgrade_needs_the_token_though_it_is_a_get() -> None:
    """An upgraded connection is a channel to act through (an interactive exec), not a read."""
    assert asyncio.run(_upgrades("s3cret")) == [403, 403, 101]
