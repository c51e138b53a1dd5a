"""The user's side of an interactive `chaoslab exec` (`-i`, `-t`; unitshell.py is the lab's).

With a terminal the user's own is put in raw mode, so every key (Ctrl-C included) goes to the
command's terminal in the unit, which interprets it; its size goes along at the start and on
every SIGWINCH. Stdin is forwarded as it comes and its end is passed on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import termios
import threading
import tty as ttymode
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import aiohttp

from chaoslab.aws.guard import TOKEN_HEADER
from chaoslab.errors import ChaoslabError

_CHUNK = 65536


def window_size() -> tuple[int, int]:
    """(rows, columns) of the user's terminal; 24×80 where there is none or it has no size."""
    for fd in (1, 0, 2):
        with contextlib.suppress(OSError):
            size = os.get_terminal_size(fd)
            if size.lines and size.columns:
                return size.lines, size.columns
    return 24, 80


@contextlib.contextmanager
def raw_terminal(fd: int, enabled: bool) -> Iterator[None]:
    """The terminal on `fd` in raw mode for the block (if it is one), restored afterwards."""
    if not enabled or not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    ttymode.setraw(fd, termios.TCSANOW)  # not TCSAFLUSH: keys typed ahead are kept
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def follow_stdin(loop: asyncio.AbstractEventLoop, fd: int, got: Callable[[bytes], None]) -> Callable[[], None]:
    """Call `got(chunk)` for what arrives on `fd` (b"" at its end); returns how to stop. A file
    cannot be watched by the loop, so it is read on a daemon thread instead."""
    try:

        def readable() -> None:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                loop.remove_reader(fd)
            got(chunk)

        loop.add_reader(fd, readable)
        return lambda: None if loop.remove_reader(fd) else None
    except (PermissionError, OSError):

        def pump() -> None:
            while True:
                chunk = os.read(fd, _CHUNK)
                loop.call_soon_threadsafe(got, chunk)
                if not chunk:
                    return

        threading.Thread(target=pump, daemon=True).start()
        return lambda: None


def exec_interactive(
    api: str, token: str, hello: dict[str, Any], *, stdin: bool, tty: bool, pid: int | None = None
) -> int:
    """Run the command `hello` names through the lab's WebSocket and return its exit code (128 +
    N for signal N, as a shell reports it)."""
    return asyncio.run(_session(api, token, {**hello, "stdin": stdin, "tty": tty}, pid))


async def _session(api: str, token: str, hello: dict[str, Any], pid: int | None) -> int:
    loop = asyncio.get_running_loop()
    rows, cols = window_size()
    out: dict[int, BinaryIO] = {1: sys.stdout.buffer, 2: sys.stderr.buffer}
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(
                f"{api}/_chaoslab/exec", headers={TOKEN_HEADER: token}, max_msg_size=0, autoping=True
            ) as ws,
        ):
            await ws.send_str(json.dumps({**hello, "rows": rows, "cols": cols}))
            stdin_q: asyncio.Queue[bytes] = asyncio.Queue()
            stop_stdin = follow_stdin(loop, 0, stdin_q.put_nowait) if hello["stdin"] else (lambda: None)

            async def forward() -> None:
                while chunk := await stdin_q.get():
                    await ws.send_bytes(chunk)
                await ws.send_str(json.dumps({"eof": True}))

            def resized() -> None:
                loop.create_task(ws.send_str(json.dumps({"resize": list(window_size())})))

            forwarder = asyncio.ensure_future(forward())
            with contextlib.suppress(ValueError, RuntimeError):  # not the main thread: no SIGWINCH
                loop.add_signal_handler(signal.SIGWINCH, resized)
            try:
                with raw_terminal(0, hello["tty"] and hello["stdin"]):
                    return await _receive(ws, out)
            finally:
                stop_stdin()
                forwarder.cancel()
                with contextlib.suppress(ValueError, RuntimeError):
                    loop.remove_signal_handler(signal.SIGWINCH)
    except aiohttp.WSServerHandshakeError as exc:
        raise ChaoslabError(f"the lab refused the session: {exc.status} {exc.message}") from None
    except (aiohttp.ClientError, OSError) as exc:
        who = f"the lab (pid {pid})" if pid else "the lab"
        raise ChaoslabError(f"{who} does not answer on {api}: {exc}") from None


async def _receive(ws: aiohttp.ClientWebSocketResponse, out: dict[int, BinaryIO]) -> int:
    """Write the command's output as it comes; its exit code, or the lab's refusal as an error."""
    async for msg in ws:
        if msg.type == aiohttp.WSMsgType.BINARY and msg.data:
            stream = out.get(msg.data[0], out[1])
            stream.write(msg.data[1:])
            stream.flush()
        elif msg.type == aiohttp.WSMsgType.TEXT:
            body = json.loads(msg.data)
            if "exit" in body:
                code = int(body["exit"])
                return 128 - code if code < 0 else code
            raise ChaoslabError(str(body.get("message", body)))
    raise ChaoslabError("the lab ended the session without the command's exit code (did the lab stop?)")
