"""The load: an open-loop generator and seed 003's probe loop.

Open loop means each request is sent at its scheduled time whether or not earlier ones have
answered — a closed loop slows down exactly when the system does and hides the outage (the
coordinated-omission trap). Latency is therefore measured from the *scheduled* time. The probe,
by contrast, copies the article's `curl … ; sleep 2` loop, which is closed on purpose: its
timeline is what the seed printed.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import json
import random
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from chaoslab.experiment.httpclient import Client, HttpError, header_lines
from chaoslab.experiment.timerfd import Waker

Record = dict[str, Any]
# (status or None, error kind or None, JSON body or None) for one attempt of one request.
Attempt = tuple[int | None, str | None, Any]
WriteObserver = Callable[["RequestSpec", dict[str, Any], str | None, list[Attempt]], None]

_PLACEHOLDER = re.compile(r"^\{\{\s*(\w+)((?:\s+-?\d+)*)\s*\}\}$")

# Without a timerfd: wake this early and spin to the due time (sleeping alone sends about 1 ms
# late). With one: gaps longer than this wait on stop() first, so stop() ends them at once.
_SPIN_S = 0.002
_STOP_CHECK_S = 0.02
_SPIN_MAX_S = 0.00005  # a shorter wait is spun: cheaper than a timerfd's round trip through epoll
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))  # sent with Content-Length: 0 when bodiless


def placeholder_problem(text: str) -> str | None:
    """Why a `{{…}}` string is not a placeholder `render_body` fills, or None: a typo would
    otherwise be sent as a literal string, and `randint` with A > B kills every send."""
    if not text.lstrip().startswith("{{"):
        return None
    m = _PLACEHOLDER.match(text)
    args = [int(a) for a in m.group(2).split()] if m else []
    if m and m.group(1) == "uuid" and not args:
        return None
    if m and m.group(1) == "randint" and len(args) == 2 and args[0] <= args[1]:
        return None
    return f"{text!r} is not {{{{randint A B}}}} (A <= B) or {{{{uuid}}}}"


def render_body(template: Any, rng: random.Random) -> Any:
    """Fill `{{randint A B}}` / `{{uuid}}` placeholders; a whole-string placeholder becomes a number."""
    if isinstance(template, dict):
        return {k: render_body(v, rng) for k, v in template.items()}
    if isinstance(template, list):
        return [render_body(v, rng) for v in template]
    if isinstance(template, str):
        m = _PLACEHOLDER.match(template)
        if m:
            args = [int(a) for a in m.group(2).split()]
            if m.group(1) == "randint" and len(args) == 2:
                return rng.randint(args[0], args[1])
            if m.group(1) == "uuid":
                return str(uuid.UUID(int=rng.getrandbits(128)))
    return template


def classify(exc: BaseException) -> str:
    """curl's failure families: refused, reset, timeout, anything else."""
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return "timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_err = getattr(exc, "os_error", None)
        if isinstance(os_err, ConnectionRefusedError) or getattr(os_err, "errno", None) == errno.ECONNREFUSED:
            return "refused"
        if isinstance(os_err, (asyncio.TimeoutError, TimeoutError)):
            return "timeout"
        return "other"
    if isinstance(exc, (aiohttp.ServerDisconnectedError, ConnectionResetError)):
        return "reset"
    if isinstance(exc, aiohttp.ClientOSError) and exc.errno in (errno.ECONNRESET, errno.EPIPE):
        return "reset"
    return "other"


def is_failure(record: Record) -> bool:
    """A user-visible failure: no HTTP answer or a 5xx."""
    return record["error"] is not None or (record["status"] or 0) >= 500


@dataclass
class RequestSpec:
    path: str
    rate: float
    method: str = "GET"
    name: str | None = None
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    attempts: int = 1
    backoff_s: float = 0.2
    attempt_timeout_s: float | None = None
    idempotency_key: bool = False

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> RequestSpec:
        retries = doc.get("retries", {})
        return cls(
            path=doc["path"],
            rate=float(doc["rate"]),
            method=doc.get("method", "GET"),
            name=doc.get("name"),
            body=doc.get("body"),
            headers=dict(doc.get("headers", {})),
            attempts=retries.get("attempts", 1),
            backoff_s=retries.get("backoff_s", 0.2),
            attempt_timeout_s=retries.get("attempt_timeout_s"),
            idempotency_key=retries.get("idempotency_key", False),
        )


