"""The payment audit trail: one JSON line per processed payment, fsync'd before we answer.

It lives in the task's working directory on purpose: seed 000 stresses the task's disk I/O and
expects payment latency to show it, which it only does if payments really wait on the disk.
"""

from __future__ import annotations

import json
import os


class AuditLog:
    """Append-only JSONL file; each record is durable (fsync) when append() returns."""

    def __init__(self, path: str) -> None:
        self.path = path

    def append(self, record: dict) -> None:
        line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode()
        # O_APPEND keeps concurrent workers' lines whole; one write() per record.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
