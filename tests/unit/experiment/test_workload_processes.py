"""The parent side of `workload.processes`: what each generator process writes back becomes the
runner's records and integrity writes exactly as a single generator's would."""

import asyncio
import json
from types import SimpleNamespace

from chaoslab.experiment.processes import WorkloadProcesses
from chaoslab.experiment.workload import RequestSpec

DOCS = [
    {"path": "/products", "rate": 10},
    {"method": "POST", "path": "/orders", "rate": 2, "body": {"product_id": 1, "quantity": 1}},
]


def _record(t, endpoint="GET /products"):
    return {"t": t, "sent": t, "done": t + 0.01, "endpoint": endpoint, "status": 200, "error": None}


def _feed(pool, lines):
    async def go():
        reader = asyncio.StreamReader()
        reader.feed_data(b"".join(json.dumps(m).encode() + b"\n" for m in lines))
        reader.feed_eof()
        await pool._read(SimpleNamespace(stdout=reader))

    asyncio.run(go())


def test_records_and_writes_of_a_process_reach_the_runner():
    records, writes = [], []
    pool = WorkloadProcesses(
        "http://127.0.0.1:1",
        DOCS,
        processes=2,
        on_record=records.append,
        phase=lambda: "baseline",
        on_write=lambda spec, body, key, attempts: writes.append((spec, body, key, attempts)),
    )
    attempts = [[503, None, None], [201, None, {"order_id": "o-1"}]]
    _feed(
        pool, [{"r": _record(1.0)}, {"w": [1, {"product_id": 1, "quantity": 1}, "k-1", attempts]}, {"r": _record(1.1)}]
    )
    assert [r["t"] for r in records] == [1.0, 1.1]
    spec, body, key, got = writes[0]
    assert spec == RequestSpec.from_doc(DOCS[1]) and body == {"product_id": 1, "quantity": 1} and key == "k-1"
    assert got == [(503, None, None), (201, None, {"order_id": "o-1"})]  # tuples, as the ledger reads them


def test_a_batch_line_is_read_in_order():
    """A generator writes what it collected in a flush period as one line."""
    records = []
    pool = WorkloadProcesses("http://127.0.0.1:1", DOCS, processes=2, on_record=records.append, phase=lambda: "x")
    pool.on_write = lambda spec, body, key, attempts: records.append({"t": "write"})
    batch = [{"r": _record(1.0)}, {"w": [1, {}, None, []]}, {"r": _record(1.1)}]
    _feed(pool, [{"batch": batch}, {"batch": [{"r": _record(1.2)}]}])
    assert [r["t"] for r in records] == [1.0, "write", 1.1, 1.2]


def test_records_without_a_write_observer_are_still_kept():
    records = []
    pool = WorkloadProcesses("http://127.0.0.1:1", DOCS, processes=2, on_record=records.append, phase=lambda: "x")
    _feed(pool, [{"w": [1, {}, None, []]}, {"r": _record(2.0, "POST /orders")}])
    assert [r["endpoint"] for r in records] == ["POST /orders"]
