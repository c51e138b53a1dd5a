"""What the lab and its ALB worker processes say to each other.

Two channels per worker. Control messages (the lab's routing table and health decisions going
out, in-flight counts coming back) are small tuples framed on a Unix socket pair; a listening
socket travels with its `listen` message as SCM_RIGHTS. Per-request records go the other way
through a ring in shared memory: one fixed-size slot per request and a write counter, so a
worker pays no system call per request, and a record is readable by the lab before the client
has its response (the worker writes the slot, then the response).
"""

from __future__ import annotations

import pickle
import struct
from typing import Any

# Error kinds recorded with ELB-generated responses, in a fixed order: a record carries the index.
NO_TARGETS = "no_targets"
CONNECT_ERROR = "connect_error"
CONNECT_TIMEOUT_KIND = "connect_timeout"
TARGET_CLOSED = "target_closed"
MALFORMED = "malformed_response"
IDLE_TIMEOUT = "idle_timeout"
ERROR_KINDS: tuple[str | None, ...] = (
    None,
    NO_TARGETS,
    CONNECT_ERROR,
    CONNECT_TIMEOUT_KIND,
    TARGET_CLOSED,
    MALFORMED,
    IDLE_TIMEOUT,
)
ERROR_CODE = {kind: code for code, kind in enumerate(ERROR_KINDS)}

NO_TARGET = -1  # a record's target key when no target was chosen (503 no_targets)

_LENGTH = struct.Struct("<I")
MAX_MESSAGE = 1 << 24  # a routing table of a few thousand targets is well under this


def encode(message: tuple[Any, ...]) -> bytes:
    """One framed control message. Both ends are this package's own processes, so pickle is
    safe here, and it keeps the messages plain tuples."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(body)) + body


class Decoder:
    """Splits a byte stream back into messages; keeps a partial frame for the next feed."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[Any, ...]]:
        buffer = self._buffer
        buffer += data
        out: list[tuple[Any, ...]] = []
        offset = 0
        while len(buffer) - offset >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(buffer, offset)
            if size > MAX_MESSAGE:
                raise ValueError(f"control message of {size} bytes is not one of ours")
            end = offset + _LENGTH.size + size
            if len(buffer) < end:
                break
            out.append(pickle.loads(bytes(buffer[offset + _LENGTH.size : end])))
            offset = end
        del buffer[:offset]
        return out


# The record ring --------------------------------------------------------------------------
# A slot: epoch time, latency, load balancer key, target group key, target key, status,
# ELB-generated flag, error kind code.
RECORD = struct.Struct("<ddiiiHBB")
_COUNTER = struct.Struct("<Q")
HEADER = 64  # the write counter, alone on its cache line
DEFAULT_SLOTS = 1 << 16  # 2 MiB a worker; the lab drains ten times a second


def ring_size(slots: int = DEFAULT_SLOTS) -> int:
    return HEADER + slots * RECORD.size


class RingWriter:
    """The worker's end: one slot per request, then the counter (readers trust slots below it).
    The counter is stored after the slot; x86-64 makes stores visible to other cores in program
    order, so a reader that sees the counter sees the slot. (A weaker memory model could, rarely,
    let a reader see a slot before all of it landed.)"""

    __slots__ = ("_buf", "_slots", "_count", "_pack", "_store")

    def __init__(self, buf: Any, slots: int = DEFAULT_SLOTS) -> None:
        self._buf = buf
        self._slots = slots
        self._count = _COUNTER.unpack_from(buf, 0)[0]
        self._pack = RECORD.pack_into
        self._store = _COUNTER.pack_into

    def write(
        self, when: float, latency: float, lb: int, tg: int, target: int, status: int, elb: bool, error: int
    ) -> None:
        count = self._count
        self._pack(
            self._buf, HEADER + (count % self._slots) * RECORD.size, when, latency, lb, tg, target, status, elb, error
        )
        self._count = count + 1
        self._store(self._buf, 0, count + 1)


class RingReader:
    """The lab's end: every record written since the last read, oldest first. A reader that
    fell more than a ring behind skips what was overwritten and counts it in `lost`."""

    def __init__(self, buf: Any, slots: int = DEFAULT_SLOTS) -> None:
        self._buf = buf
        self._slots = slots
        self._read = 0
        self.lost = 0

    def read(self) -> list[tuple[float, float, int, int, int, int, int, int]]:
        written = _COUNTER.unpack_from(self._buf, 0)[0]
        if written - self._read > self._slots:
            self.lost += written - self._read - self._slots
            self._read = written - self._slots
        start, end = self._read % self._slots, written % self._slots
        count = written - self._read
        self._read = written
        if count == 0:
            return []
        view = memoryview(self._buf)
        if start < end:
            return list(RECORD.iter_unpack(view[HEADER + start * RECORD.size : HEADER + end * RECORD.size]))
        first = list(RECORD.iter_unpack(view[HEADER + start * RECORD.size : HEADER + self._slots * RECORD.size]))
        return first + list(RECORD.iter_unpack(view[HEADER : HEADER + end * RECORD.size]))
