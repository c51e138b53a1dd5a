"""`GET /_chaoslab/exec` as a WebSocket: an interactive `chaoslab exec` (`-i`, `-t`).

A line-by-line stream (unitexec.py) cannot carry a terminal: keystrokes go in while output comes
out, the window's size changes, and a full-screen program writes bytes, not lines. So the
interactive form is one WebSocket. The lab, not the CLI, opens the PTY and starts the command on
its terminal side inside the unit (only the lab can enter a unit in every network mode). The
upgrade changes state, so the guard asks for the lab token as it does for a POST.

The conversation: the client's first message is JSON text, `{"task", "container", "command",
"stdin": bool, "tty": bool, "rows", "cols"}`; then its binary messages are stdin's bytes and its
text messages `{"resize": [rows, cols]}` or `{"eof": true}`. The lab answers with binary
messages whose first byte says the stream (1 stdout, 2 stderr; a terminal has only stdout) and
ends with `{"exit": code}`, or `{"code", "message"}` if the command cannot start. A client that
goes away takes its command with it."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import struct
import termios
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from chaoslab.errors import ChaoslabError
from chaoslab.runtime.kinds.base import UnitHandle
from chaoslab.types import LabLike
from chaoslab.unitexec import parse_exec_body

ROUTE = "/_chaoslab/exec"
STDOUT, STDERR = 1, 2
_CHUNK = 65536
_PENDING_MAX = 64  # output chunks queued for a slow client before the PTY is no longer read
_DRAIN_S = 0.5  # how long output still left in the PTY may take to arrive after the command ends
_HELLO_S = 10.0  # how long the client has to say what to run


@dataclass(frozen=True)
class Request:
    task: str
    container: str | None
    command: list[str]
    stdin: bool
    tty: bool
    rows: int
    cols: int


def parse(body: Any) -> Request | None:
    """The first message as a `Request`, or None when it is not that shape."""
    command = parse_exec_body(body)
    if command is None:
        return None
    task, container, argv = command
    rows, cols = body.get("rows", 24), body.get("cols", 80)
    if not all(isinstance(n, int) and 0 < n < 65536 for n in (rows, cols)):
        return None
    return Request(task, container, argv, bool(body.get("stdin")), bool(body.get("tty")), rows, cols)


def set_window(fd: int, rows: int, cols: int) -> None:
    """Give the terminal its window size; the kernel sends SIGWINCH to its foreground group."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


async def write_all(fd: int, data: bytes) -> None:
    """Write to a non-blocking descriptor, waiting while it is full (a command not reading)."""
    loop = asyncio.get_running_loop()
    while data:
        try:
            data = data[os.write(fd, data) :]
        except BlockingIOError:
            ready: asyncio.Future[None] = loop.create_future()
            loop.add_writer(fd, _settle, ready)
            try:
                await ready
            finally:
                loop.remove_writer(fd)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Session:
    """One command's descriptors: what the lab writes its stdin to, reads its terminal from,
    and the queue of output for the client."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.output: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self.child_stdin: int | None = None  # the command's end, closed here once it has started
        self.stdin: int | None = None  # the lab's end of the command's stdin
        self.pty: int | None = None  # the PTY's lab side: stdin and output both
        self._reading = False
        self._pty_closed = asyncio.Event()
        if request.tty:
            self.pty, self.child_stdin = os.openpty()
            set_window(self.pty, request.rows, request.cols)
            os.set_blocking(self.pty, False)
            self.stdin = self.pty if request.stdin else None
        else:
            self._pty_closed.set()  # no terminal: output comes line by line through `on_line`
            if request.stdin:
                self.child_stdin, self.stdin = os.pipe()
                os.set_blocking(self.stdin, False)

    def on_line(self, stream: str, line: str) -> None:
        """Output of a command without a terminal, as the unit's output pump gives it."""
        self.output.put_nowait((STDERR if stream == "stderr" else STDOUT, line.encode() + b"\n"))

    def started(self) -> None:
        """The command has its end of the descriptors; the lab's copy would keep them open."""
        if self.child_stdin is not None:
            os.close(self.child_stdin)
            self.child_stdin = None
        self._read(True)

    def _read(self, on: bool) -> None:
        if self.pty is None or self._pty_closed.is_set() or on == self._reading:
            return
        loop = asyncio.get_running_loop()
        if on:
            loop.add_reader(self.pty, self._readable)
        else:
            loop.remove_reader(self.pty)
        self._reading = on

    def _readable(self) -> None:
        assert self.pty is not None
        try:
            chunk = os.read(self.pty, _CHUNK)
        except BlockingIOError:
            return
        except OSError:  # EIO: every process holding the terminal side has gone
            chunk = b""
        if not chunk:
            self._read(False)
            self._pty_closed.set()
            return
        self.output.put_nowait((STDOUT, chunk))
        if self.output.qsize() >= _PENDING_MAX:
            self._read(False)

    def sent(self) -> None:
        """The client took a chunk: read the PTY again once the queue has room."""
        if self.output.qsize() < _PENDING_MAX // 2:
            self._read(True)

    async def drained(self) -> None:
        """Wait (a little) for output still in the PTY once the command has ended."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._pty_closed.wait(), _DRAIN_S)

    async def feed(self, message: dict[str, Any] | bytes) -> None:
        """One client message: stdin's bytes, a window size, or the end of stdin."""
        if isinstance(message, bytes):
            if self.stdin is not None:
                await write_all(self.stdin, message)
            return
        resize = message.get("resize")
        if self.pty is not None and isinstance(resize, list) and len(resize) == 2:
            rows, cols = resize
            if all(isinstance(n, int) and 0 < n < 65536 for n in (rows, cols)):
                set_window(self.pty, rows, cols)
        if message.get("eof") and self.stdin is not None:
            if self.pty is not None:  # a terminal's end of input is its EOF character, as a typed ^D
                await write_all(self.pty, bytes([termios.tcgetattr(self.pty)[6][termios.VEOF][0]]))
            else:
                os.close(self.stdin)
                self.stdin = None

    def close(self) -> None:
        self._read(False)
        for fd in {self.child_stdin, self.stdin, self.pty} - {None}:
            assert fd is not None
            with contextlib.suppress(OSError):
                os.close(fd)
        self.child_stdin = self.stdin = self.pty = None


