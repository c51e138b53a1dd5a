"""One generator process of a multi-process workload (`python -m chaoslab.experiment.worker PPID`).

Its parent (`processes.WorkloadProcesses`) writes JSON lines to its stdin: first the settings,
then `{"start": <monotonic>, "wall": <the same moment in wall time>}`, phase changes `{"phase": …}` and finally `{"stop": true}`. It
answers `{"ready": true}`, then its records `{"r": …}` and observed writes `{"w": …}` on
stdout, in batches (`{"batch": [...]}`, one line every 50 ms), and exits once its requests in flight have ended. It dies with its parent however the
parent ends: the kernel kills it when the parent dies (PR_SET_PDEATHSIG), and its stdin's end
of file stops it too.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import Any

from chaoslab.experiment.workload import Attempt, Record, RequestSpec, Workload
from chaoslab.runtime.parentdeath import die_with_parent

FLUSH_S = 0.05  # records reach the parent in batches this often: one write, not one per request


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop where installed: a request costs about 60 µs of CPU on it against 110 µs on
    asyncio's loop. A generator starts no processes, which is what keeps uvloop out of the lab."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


class _Pipe(asyncio.Protocol):
    """Stdout's protocol: `closed` resolves once everything written has left."""

    def __init__(self) -> None:
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class Outbox:
    """Messages for the parent, written without blocking the loop (the transport buffers them):
    one line `{"batch": [...]}` per flush, so the parent decodes one line where it decoded one per
    request. Each message is encoded as it comes: encoding a whole batch at flush time held the
    loop for milliseconds, and sends due meanwhile went out late."""

    def __init__(self, transport: asyncio.WriteTransport) -> None:
        self.transport = transport
        self.encoded: list[bytes] = []

    def put(self, message: dict[str, Any]) -> None:
        self.encoded.append(json.dumps(message, separators=(",", ":")).encode())

    def flush(self) -> None:
        if self.encoded:
            self.transport.write(b'{"batch":[' + b",".join(self.encoded) + b"]}\n")
            self.encoded = []

    async def flush_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            self.flush()


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    transport, pipe = await loop.connect_write_pipe(_Pipe, sys.stdout)
    out = Outbox(transport)
    settings = json.loads(await reader.readline())
    specs = [RequestSpec.from_doc(d) for d in settings["requests"]]
    phase = ["setup"]

    def on_write(spec: RequestSpec, body: dict[str, Any], key: str | None, attempts: list[Attempt]) -> None:
        out.put({"w": [specs.index(spec), body, key, attempts]})

    def on_record(record: Record) -> None:
        out.put({"r": record})

    transport.write(b'{"ready":true}\n')
    workload: Workload | None = None
    runner: asyncio.Task[None] | None = None
    flusher = asyncio.create_task(out.flush_every(FLUSH_S))
    while line := await reader.readline():  # end of file: the parent is gone or done
        message = json.loads(line)
        if "phase" in message:
            phase[0] = message["phase"]
        if "start" in message and workload is None:
            workload = Workload(
                settings["base_url"],
                specs,
                on_record=on_record,
                phase=lambda: phase[0],
                timeout_s=settings["timeout_s"],
                connect_timeout_s=settings["connect_timeout_s"],
                on_write=on_write,
                seed=settings["seed"],
                share=(settings["slot"], settings["of"]),
                start_at=message["start"],
            )
            runner = asyncio.create_task(workload.run())
        if message.get("stop"):
            break
    if workload is not None and runner is not None:
        workload.stop()
        await runner
    flusher.cancel()
    out.flush()
    transport.close()
    await pipe.closed  # what the transport buffered is written before the loop ends


if __name__ == "__main__":
    die_with_parent(int(sys.argv[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    with asyncio.Runner(loop_factory=new_loop) as runner:
        runner.run(main())
