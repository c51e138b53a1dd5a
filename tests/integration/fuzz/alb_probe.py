"""Run as a separate process: GET the ALB every `interval` seconds over one keep-alive connection
for `seconds` or until its stdin closes, then print the latencies (ms) as JSON. A process of its
own so the fuzzer's client work cannot delay it through the GIL and blur what the lab's loop does
to the ALB."""

from __future__ import annotations

import http.client
import json
import select
import sys
import time


def probe(port: int, seconds: float, interval: float) -> dict[str, list[float]]:
    latencies: list[float] = []
    errors: list[str] = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    end = time.monotonic() + seconds
    next_at = time.monotonic()
    while time.monotonic() < end and not _told_to_stop():
        start = time.perf_counter()
        try:
            conn.request("GET", "/")
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors.append(f"status {resp.status}")
        except (OSError, http.client.HTTPException) as exc:
            errors.append(repr(exc))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        latencies.append((time.perf_counter() - start) * 1000)
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    conn.close()
    return {"latencies_ms": latencies, "errors": errors}


def _told_to_stop() -> bool:
    """The parent closed our stdin (read returns EOF)."""
    ready, _, _ = select.select([sys.stdin], [], [], 0)
    return bool(ready) and not sys.stdin.read(1)


if __name__ == "__main__":
    port, seconds, interval = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    print(json.dumps(probe(port, seconds, interval)))
