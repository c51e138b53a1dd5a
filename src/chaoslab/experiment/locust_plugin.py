"""Loaded by Locust beside the user's locustfile (`locust -f theirs.py,<this file>`): every request
Locust makes becomes one record in the experiment's journal.

Where requests are made (a lone Locust process, or each worker of a distributed run) a listener on
`events.request` keeps a record per request and, every `FLUSH_S`, hands the batch on: a worker as
a `chaoslab-records` message to its master (Locust's own channel, so workers on other machines
need nothing else), a lone process straight to chaoslab. The process chaoslab started (the lone
one or the master) writes each batch as one JSON line, `{"batch": [record, ...]}`, to the pipe
named by `CHAOSLAB_LOCUST_FD`. Batches still held when a run stops are sent from `test_stop`,
which a worker fires when its master tells it to quit, before the master stops listening.

It imports nothing of chaoslab unless chaoslab started the process (`CHAOSLAB_PARENT_PID`), so a
remote worker needs only this file and Locust.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import gevent
from locust import events
from locust.runners import MasterRunner, WorkerRunner

MESSAGE = "chaoslab-records"
FLUSH_S = 0.05

_pending: list[dict[str, Any]] = []
_out_fd: int | None = None


def _error_kind(exception: BaseException | None, status: int | None) -> str | None:
    """The workload's error kinds (timeout, refused, reset, other) for a request that got no
    HTTP answer; None for one that did (its status says the rest)."""
    if exception is None:
        return None if status else "other"
    text = f"{type(exception).__name__} {exception}".lower()
    for kind, marks in (("timeout", ("timeout", "timed out")), ("refused", ("refused",)), ("reset", ("reset",))):
        if any(mark in text for mark in marks):
            return kind
    return None if status else "other"


def _on_request(
    request_type: str,
    name: str,
    response_time: float,
    response: Any = None,
    exception: BaseException | None = None,
    start_time: float | None = None,
    **_: Any,
) -> None:
    status = getattr(response, "status_code", None) or None  # 0: no answer
    sent = start_time if start_time is not None else time.time() - response_time / 1000
    _pending.append(
        {
            "t": sent,
            "sent": sent,
            "done": sent + response_time / 1000,
            "endpoint": f"{request_type} {name}",
            "status": status,
            "error": _error_kind(exception, status),
            "latency_ms": round(response_time, 2),
            "served_by": None,
            "probe": False,
            "attempts": 1,
        }
    )


def _take() -> list[dict[str, Any]]:
    global _pending
    batch, _pending = _pending, []
    return batch


def _write(batch: list[dict[str, Any]]) -> None:
    """One JSON line to chaoslab (a blocking write: chaoslab reads the pipe all along)."""
    if not batch or _out_fd is None:
        return
    data = memoryview(json.dumps({"batch": batch}, separators=(",", ":")).encode() + b"\n")
    while data:
        data = data[os.write(_out_fd, data) :]


@events.init.add_listener
def _init(environment: Any, runner: Any = None, **_: Any) -> None:
    global _out_fd
    if os.environ.get("CHAOSLAB_PARENT_PID"):
        from chaoslab.runtime.parentdeath import die_with_parent

        die_with_parent(int(os.environ["CHAOSLAB_PARENT_PID"]))
    if os.environ.get("CHAOSLAB_LOCUST_FD"):
        _out_fd = int(os.environ["CHAOSLAB_LOCUST_FD"])
    if isinstance(runner, MasterRunner):
        runner.register_message(MESSAGE, lambda msg, **_: _write(msg.data))
        return
    environment.events.request.add_listener(_on_request)
    to_master = isinstance(runner, WorkerRunner)

    def hand_on(**_: Any) -> None:
        batch = _take()
        if batch and to_master:
            runner.send_message(MESSAGE, batch)
        else:
            _write(batch)

    environment.events.test_stop.add_listener(hand_on)

    def flush_forever() -> None:
        while True:
            gevent.sleep(FLUSH_S)
            hand_on()

    gevent.spawn(flush_forever)
