"""The stress worker: one real process doing one kind of load inside a unit.

Run as `python -m chaoslab.faults.worker <kind> --dir D --index N --duration S ...`. A worker
starts, says so with `<dir>/ready-<index>`, and waits idle for `<dir>/go`: the controller journals the worker's pid (the undo
record) before it creates that file, so no load ever runs without a way to undo it. Each
worker ends on its own at its deadline, and on SIGTERM, removing the files it made.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

GO_FILE = "go"
READY_PREFIX = "ready-"  # `ready-<index>`: the worker has started and is idle, waiting for go
GO_POLL_SECONDS = 0.02  # about 1% of a core while armed, and go lands within 20 ms
GO_WAIT_SECONDS = 60.0  # an orphan whose controller never said go gives up and exits
CPU_PERIOD = 0.1  # duty-cycle period: short enough that a 3 s sample sees a steady load
IO_CHUNK = 1024 * 1024
STATS_INTERVAL = 0.25
PAGE = 4096


class Stop(Exception):
    """SIGTERM: unwind so `finally` blocks remove what the worker made."""


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise Stop()


def wait_for_go(workdir: Path) -> bool:
    deadline = time.monotonic() + GO_WAIT_SECONDS
    while time.monotonic() < deadline:
        if (workdir / GO_FILE).exists():
            return True
        time.sleep(GO_POLL_SECONDS)
    return False


def cpu(percent: float, end: float) -> None:
    """Burn `percent` of one core: spin until this period's CPU share is used, sleep the rest.
    Counting CPU time (not wall time), and carrying a short-changed period's shortfall (at most
    one share) into the next, keeps the share right when the core is contended."""
    share = max(0.0, min(100.0, percent)) / 100.0 * CPU_PERIOD
    carry = 0.0
    while time.monotonic() < end:
        t0, c0 = time.monotonic(), time.process_time()
        allowance = share + carry
        while time.process_time() - c0 < allowance and time.monotonic() - t0 < CPU_PERIOD:
            pass
        carry = max(0.0, min(allowance - (time.process_time() - c0), share))
        rest = CPU_PERIOD - (time.monotonic() - t0)
        if rest > 0:
            time.sleep(min(rest, max(0.0, end - time.monotonic())))


def _write_stats(path: Path, stats: dict[str, float]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stats))
    tmp.replace(path)


def io(limit: int, end: float, data: Path, stats_path: Path) -> None:
    """Write and fsync 1 MiB chunks into `data`, wrapping at `limit` bytes, until `end`;
    publish running totals so callers can report bytes and fsyncs per second."""
    chunk = os.urandom(min(IO_CHUNK, max(PAGE, limit)))
    stats = {"bytes": 0, "fsyncs": 0, "started": time.time(), "updated": time.time()}
    fd = os.open(data, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        offset, next_stats = 0, 0.0
        while time.monotonic() < end:
            if offset + len(chunk) > limit:
                offset = 0
            offset += os.pwrite(fd, chunk, offset)
            os.fsync(fd)
            stats["bytes"] += len(chunk)
            stats["fsyncs"] += 1
            if time.monotonic() >= next_stats:
                stats["updated"] = time.time()
                _write_stats(stats_path, stats)
                next_stats = time.monotonic() + STATS_INTERVAL
    finally:
        os.close(fd)
        stats["updated"] = time.time()
        _write_stats(stats_path, stats)
        data.unlink(missing_ok=True)


def memory(size: int, end: float) -> None:
    """Hold `size` bytes resident: allocate and touch every page, then wait."""
    block = bytearray(size)
    for i in range(0, size, PAGE):
        block[i] = 1
    while time.monotonic() < end:
        time.sleep(min(0.5, max(0.0, end - time.monotonic())))
    del block


def disk_fill(size: int, end: float, data: Path) -> None:
    """Allocate `size` real blocks (as the AWS document's fallocate does) until `end`."""
    fd = os.open(data, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        if size > 0:
            os.posix_fallocate(fd, 0, size)
            os.fsync(fd)
        while time.monotonic() < end:
            time.sleep(min(0.5, max(0.0, end - time.monotonic())))
    finally:
        os.close(fd)
        data.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chaoslab.faults.worker")
    parser.add_argument("kind", choices=("cpu", "io", "memory", "disk-fill"))
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--percent", type=float, default=100.0)
    parser.add_argument("--bytes", type=int, default=0)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_term)
    try:
        (args.dir / f"{READY_PREFIX}{args.index}").touch()
        if not wait_for_go(args.dir):
            return 3
        end = time.monotonic() + args.duration
        if args.kind == "cpu":
            cpu(args.percent, end)
        elif args.kind == "io":
            io(args.bytes, end, args.dir / f"io-{args.index}.dat", args.dir / f"io-{args.index}.json")
        elif args.kind == "memory":
            memory(args.bytes, end)
        else:
            disk_fill(args.bytes, end, args.dir / f"fill-{args.index}.dat")
    except Stop:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
