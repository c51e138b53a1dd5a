"""LabClient.events against a real HTTP server: an error answer (a JSON body without `events`)
is an aiohttp.ClientError the runner's event follower skips and retries, not a KeyError that
silently ends the follower for the rest of the run."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from chaoslab.config import LabConfig
from chaoslab.experiment.labclient import LabClient


async def _scenario(tmp_path) -> tuple[type[BaseException] | None, list, int]:
    answers = [
        web.json_response({"code": "InternalError", "message": "busy"}, status=503),
        web.json_response({"events": [{"seq": 7, "kind": "fault.applied"}], "last": 7}),
    ]

    async def events(request: web.Request) -> web.Response:
        return answers.pop(0)

    app = web.Application()
    app.router.add_get("/_chaoslab/events", events)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        lab = LabClient(f"http://127.0.0.1:{port}", LabConfig(home=tmp_path, api_port=0))
        async with aiohttp.ClientSession() as session:
            failed = None
            try:
                await lab.events(session, 0)
            except Exception as exc:
                failed = type(exc)
            got, last = await lab.events(session, 0)
        return failed, got, last
    finally:
        await runner.cleanup()


def test_error_answer_is_a_client_error_then_events_resume(tmp_path):
    failed, got, last = asyncio.run(_scenario(tmp_path))
    assert failed is not None and issubclass(failed, aiohttp.ClientError)
    assert last == 7 and got == [{"seq": 7, "kind": "fault.applied"}]