def routes(lab: LabLike) -> list[web.RouteDef]:
    async def shell_route(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=1 << 20)
        await ws.prepare(request)
        try:
            hello = await ws.receive(timeout=_HELLO_S)
            parsed = parse(json.loads(hello.data)) if hello.type == WSMsgType.TEXT else None
        except (TimeoutError, ValueError):
            parsed = None
        if parsed is None:
            await _refuse(ws, "BadRequest", 'first send {"task": ID, "command": [ARGV…], "stdin": …, "tty": …}')
            return ws
        task = lab.ecs.tasks.get(parsed.task.rsplit("/", 1)[-1])
        if task is None or task.unit is None or task.last_status != "RUNNING":
            await _refuse(ws, "TaskNotRunning", f"no RUNNING task {parsed.task!r} in this lab")
            return ws
        session = Session(parsed)
        try:
            try:
                handle = await task.unit.exec_command(
                    parsed.command,
                    parsed.container,
                    None if parsed.tty else session.on_line,
                    stdin=session.child_stdin,
                    tty=parsed.tty,
                )
            except KeyError:
                await _refuse(ws, "ContainerNotFound", f"task {task.task_id} has no container {parsed.container!r}")
                return ws
            except ChaoslabError as exc:
                await _refuse(ws, "CannotExec", str(exc))
                return ws
            session.started()
            await _converse(ws, session, handle)
        finally:
            session.close()
        return ws

    return [web.get(ROUTE, shell_route)]


async def _converse(ws: web.WebSocketResponse, session: Session, handle: UnitHandle) -> None:
    """Relay until the command ends (then its exit code) or the client goes (then the command)."""

    async def to_client() -> None:
        while (item := await session.output.get()) is not None:
            await ws.send_bytes(bytes([item[0]]) + item[1])
            session.sent()

    async def from_client() -> None:
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                await session.feed(msg.data)
            elif msg.type == WSMsgType.TEXT:
                with contextlib.suppress(ValueError):
                    body = json.loads(msg.data)
                    if isinstance(body, dict):
                        await session.feed(body)

    sender = asyncio.ensure_future(to_client())
    receiver = asyncio.ensure_future(from_client())
    waiter = asyncio.ensure_future(handle.wait())
    try:
        await asyncio.wait([waiter, receiver], return_when=asyncio.FIRST_COMPLETED)
        if waiter.done():
            await session.drained()
            session.output.put_nowait(None)
            await sender
            await ws.send_str(json.dumps({"exit": waiter.result()}))
            await ws.close()
    finally:
        for job in (sender, receiver, waiter):
            job.cancel()
        if handle.running:  # the client went away: so does its command
            await handle.kill()


async def _refuse(ws: web.WebSocketResponse, code: str, message: str) -> None:
    with contextlib.suppress(ConnectionError):  # a client that has already gone hears nothing
        await ws.send_str(json.dumps({"code": code, "message": message}))
    await ws.close()
