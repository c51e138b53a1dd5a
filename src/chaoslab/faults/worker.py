"""The stress worker: one real process doing one kind of load inside a unit.

Run as `python -m chaoslab.faults.worker <kind> --dir D --index N --duration S ...`. A worker
starts, says so with `<dir>/ready-<index>`, and waits idle for `<dir>/go`: the controller journals the worker's pid (the undo
record) before it creates that file, so no load ever runs without a way to undo it. Each
worker ends on its own at its deadline, removing the files it made; SIGTERM ends it at once
(the default action), and the controller removes its directory in every revert (`stress._undo`).

A fault on every task of a service starts one of these per CPU in each, so its start-up is the
fault's onset. The lab forks it from a warm Python (`runtime/forkserver.py`) where it can, and
runs it with `python -S` where it cannot (a container's helper); either way it imports only
`os`, `sys` and `time` (argparse, pathlib, json and signal's enums cost about 20 ms of a 40 ms
start).
"""

from __future__ import annotations

import os
import sys
import time

GO_FILE = "go"
READY_PREFIX = "ready-"  # `ready-<index>`: the worker has started and is idle, waiting for go
GO_POLL_SECONDS = 0.02  # about 1% of a core while armed, and go lands within 20 ms
GO_WAIT_SECONDS = 60.0  # an orphan whose controller never said go gives up and exits
CPU_PERIOD = 0.1  # duty-cycle period: short enough that a 3 s sample sees a steady load
IO_CHUNK = 1024 * 1024
STATS_INTERVAL = 0.25
PAGE = 4096


def wait_for_go(workdir: str) -> bool:
    deadline = time.monotonic() + GO_WAIT_SECONDS
    go = os.path.join(workdir, GO_FILE)
    while time.monotonic() < deadline:
        if os.path.exists(go):
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


def _write_stats(path: str | os.PathLike[str], stats: dict[str, float]) -> None:
    import json  # only the I/O worker publishes; see the module's docstring

    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w") as out:
        json.dump(stats, out)
    os.replace(tmp, path)


def io(limit: int, end: float, data: str | os.PathLike[str], stats_path: str | os.PathLike[str]) -> None:
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
        _remove(data)


def memory(size: int, end: float) -> None:
    """Hold `size` bytes resident: allocate and touch every page, then wait."""
    block = bytearray(size)
    for i in range(0, size, PAGE):
        block[i] = 1
    while time.monotonic() < end:
        time.sleep(min(0.5, max(0.0, end - time.monotonic())))
    del block


def disk_fill(size: int, end: float, data: str | os.PathLike[str]) -> None:
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
        _remove(data)


def _remove(path: str | os.PathLike[str]) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


KINDS = ("cpu", "io", "memory", "disk-fill")
OPTIONS = {"dir": str, "index": int, "duration": float, "percent": float, "bytes": int}


def parse(argv: list[str]) -> tuple[str, dict[str, str | int | float]]:
    """`<kind> --name value|--name=value ...`, as `stress.Stress.arm` writes it. ValueError
    names what is wrong (the lab is the only caller; argparse alone cost 8 ms of start-up)."""
    if not argv or argv[0] not in KINDS:
        raise ValueError(f"the first argument must be one of {', '.join(KINDS)}")
    options: dict[str, str | int | float] = {"index": 0, "percent": 100.0, "bytes": 0}
    rest = iter(argv[1:])
    for arg in rest:
        name, eq, value = arg.partition("=")
        key = name[2:]
        if not name.startswith("--") or key not in OPTIONS:
            raise ValueError(f"unknown option {name!r} (known: {', '.join('--' + k for k in OPTIONS)})")
        options[key] = OPTIONS[key](value if eq else next(rest, ""))
    for required in ("dir", "duration"):
        if required not in options:
            raise ValueError(f"--{required} is required")
    return argv[0], options


def main(argv: list[str] | None = None) -> int:
    try:
        kind, options = parse(sys.argv[1:] if argv is None else argv)
    except ValueError as exc:
        print(f"chaoslab.faults.worker: {exc}", file=sys.stderr)
        return 2
    workdir, index = str(options["dir"]), int(options["index"])
    size = int(options["bytes"])
    with open(os.path.join(workdir, f"{READY_PREFIX}{index}"), "w"):
        pass
    if not wait_for_go(workdir):
        return 3
    end = time.monotonic() + float(options["duration"])
    if kind == "cpu":
        cpu(float(options["percent"]), end)
    elif kind == "io":
        io(size, end, os.path.join(workdir, f"io-{index}.dat"), os.path.join(workdir, f"io-{index}.json"))
    elif kind == "memory":
        memory(size, end)
    else:
        disk_fill(size, end, os.path.join(workdir, f"fill-{index}.dat"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
