"""The interactive exec's WebSocket (unitshell.py) before any command runs: what a first message
must say, and the refusals a client reads as errors (the command itself: the integration tests)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from chaoslab import unitshell


def test_the_first_message_names_a_task_and_an_argv_and_may_give_a_window() -> None:
    request = unitshell.parse({"task": "t1", "command": ["sh"], "tty": True, "stdin": True, "rows": 40, "cols": 120})
    assert request == unitshell.Request("t1", None, ["sh"], stdin=True, tty=True, rows=40, cols=120)
    assert unitshell.parse({"task": "t1", "command": ["sh"]}) == unitshell.Request(
        "t1", None, ["sh"], False, False, 24, 80
    )
    for bad in (
        [],
        {"command": ["sh"]},
        {"task": "t1", "command": []},
        {"task": "t1", "command": "sh"},
        {"task": "t1", "container": 3, "command": ["sh"]},
        {"task": "t1", "command": ["sh"], "rows": 0},
        {"task": "t1", "command": ["sh"], "cols": 70000},
    ):
        assert unitshell.parse(bad) is None, bad


async def _exchange(first: str | None) -> Any:
    lab = SimpleNamespace(ecs=SimpleNamespace(tasks={}))
    app = web.Application()
    app.add_routes(unitshell.routes(lab))
    async with TestClient(TestServer(app)) as client:
        ws = await client.ws_connect(unitshell.ROUTE)
        if first is None:
            await ws.close()  # gone before saying anything: the lab must not trip over it
            ws = await client.ws_connect(unitshell.ROUTE)
            first = "not json"
        await ws.send_str(first)
        return await ws.receive_json()


def test_a_bad_first_message_or_an_unknown_task_is_refused_in_words() -> None:
    assert asyncio.run(_exchange(None))["code"] == "BadRequest"
    refused = asyncio.run(_exchange('{"task": "nope", "command": ["sh"]}'))
    assert refused == {"code": "TaskNotRunning", "message": "no RUNNING task 'nope' in this lab"}
