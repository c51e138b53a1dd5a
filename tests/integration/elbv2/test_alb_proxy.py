"""The ALB data plane against real HTTP targets on 127.0.0.x: routing, ALB errors, draining."""

from __future__ import annotations

import asyncio
import collections
import re
import time
from pathlib import Path

import aiohttp

from .helpers import HttpTarget, assert_nothing_left, make_alb, make_lab, wait_for_state


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str, dict[str, str]]:
    async with session.get(url) as resp:
        return resp.status, await resp.text(), dict(resp.headers)


def test_round_robin_over_two_healthy_targets(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = make_lab(tmp_path)
        await lab.elbv2.start()
        a = await HttpTarget("127.0.0.2", "a").start()
        b = await HttpTarget("127.0.0.3", "b").start()
        alb = await make_alb(lab)
        lab.elbv2.register_targets(
            TargetGroupArn=alb["tg"], Targets=[{"Id": "127.0.0.2", "Port": a.port}, {"Id": "127.0.0.3", "Port": b.port}]
        )
        await wait_for_state(lab, alb["tg"], "127.0.0.2", "healthy")
        await wait_for_state(lab, alb["tg"], "127.0.0.3", "healthy")
        async with aiohttp.ClientSession() as session:
            replies = [await _get(session, alb["url"] + "/") for _ in range(20)]
        assert {status for status, _, _ in replies} == {200}
        assert collections.Counter(body for _, body, _ in replies) == {"a": 10, "b": 10}
        records = lab.elbv2.recent_requests()
        assert len(records) == 20 and all(r["source"] == "target" for r in records)
        await asyncio.sleep(1.2)  # one metric flush
        lb_dim = {"LoadBalancer": alb["lb"].split("loadbalancer/")[1]}
        assert lab.cloudwatch.total("RequestCount", lb_dim) == 20
        assert lab.cloudwatch.total("HTTPCode_Target_2XX_Count", lb_dim) == 20
        assert lab.cloudwatch.total("HTTPCode_ELB_5XX_Count", lb_dim) == 0
        await lab.elbv2.stop()
        await assert_nothing_left(lab, alb["url"])
        await a.kill()
        await b.kill()

    run(scenario())


def test_forwarded_headers_and_request_body(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = make_lab(tmp_path)
        await lab.elbv2.start()
        a = await HttpTarget("127.0.0.2", "a").start()
        alb = await make_alb(lab)
        lab.elbv2.register_targets(TargetGroupArn=alb["tg"], Targets=[{"Id": "127.0.0.2", "Port": a.port}])
        await wait_for_state(lab, alb["tg"], "127.0.0.2", "healthy")
        port = alb["url"].rsplit(":", 1)[1]
        async with aiohttp.ClientSession() as session:
            async with session.post(
                alb["url"] + "/orders?x=1", data=b"hello", headers={"X-Forwarded-For": "203.0.113.9"}
            ) as resp:
                assert resp.status == 200
        seen = [r for r in a.requests if r["path"] == "/orders?x=1"][0]
        assert seen["method"] == "POST"
        assert seen["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
        assert seen["x-forwarded-proto"] == "http"
        assert seen["x-forwarded-port"] == port
        assert seen["content-length"] == "5"
        assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", seen["x-amzn-trace-id"])
        await lab.elbv2.stop()
        await a.kill()

    run(scenario())


def test_503_when_no_targets_registered(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = make_lab(tmp_path)
        await lab.elbv2.start()
        alb = await make_alb(lab)
        async with aiohttp.ClientSession() as session:
            status, body, headers = await _get(session, alb["url"] + "/")
        assert status == 503
        assert headers["Server"] == "awselb/2.0"
        assert "503 Service Temporarily Unavailable" in body
        await asyncio.sleep(1.2)
        lb_dim = {"LoadBalancer": alb["lb"].split("loadbalancer/")[1]}
        assert lab.cloudwatch.total("HTTPCode_ELB_503_Count", lb_dim) == 1
        assert lab.cloudwatch.total("RequestCount", lb_dim) == 0  # no target was chosen
        await lab.elbv2.stop()

    run(scenario())


def test_killed_target_gives_502_until_marked_unhealthy(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = make_lab(tmp_path)
        await lab.elbv2.start()
        changes: list[tuple[str, str, str | None]] = []
        lab.elbv2.add_health_listener(lambda tg, target, port, old, new, reason: changes.append((target, new, reason)))
        a = await HttpTarget("127.0.0.2", "a").start()
        b = await HttpTarget("127.0.0.3", "b").start()
        alb = await make_alb(lab, interval=1, unhealthy=2)
        lab.elbv2.register_targets(
            TargetGroupArn=alb["tg"], Targets=[{"Id": "127.0.0.2", "Port": a.port}, {"Id": "127.0.0.3", "Port": b.port}]
        )
        await wait_for_state(lab, alb["tg"], "127.0.0.2", "healthy")
        await wait_for_state(lab, alb["tg"], "127.0.0.3", "healthy")
        await b.kill()
        loop = asyncio.get_running_loop()
        killed_at = loop.time()
        timeline: list[tuple[float, int]] = []
        async with aiohttp.ClientSession() as session:
            while loop.time() - killed_at < 4.0:
                timeline.append((time.time(), (await _get(session, alb["url"] + "/"))[0]))
                await asyncio.sleep(0.02)
            health = lab.elbv2.describe_target_health(
                TargetGroupArn=alb["tg"], Targets=[{"Id": "127.0.0.3", "Port": b.port}]
            )["TargetHealthDescriptions"][0]["TargetHealth"]
            assert health["State"] == "unhealthy"
            assert health["Reason"] == "Target.FailedHealthChecks"
            after = [(await _get(session, alb["url"] + "/"))[0] for _ in range(10)]
        statuses = [s for _, s in timeline]
        assert 502 in statuses and 200 in statuses
        marked = [
            e["time"]
            for e in lab.events.since(kinds={"target.health"})
            if e["target"] == "127.0.0.3" and e["state"] == "unhealthy" and e["old"] == "healthy"
        ]
        assert len(marked) == 1
        # The detection window: 502s only before the ALB marked the target unhealthy, none after.
        assert all(t < marked[0] for t, s in timeline if s == 502)
        assert all(s == 200 for t, s in timeline if t > marked[0])
        assert after == [200] * 10
        assert ("127.0.0.3", "unhealthy", "Target.FailedHealthChecks") in changes
        assert ("127.0.0.3", "healthy", None) in changes
        await b.start(b.port)  # the process comes back: healthy again after 2 consecutive passes
        assert await wait_for_state(lab, alb["tg"], "127.0.0.3", "healthy") >= 0.9
        errors = [r for r in lab.elbv2.recent_requests() if r["status"] == 502]
        assert errors and all(r["target"] == "127.0.0.3" and r["error"] == "connect_error" for r in errors)
        await asyncio.sleep(1.2)
        lb_dim = {"LoadBalancer": alb["lb"].split("loadbalancer/")[1]}
        assert lab.cloudwatch.total("HTTPCode_ELB_502_Count", lb_dim) == statuses.count(502)
        assert lab.cloudwatch.total("TargetConnectionErrorCount", lb_dim) == statuses.count(502)
        await lab.elbv2.stop()
        await assert_nothing_left(lab, alb["url"])
        await a.kill()
        await b.kill()

    run(scenario())


def test_fail_open_when_every_target_is_unhealthy(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = make_lab(tmp_path)
        await lab.elbv2.start()
        a = await HttpTarget("127.0.0.2", "a", mode="status", status=503).start()
        b = await HttpTarget("127.0.0.3", "b", mode="status", status=503).start()
        alb = await make_alb(lab, interval=1, unhealthy=2)
        lab.elbv2.register_targets(
            TargetGroupArn=alb["tg"], Targets=[{"Id": "127.0.0.2", "Port": a.port}, {"Id": "127.0.0.3", "Port": b.port}]
        )
        await wait_for_state(lab, alb["tg"], "127.0.0.2", "unhealthy")
        await wait_for_state(lab, alb["tg"], "127.0.0.3", "unhealthy")
        health = lab.elbv2.describe_target_health(TargetGroupArn=alb["tg"])["TargetHealthDescriptions"][0][
            "TargetHealth"
        ]
        assert health == {
            "State": "unhealthy",
            "Reason": "Target.ResponseCodeMismatch",
            "Description": "Health checks failed with these codes: [503]",
        }
        async with aiohttp.ClientSession() as session:
            replies = [await _get(session, alb["url"] + "/") for _ in range(10)]
        # Routed anyway, to both: the 503s are the targets' own (no awselb Server header).
        assert collections.Counter(body for _, body, _ in replies) == {"a": 5, "b": 5}
        assert all(status == 503 and "Server" not in headers for status, _, headers in replies)
        await asyncio.sleep(1.2)
        lb_dim = {"LoadBalancer": alb["lb"].split("loadbalancer/")[1]}
        tg_dims = dict(lb_dim, TargetGroup=alb["tg"].split(":")[-1])
        assert lab.cloudwatch.total("HTTPCode_Target_5XX_Count", tg_dims) == 10
        assert lab.cloudwatch.total("HTTPCode_ELB_5XX_Count", lb_dim) == 0
        counts = [v[0] for _, n, d, v, _ in lab.cloudwatch.calls if n == "UnHealthyHostCount" and d == tg_dims]
        assert counts and counts[-1] == 2
        await lab.elbv2.stop()
        await a.kill()
        await b.kill()

    run(scenario())


def test_504_when_target_never_answers(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = make_lab(tmp_path)
        await lab.elbv2.start()
        a = await HttpTarget("127.0.0.2", "a", mode="hang").start()
        alb = await make_alb(lab, idle=1)
        lab.elbv2.register_targets(TargetGroupArn=alb["tg"], Targets=[{"Id": "127.0.0.2", "Port": a.port}])
        loop = asyncio.get_running_loop()
        async with aiohttp.ClientSession() as session:
            start = loop.time()
            status, body, headers = await _get(session, alb["url"] + "/slow")
            took = loop.time() - start
        assert status == 504 and headers["Server"] == "awselb/2.0" and "504 Gateway Time-out" in body
        assert 0.9 <= took < 2.5
        assert lab.elbv2.recent_requests()[-1]["error"] == "idle_timeout"
        await wait_for_state(lab, alb["tg"], "127.0.0.2", "unhealthy")  # its probes time out too
        health = lab.elbv2.describe_target_health(TargetGroupArn=alb["tg"])["TargetHealthDescriptions"][0]
        assert health["TargetHealth"] == {
            "State": "unhealthy",
            "Reason": "Target.Timeout",
            "Description": "Request timed out",
        }
        await lab.elbv2.stop()
        await a.kill()

    run(scenario())


def test_502_when_target_closes_mid_request(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = make_lab(tmp_path)
        await lab.elbv2.start()
        a = await HttpTarget("127.0.0.2", "a", mode="close").start()
        alb = await make_alb(lab)
        lab.elbv2.register_targets(TargetGroupArn=alb["tg"], Targets=[{"Id": "127.0.0.2", "Port": a.port}])
        async with aiohttp.ClientSession() as session:
            status, _, headers = await _get(session, alb["url"] + "/")
        assert status == 502 and headers["Server"] == "awselb/2.0"
        assert lab.elbv2.recent_requests()[-1]["error"] == "target_closed"
        await lab.elbv2.stop()
        await a.kill()

    run(scenario())


def test_draining_stops_new_requests_and_lasts_the_delay(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = make_lab(tmp_path)
        await lab.elbv2.start()
        a = await HttpTarget("127.0.0.2", "a").start()
        b = await HttpTarget("127.0.0.3", "b").start()
        alb = await make_alb(lab, delay=2)
        targets = [{"Id": "127.0.0.2", "Port": a.port}, {"Id": "127.0.0.3", "Port": b.port}]
        lab.elbv2.register_targets(TargetGroupArn=alb["tg"], Targets=targets)
        await wait_for_state(lab, alb["tg"], "127.0.0.2", "healthy")
        await wait_for_state(lab, alb["tg"], "127.0.0.3", "healthy")
        lab.elbv2.deregister_targets(TargetGroupArn=alb["tg"], Targets=[targets[1]])
        health = lab.elbv2.describe_target_health(TargetGroupArn=alb["tg"], Targets=[targets[1]])
        assert health["TargetHealthDescriptions"][0]["TargetHealth"]["State"] == "draining"
        assert health["TargetHealthDescriptions"][0]["TargetHealth"]["Reason"] == "Target.DeregistrationInProgress"
        async with aiohttp.ClientSession() as session:
            bodies = [(await _get(session, alb["url"] + "/"))[1] for _ in range(6)]
        assert bodies == ["a"] * 6
        waited = await wait_for_state(lab, alb["tg"], "127.0.0.2", "healthy")  # unaffected
        assert waited < 0.05
        await asyncio.sleep(2.3)
        health = lab.elbv2.describe_target_health(TargetGroupArn=alb["tg"], Targets=[targets[1]])
        assert health["TargetHealthDescriptions"][0]["TargetHealth"] == {
            "State": "unused",
            "Reason": "Target.NotRegistered",
            "Description": "Target is not registered to the target group",
        }
        assert len(lab.elbv2.describe_target_health(TargetGroupArn=alb["tg"])["TargetHealthDescriptions"]) == 1
        await lab.elbv2.stop()
        await a.kill()
        await b.kill()

    run(scenario())


def test_in_flight_request_completes_while_draining(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = make_lab(tmp_path)
        await lab.elbv2.start()

        async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if head.startswith(b"GET /slow"):
                    await asyncio.sleep(0.5)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone")
                await writer.drain()

        server = await asyncio.start_server(slow, "127.0.0.2", 0)
        port = server.sockets[0].getsockname()[1]
        alb = await make_alb(lab, delay=5)
        target = {"Id": "127.0.0.2", "Port": port}
        lab.elbv2.register_targets(TargetGroupArn=alb["tg"], Targets=[target])
        await wait_for_state(lab, alb["tg"], "127.0.0.2", "healthy")
        async with aiohttp.ClientSession() as session:
            in_flight = asyncio.ensure_future(_get(session, alb["url"] + "/slow"))
            await asyncio.sleep(0.1)
            lab.elbv2.deregister_targets(TargetGroupArn=alb["tg"], Targets=[target])
            status, body, _ = await in_flight
            assert (status, body) == (200, "done")
            assert (await _get(session, alb["url"] + "/"))[0] == 503  # no registered targets left
        await lab.elbv2.stop()
        server.close()
        await server.wait_closed()

    run(scenario())


def test_instance_targets_resolve_through_ec2(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = make_lab(tmp_path)
        await lab.elbv2.start()
        a = await HttpTarget("127.0.0.4", "inst").start()
        lab.ec2.addresses["i-0123456789abcdef0"] = "127.0.0.4"
        alb = await make_alb(lab, target_type="instance")
        lab.elbv2.register_targets(TargetGroupArn=alb["tg"], Targets=[{"Id": "i-0123456789abcdef0", "Port": a.port}])
        await wait_for_state(lab, alb["tg"], "i-0123456789abcdef0", "healthy")
        async with aiohttp.ClientSession() as session:
            assert (await _get(session, alb["url"] + "/"))[1] == "inst"
        await lab.elbv2.stop()
        await a.kill()

    run(scenario())


def test_504_when_target_cannot_be_reached_in_time(tmp_path: Path, monkeypatch) -> None:
    """A target whose SYNs are dropped (full accept queue, like a stopped host) -> 504 after the
    connect timeout (10 s on AWS; shortened here so the test stays fast)."""
    import socket

    from chaoslab.net import alb as alb_module

    monkeypatch.setattr(alb_module, "CONNECT_TIMEOUT", 0.5)

    async def scenario() -> None:
        lab = make_lab(tmp_path)
        await lab.elbv2.start()
        full = socket.socket()
        full.bind(("127.0.0.5", 0))
        full.listen(0)
        port = full.getsockname()[1]
        fillers = []
        for _ in range(4):  # fill the accept queue; further SYNs are dropped
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.5", port))
            fillers.append(s)
        await asyncio.sleep(0.2)
        alb = await make_alb(lab, interval=30)
        lab.elbv2.register_targets(TargetGroupArn=alb["tg"], Targets=[{"Id": "127.0.0.5", "Port": port}])
        async with aiohttp.ClientSession() as session:
            status, _, headers = await _get(session, alb["url"] + "/")
        assert status == 504 and headers["Server"] == "awselb/2.0"
        assert lab.elbv2.recent_requests()[-1]["error"] == "connect_timeout"
        await lab.elbv2.stop()
        for s in fillers:
            s.close()
        full.close()

    run(scenario())


def test_request_still_in_flight_when_the_delay_ends_gets_502(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = make_lab(tmp_path)
        await lab.elbv2.start()
        a = await HttpTarget("127.0.0.2", "a", mode="hang").start()
        alb = await make_alb(lab, delay=1, idle=30)
        target = {"Id": "127.0.0.2", "Port": a.port}
        lab.elbv2.register_targets(TargetGroupArn=alb["tg"], Targets=[target])
        async with aiohttp.ClientSession() as session:
            in_flight = asyncio.ensure_future(_get(session, alb["url"] + "/forever"))
            await asyncio.sleep(0.2)
            lab.elbv2.deregister_targets(TargetGroupArn=alb["tg"], Targets=[target])
            status, _, headers = await in_flight
        assert status == 502 and headers["Server"] == "awselb/2.0"
        assert lab.elbv2.recent_requests()[-1]["error"] == "target_closed"
        await lab.elbv2.stop()
        await a.kill()

    run(scenario())


def test_initial_targets_get_traffic_only_when_nothing_else_can(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = make_lab(tmp_path)
        await lab.elbv2.start()
        a = await HttpTarget("127.0.0.2", "a").start()
        b = await HttpTarget("127.0.0.3", "b", health_status=503).start()
        alb = await make_alb(lab, interval=30, unhealthy=2, delay=0)
        lab.elbv2.register_targets(
            TargetGroupArn=alb["tg"], Targets=[{"Id": "127.0.0.2", "Port": a.port}, {"Id": "127.0.0.3", "Port": b.port}]
        )
        await wait_for_state(lab, alb["tg"], "127.0.0.2", "healthy")
        await asyncio.sleep(0.1)  # b's first probe failed: one failure, still initial
        health = lab.elbv2.describe_target_health(
            TargetGroupArn=alb["tg"], Targets=[{"Id": "127.0.0.3", "Port": b.port}]
        )["TargetHealthDescriptions"][0]["TargetHealth"]
        assert health == {
            "State": "initial",
            "Reason": "Elb.InitialHealthChecking",
            "Description": "Initial health checks in progress",
        }
        async with aiohttp.ClientSession() as session:
            assert [(await _get(session, alb["url"] + "/"))[1] for _ in range(4)] == ["a"] * 4
            lab.elbv2.deregister_targets(TargetGroupArn=alb["tg"], Targets=[{"Id": "127.0.0.2", "Port": a.port}])
            assert [(await _get(session, alb["url"] + "/"))[1] for _ in range(2)] == ["b"] * 2
        await lab.elbv2.stop()
        await a.kill()
        await b.kill()

    run(scenario())


def test_health_check_port_other_than_traffic_port(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = make_lab(tmp_path)
        await lab.elbv2.start()
        app = await HttpTarget("127.0.0.2", "app").start()
        health = await HttpTarget("127.0.0.2", "health").start()
        alb = await make_alb(lab)
        lab.elbv2.modify_target_group(TargetGroupArn=alb["tg"], HealthCheckPort=str(health.port))
        lab.elbv2.register_targets(TargetGroupArn=alb["tg"], Targets=[{"Id": "127.0.0.2", "Port": app.port}])
        await wait_for_state(lab, alb["tg"], "127.0.0.2", "healthy")
        described = lab.elbv2.describe_target_health(TargetGroupArn=alb["tg"])["TargetHealthDescriptions"][0]
        assert described["HealthCheckPort"] == str(health.port)
        assert [r["path"] for r in health.requests] and not [r for r in app.requests if r["path"] == "/health"]
        await health.kill()  # the app still serves, but its health endpoint is gone
        await wait_for_state(lab, alb["tg"], "127.0.0.2", "unhealthy")
        await lab.elbv2.stop()
        await app.kill()

    run(scenario())
