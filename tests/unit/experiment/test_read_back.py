"""The integrity read-back waits for the app's reads to agree: a replica's lag is not a lost
write, but a write missing from every read is."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp import web

from chaoslab.experiment import runner


async def read_back_from(answers: list[list[dict[str, Any]]]) -> tuple[list[dict[str, Any]], str | None]:
    """Serve `answers` as successive GET /orders bodies (the last one repeated) and read back."""
    served = iter(answers)
    last: list[dict[str, Any]] = []

    async def orders(_: web.Request) -> web.Response:
        nonlocal last
        last = next(served, last)
        return web.json_response({"orders": last})

    async def products(_: web.Request) -> web.Response:
        return web.json_response({"products": [{"id": 1, "stock": 10}]})

    app = web.Application()
    app.router.add_get("/orders", orders)
    app.router.add_get("/products", products)
    app_runner = web.AppRunner(app)
    await app_runner.setup()
    site = web.TCPSite(app_runner, "127.0.0.1", 0)
    await site.start()
    port = app_runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            got, stock, note = await runner.settled_read_back(session, f"http://127.0.0.1:{port}")
    finally:
        await app_runner.cleanup()
    assert stock == {1: 10}
    return got, note


def test_a_lagging_read_settles_on_the_caught_up_data(monkeypatch) -> None:
    monkeypatch.setattr(runner, "READ_BACK_PAUSE_S", 0.01)
    lagging, caught_up = [{"order_id": 1}], [{"order_id": 1}, {"order_id": 2}]
    got, note = asyncio.run(read_back_from([lagging, caught_up, caught_up]))
    assert got == caught_up
    assert note is not None and "3 reads" in note


def test_agreeing_reads_are_judged_at_once_without_a_note(monkeypatch) -> None:
    monkeypatch.setattr(runner, "READ_BACK_PAUSE_S", 0.01)
    got, note = asyncio.run(read_back_from([[{"order_id": 1}]]))
    assert got == [{"order_id": 1}] and note is None


def test_reads_that_never_agree_are_judged_on_the_last_and_said(monkeypatch) -> None:
    monkeypatch.setattr(runner, "READ_BACK_PAUSE_S", 0.01)
    answers = [[{"order_id": i}] for i in range(10)]
    got, note = asyncio.run(read_back_from(answers))
    assert got == [{"order_id": runner.READ_BACK_ATTEMPTS - 1}]
    assert note is not None and "never agreed" in note
