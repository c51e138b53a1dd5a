"""The open-loop generator against a real HTTP server in another process: it holds its rate
without drifting, records served_by, and classifies refused connections and timeouts; its
processes (`workload.processes`) end with the run."""

import asyncio
import signal
import socket
import subprocess
import sys

import psutil
import pytest

from chaoslab.experiment.hypothesis import percentile
from chaoslab.experiment.processes import WorkloadProcesses
from chaoslab.experiment.workload import Probe, RequestSpec, Workload

SERVER = r"""
import asyncio, sys
BODY = b'{"served_by": "i-bench", "ok": true}'
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if b" /slow" in head.split(b"\r\n", 1)[0]:
                await asyncio.sleep(3)
            if b" /moved" in head.split(b"\r\n", 1)[0]:
                writer.write(b"HTTP/1.1 302 Found\r\nLocation: /products\r\nContent-Length: 0\r\n\r\n")
                continue
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


@pytest.fixture
def server():
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(5)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _run(workload, seconds):
    task = asyncio.create_task(workload.run())
    await asyncio.sleep(seconds)
    workload.stop()
    await task


def test_open_loop_holds_250_per_second_without_drift(server):
    records = []
    specs = [
        RequestSpec("/products", 200),
        RequestSpec("/orders", 50, method="POST", body={"product_id": "{{randint 1 10}}", "quantity": 1}),
    ]
    w = Workload(server, specs, on_record=records.append, phase=lambda: "baseline")
    seconds = 4.0
    asyncio.run(_run(w, seconds))
    assert len(records) >= 0.97 * 250 * seconds
    assert all(r["status"] == 200 and r["served_by"] == "i-bench" for r in records)
    lag = [(r["sent"] - r["t"]) * 1000 for r in records]
    # schedule slots are evenly spaced: the generator did not slow down with the server
    gets = sorted(r["t"] for r in records if r["endpoint"] == "GET /products")
    assert abs((gets[-1] - gets[0]) / (len(gets) - 1) - 1 / 200) < 1e-4
    print(
        f"\nopen loop: {len(records) / seconds:.0f} req/s, send lag p50 {percentile(lag, 50):.2f} ms "
        f"p99 {percentile(lag, 99):.2f} ms, latency p99 {percentile([r['latency_ms'] for r in records], 99):.1f} ms"
    )
    # How late requests leave is a performance figure (benchmarks/ measures it on a quiet machine);
    # here only that the typical request leaves on time: a closed loop would lag by whole latencies.
    assert percentile(lag, 50) < 10


def test_one_generator_process_on_uvloop_keeps_the_schedule(server):
    """`workload.processes: 1`: the generator runs in a process of its own, on uvloop, whose
    loop clock moves in whole milliseconds; lateness is read from the monotonic clock, so a
    send on time counts as on time there too."""
    records = []
    w = WorkloadProcesses(
        server, [{"path": "/products", "rate": 200}], processes=1, on_record=records.append, phase=lambda: "baseline"
    )

    async def go():
        task = asyncio.create_task(w.run())
        await w.started.wait()
        await asyncio.sleep(2.0)
        w.stop()
        await task

    asyncio.run(go())
    assert len(records) >= 0.97 * 200 * 2 and all(r["status"] == 200 for r in records)
    slots = sorted(r["t"] for r in records)
    assert max(abs(b - a - 1 / 200) for a, b in zip(slots, slots[1:], strict=False)) < 1e-4
    # a millisecond loop clock would put the median send 0.5 ms late; a loaded box adds its own
    assert percentile([(r["sent"] - r["t"]) * 1000 for r in records], 50) < 10


def test_redirects_are_followed(server):
    records = []
    w = Workload(server, [RequestSpec("/moved", 20)], on_record=records.append, phase=lambda: "baseline")
    asyncio.run(_run(w, 0.5))
    assert len(records) >= 9
    assert all(r["status"] == 200 and r["served_by"] == "i-bench" for r in records)


def test_open_loop_keeps_sending_while_answers_stall(server):
    """A closed loop would send 1 request here; the open loop sends on schedule and times out."""
    records = []
    w = Workload(server, [RequestSpec("/slow", 10)], on_record=records.append, phase=lambda: "injection", timeout_s=1.0)
    asyncio.run(_run(w, 1.0))
    assert len(records) >= 9
    assert {r["error"] for r in records} == {"timeout"}
    assert all(900 <= r["latency_ms"] < 1500 for r in records)


def test_refused_connections_and_probe_timeline():
    records = []
    port = _free_port()
    probe = Probe(
        f"http://127.0.0.1:{port}",
        path="/products",
        interval_s=0.2,
        connect_timeout_s=1,
        max_time_s=1,
        on_record=records.append,
        phase=lambda: "baseline",
    )

    async def go():
        task = asyncio.create_task(probe.run())
        await asyncio.sleep(0.5)
        probe.stop()
        await task

    asyncio.run(go())
    assert len(records) >= 2
    assert all(r["probe"] and r["error"] == "refused" and r["status"] is None for r in records)
    # closed loop: the next probe starts an interval after the previous one ended
    assert records[1]["t"] - records[0]["done"] >= 0.19


PARENT = r"""
import asyncio, sys
from chaoslab.experiment.processes import WorkloadProcesses
async def main():
    w = WorkloadProcesses(sys.argv[1], [{"path": "/products", "rate": 50}], processes=2,
                          on_record=lambda r: None, phase=lambda: "baseline")
    task = asyncio.create_task(w.run())
    await w.started.wait()
    print(*w.pids, flush=True)
    await task
asyncio.run(main())
"""


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_workload_processes_die_with_their_parent(server, how):
    """However the run ends (kill -9, Ctrl-C, kill), its generator processes end with it."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT, server], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in parent.stdout.readline().split()]
    assert len(pids) == 2 and all(psutil.pid_exists(p) for p in pids)
    parent.send_signal(how)
    parent.wait(10)
    gone, alive = psutil.wait_procs([psutil.Process(p) for p in pids if psutil.pid_exists(p)], timeout=5)
    assert alive == []
