"""`POST /_chaoslab/exec`: run a command inside a running ECS task, for `chaoslab exec`.

The lab runs it, not the CLI, because only the lab can enter a unit in every network mode (in
`userns` mode the unit's namespace lives inside the lab's own user namespace). Running a command
changes state, so the guard asks for the lab token, and it takes JSON only. The body is `{"task": id or ARN,
"container": name or null, "command": [argv]}`; the answer streams newline-delimited JSON,
`{"stream": "stdout"|"stderr", "line": …}` per line of output, then `{"exit": code}`. There is
no stdin and no terminal: output is line by line, as `docker exec` without `-it` (the interactive
form is unitshell.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from chaoslab.errors import ChaoslabError
from chaoslab.types import LabLike

ROUTE = "/_chaoslab/exec"
DISCONNECT_CHECK_S = 0.5  # how often a silent command's client is checked for having gone


def routes(lab: LabLike) -> list[web.RouteDef]:
    async def exec_route(request: web.Request) -> web.StreamResponse:
        try:
            parsed = parse_exec_body(await request.json()) if request.content_type == "application/json" else None
        except ValueError:
            parsed = None
        if parsed is None:
            return _error(400, "BadRequest", 'send {"task": ID, "container": NAME or null, "command": [ARGV…]}')
        task_ref, container, argv = parsed
        task = lab.ecs.tasks.get(task_ref.rsplit("/", 1)[-1])
        if task is None or task.unit is None or task.last_status != "RUNNING":
            return _error(404, "TaskNotRunning", f"no RUNNING task {task_ref!r} in this lab")
        lines: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        try:
            handle = await task.unit.exec_command(
                argv, container, lambda stream, line: lines.put_nowait((stream, line))
            )
        except KeyError:
            return _error(404, "ContainerNotFound", f"task {task.task_id} has no container {container!r}")
        except ChaoslabError as exc:
            return _error(400, "CannotExec", str(exc))
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        try:
            waiter = asyncio.ensure_future(handle.wait())
            while not (waiter.done() and lines.empty()):
                getter = asyncio.ensure_future(lines.get())
                await asyncio.wait([getter, waiter], timeout=DISCONNECT_CHECK_S, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    if request.transport is None or request.transport.is_closing():
                        break  # the client went away
                    continue
                stream, line = getter.result()
                await response.write(_line({"stream": stream, "line": line}))
            if waiter.done():
                await response.write(_line({"exit": waiter.result()}))
                await response.write_eof()
        finally:
            if handle.running:  # the client went away: so does its command
                await handle.kill()
        return response

    return [web.post(ROUTE, exec_route)]


def parse_exec_body(body: Any) -> tuple[str, str | None, list[str]] | None:
    """(task, container, argv) from an exec request body, or None when it is not that shape
    (the interactive form in unitshell.py reads the same three fields)."""
    if not isinstance(body, dict):
        return None
    task, container, argv = body.get("task"), body.get("container"), body.get("command")
    if not isinstance(task, str) or not (container is None or isinstance(container, str)):
        return None
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        return None
    return task, container, argv


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record).encode() + b"\n"


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)