async def _one(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    body: Any,
    headers: dict[str, str],
    timeout: aiohttp.ClientTimeout,
) -> tuple[int | None, str | None, Any, str | None]:
    """One HTTP exchange: status, error kind, JSON body, served_by."""
    try:
        async with session.request(method, url, json=body, headers=headers, timeout=timeout) as resp:
            raw = await resp.read()
            data = None
            if raw[:1] in (b"{", b"["):
                try:
                    data = json.loads(raw)
                except ValueError:
                    data = None
            served = None
            if isinstance(data, dict):
                served = data.get("served_by") or data.get("instance_id")
            served = served or resp.headers.get("X-Served-By")
            return resp.status, None, data, served
    except Exception as exc:  # every failure is data here, never a crash of the generator
        return None, classify(exc), None, None


class Workload:
    """Sends each spec's requests on its own fixed schedule until stopped; one record each."""

    def __init__(
        self,
        base_url: str,
        specs: list[RequestSpec],
        *,
        on_record: Callable[[Record], None],
        phase: Callable[[], str],
        timeout_s: float = 5.0,
        connect_timeout_s: float = 3.0,
        on_write: WriteObserver | None = None,
        seed: int | None = None,
        share: tuple[int, int] = (0, 1),
        start_at: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.specs = specs
        self.on_record = on_record
        self.phase = phase
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.on_write = on_write
        self.rng = random.Random(seed)
        # Slot `share[0]` of every `share[1]` of each spec's schedule: processes sharing a rate
        # interleave into the one schedule a single generator would keep.
        self.share = share
        # The schedule's origin on the monotonic clock (one clock for every process on the host),
        # when processes share it: every process then places its slots on the same timeline.
        self.start_at = start_at
        self._stop = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Schedule until `stop()`, then wait for requests still in flight. The objects alive
        at the start are frozen out of the collector meanwhile: a full collection walks the
        whole heap (21–29 ms here with the runner's imports) and every send due in it is late."""
        client = Client(connect_timeout_s=self.connect_timeout_s)
        gc.freeze()
        try:
            await asyncio.gather(*(self._schedule(client, s) for s in self.specs if s.rate > 0))
            if self._inflight:
                await asyncio.gather(*list(self._inflight), return_exceptions=True)
        finally:
            gc.unfreeze()
            client.close()

    async def _schedule(self, client: Client, spec: RequestSpec) -> None:
        loop = asyncio.get_running_loop()
        now = time.monotonic  # not loop.time(): uvloop's (in the worker processes) moves in whole milliseconds
        mono0 = self.start_at if self.start_at is not None else now()
        slot, stride = self.share
        url = self.base_url + spec.path
        headers = header_lines(spec.headers, json_body=spec.body is not None)
        inflight = self._inflight
        waker = Waker.create()
        # Without a timerfd, wake early and spin the last stretch (asyncio's timers round up to
        # ~1 ms); with one, wait for stop() only on long gaps and let the timerfd end the gap.
        early = _SPIN_S if waker is None else _STOP_CHECK_S
        k = 0
        try:
            while not self._stop.is_set():
                due = mono0 + (k * stride + slot) / spec.rate
                delay = due - now()
                if delay > early:
                    try:
                        await asyncio.wait_for(self._stop.wait(), delay - early)
                        return
                    except TimeoutError:
                        delay = due - now()
                if waker is not None and delay > _SPIN_MAX_S:
                    await waker.until(due)
                while now() < due:
                    pass
                task = loop.create_task(self._send(client, spec, url, headers, due))
                inflight.add(task)
                task.add_done_callback(inflight.discard)
                k += 1
                await asyncio.sleep(0)  # let the send start (and `stop()` in) even when the next is due at once
        finally:
            if waker is not None:
                waker.close()

    async def _send(self, client: Client, spec: RequestSpec, url: str, headers: bytes, due: float) -> None:
        """Send one request due at monotonic time `due` and record it. Lateness and latency are
        measured on the monotonic clock: the wall clock is stepped on some hosts (a VM here had
        it corrected by 0.5 ms every 80 ms), which read as milliseconds of lateness that were not
        there. The record's wall times are now's wall time less the monotonic intervals."""
        phase = self.phase()
        body = render_body(spec.body, self.rng) if spec.body is not None else None
        key = None
        if spec.idempotency_key:
            key = str(uuid.UUID(int=self.rng.getrandbits(128)))
            headers += f"Idempotency-Key: {key}\r\n".encode()
        payload = json.dumps(body).encode() if body is not None else (b"" if spec.method in _BODY_METHODS else None)
        total, connect = self.timeout_s, self.connect_timeout_s
        if spec.attempt_timeout_s:
            total, connect = spec.attempt_timeout_s, min(connect, spec.attempt_timeout_s)
        sent, sent_mono = time.time(), time.monotonic()
        scheduled = sent - (sent_mono - due)
        attempts: list[Attempt] = []
        for n in range(spec.attempts):
            status, error, data, served = await _exchange(client, spec.method, url, headers, payload, total, connect)
            attempts.append((status, error, data))
            if error is None and status is not None and status < 500:
                break
            if n + 1 < spec.attempts:
                await asyncio.sleep(spec.backoff_s * (2**n))
        done = sent + (time.monotonic() - sent_mono)
        self.on_record(
            {
                "t": scheduled,
                "sent": sent,
                "done": done,
                "endpoint": spec.endpoint,
                "status": status,
                "error": error,
                "latency_ms": round((done - scheduled) * 1000, 2),
                "served_by": served,
                "phase": phase,
                "probe": False,
                "attempts": len(attempts),
            }
        )
        if self.on_write is not None and spec.method == "POST":
            self.on_write(spec, body or {}, key, attempts)


async def _exchange(
    client: Client, method: str, url: str, headers: bytes, payload: bytes | None, total_s: float, connect_s: float
) -> tuple[int | None, str | None, Any, str | None]:
    """One request through the workload's client: status, error kind, JSON body, served_by."""
    try:
        async with asyncio.timeout(total_s):
            resp = await client.request(method, url, headers, payload, connect_timeout_s=connect_s)
    except HttpError as exc:
        return None, exc.kind, None, None
    except TimeoutError:
        return None, "timeout", None, None
    except OSError as exc:  # a write to a connection the peer reset
        return None, "reset" if exc.errno in (errno.ECONNRESET, errno.EPIPE) else "other", None, None
    except Exception:  # every failure is data here, never a crash of the generator
        return None, "other", None, None
    data = None
    if resp.body[:1] in (b"{", b"["):
        try:
            data = json.loads(resp.body)
        except ValueError:
            data = None
    served = None
    if isinstance(data, dict):
        served = data.get("served_by") or data.get("instance_id")
    return resp.status, None, data, served or resp.served_by


class Probe:
    """Seed 003's loop: `curl --connect-timeout 3 --max-time 5 $ALB/products; sleep 2`, a new
    connection each time, as curl makes."""

    def __init__(
        self,
        base_url: str,
        *,
        path: str,
        interval_s: float,
        connect_timeout_s: float,
        max_time_s: float,
        on_record: Callable[[Record], None],
        phase: Callable[[], str],
    ) -> None:
        self.url = base_url.rstrip("/") + path
        self.endpoint = f"GET {path}"
        self.interval_s = interval_s
        self.timeout = aiohttp.ClientTimeout(total=max_time_s, sock_connect=connect_timeout_s)
        self.on_record = on_record
        self.phase = phase
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        connector = aiohttp.TCPConnector(force_close=True, limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            while not self._stop.is_set():
                phase = self.phase()
                sent = time.time()
                status, error, _data, served = await _one(session, "GET", self.url, None, {}, self.timeout)
                done = time.time()
                self.on_record(
                    {
                        "t": sent,
                        "sent": sent,
                        "done": done,
                        "endpoint": self.endpoint,
                        "status": status,
                        "error": error,
                        "latency_ms": round((done - sent) * 1000, 2),
                        "served_by": served,
                        "phase": phase,
                        "probe": True,
                    }
                )
                try:
                    await asyncio.wait_for(self._stop.wait(), self.interval_s)
                except TimeoutError:
                    pass
