"""The dashboard's JSON endpoints against a real in-process lab (real instances behind a real ALB,
real PostgreSQL): topology with health, traffic per second, the timeline, the safety lever."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from dashboard_lab import private_stack

from chaoslab.aws import guard
from chaoslab.config import LabConfig
from chaoslab.daemon import wait_ready
from chaoslab.lab import Lab
from chaoslab.stack import apply_stack

WAIT_TEMPLATE = {
    "description": "dashboard: a long wait the lever must stop",
    "roleArn": "arn:aws:iam::123456789012:role/chaos-lab-fis-role",
    "stopConditions": [{"source": "none"}],
    "targets": {},
    "actions": {"hold": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT5M"}}},
}


async def get(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as resp:
        assert resp.status == 200, (url, resp.status, await resp.text())
        return await resp.json()


async def post_lever(session: aiohttp.ClientSession, api: str, body: Any, token: str | None) -> tuple[int, Any]:
    headers = {guard.TOKEN_HEADER: token} if token else {}
    async with session.post(f"{api}/_chaoslab/api/safety-lever", json=body, headers=headers) as resp:
        return resp.status, await resp.json()


LAB_GETS = [
    "/_chaoslab",
    "/_chaoslab/",
    "/_chaoslab/static/app.js",
    "/_chaoslab/api/overview",
    "/_chaoslab/api/traffic",
    "/_chaoslab/api/timeline",
    "/_chaoslab/status",
    "/_chaoslab/events",
    "/_chaoslab/alb-requests",
]


async def foreign_host_is_refused(s: aiohttp.ClientSession, api: str, token: str) -> None:
    """A DNS-rebinding page's requests carry its own name: every lab endpoint answers 403, and
    the lever, even with the right token, is left as it was."""
    port = api.rsplit(":", 1)[1]
    for host in (f"evil.example:{port}", "127.0.0.1", f"127.0.0.2:{port}"):
        for path in LAB_GETS:
            async with s.get(f"{api}{path}", headers={"Host": host}, allow_redirects=False) as resp:
                assert resp.status == 403 and (await resp.json())["code"] == "InvalidHost", (host, path)
                assert "chaoslab-token" not in await resp.text()
        headers = {"Host": host, guard.TOKEN_HEADER: token}
        body = {"status": "engaged", "reason": "rebinding"}
        async with s.post(f"{api}/_chaoslab/api/safety-lever", json=body, headers=headers) as resp:
            assert resp.status == 403 and (await resp.json())["code"] == "InvalidHost"
    assert (await get(s, f"{api}/_chaoslab/api/overview"))["safety_lever"]["status"] == "disengaged"


async def scenario(home: Path) -> dict[str, Any]:
    lab = Lab(LabConfig(home=home, api_port=0))
    await lab.start()
    out: dict[str, Any] = {}
    try:
        await apply_stack(lab, private_stack(), fast=True)
        assert await wait_ready(lab, 90), "targets never became healthy"
        out["pids"] = [pid for pid, _, _ in lab.store.owned_processes()]
        out["host"] = {kind: lab.store.owned_resources(kind) for kind in ("netns", "link")}
        api = lab.config.endpoint_url
        token = (home / guard.TOKEN_FILE).read_text()
        async with aiohttp.ClientSession() as s:
            # the page and its files, offline (no external URL anywhere); the page carries the token
            async with s.get(f"{api}/_chaoslab/") as resp:
                page = await resp.text()
                assert resp.status == 200 and resp.content_type == "text/html"
                assert resp.headers["Cache-Control"] == "no-store"
            assert f'<meta name="chaoslab-token" content="{token}">' in page
            async with s.get(api.replace("127.0.0.1", "localhost") + "/_chaoslab/status") as resp:
                assert resp.status == 200
            await foreign_host_is_refused(s, api, token)
            assert "/_chaoslab/static/app.js" in page and "http" not in page.replace("http-equiv", "")
            for name, ctype in (("app.js", "text/javascript"), ("app.css", "text/css")):
                async with s.get(f"{api}/_chaoslab/static/{name}") as resp:
                    assert resp.status == 200 and resp.content_type == ctype
            async with s.get(f"{api}/_chaoslab/static/..%2Fsnapshot.py") as resp:
                assert resp.status == 404

            o = await get(s, f"{api}/_chaoslab/api/overview")
            assert o["header"]["stack"] == "chaos-lab" and o["header"]["api"] == api
            assert o["header"]["network_mode"] in ("netns", "loopback") and o["header"]["uptime"] > 0
            out["mode"] = o["header"]["network_mode"]
            (lb,) = o["load_balancers"]
            (tg,) = lb["target_groups"]
            assert lb["name"] == "chaos-lab-alb" and tg["name"] == "chaos-lab-tg"
            assert sorted(t["id"] for t in tg["targets"]) == sorted(lab.ec2.instances)
            for t in tg["targets"]:
                inst = lab.ec2.instances[t["id"]]
                assert (t["state"], t["az"], t["ip"], t["kind"]) == ("healthy", inst.az, inst.private_ip, "instance")
            assert {t["az"] for t in tg["targets"]} == {"us-east-1a", "us-east-1b"}
            (db,) = o["databases"]
            assert db["cluster"] == "chaos-lab-aurora"
            assert [m["role"] for m in db["instances"]] == ["writer", "reader"]
            assert o["alarms"][0]["name"] == "chaos-lab-target-5xx"
            assert o["safety_lever"]["status"] == "disengaged" and o["experiments"] == []

            # traffic: real requests through the ALB show up in the per-second series
            listener = lb["listeners"][0]
            sent = 0
            t0 = time.time()
            while time.time() - t0 < 1.2:
                async with s.get(f"{listener}/health") as resp:
                    assert resp.status == 200
                    sent += 1
            await asyncio.sleep(1.05 - (time.time() % 1) + 0.05)  # let the last second close
            traffic = await get(s, f"{api}/_chaoslab/api/traffic?window=20")
            (series,) = traffic["load_balancers"]
            assert traffic["window"] == 20 and len(series["requests"]) == 20
            assert series["name"] == "chaos-lab-alb"
            assert sum(series["requests"]) == sent and sum(series["errors"]) == 0
            assert any(v is not None and v > 0 for v in series["p50_ms"])
            out["rps"] = series["rps_10s"]
            async with s.get(f"{api}/_chaoslab/api/traffic?window=x") as resp:
                assert resp.status == 400

            # timeline: newest first, incremental with since
            tl = await get(s, f"{api}/_chaoslab/api/timeline?limit=1000")
            seqs = [e["seq"] for e in tl["events"]]
            assert seqs == sorted(seqs, reverse=True) and tl["last"] == seqs[0]
            healthy = [e for e in tl["events"] if e["kind"] == "target.health" and e["state"] == "healthy"]
            assert {e["target"] for e in healthy} == set(lab.ec2.instances)
            only = await get(s, f"{api}/_chaoslab/api/timeline?kinds=target.health&limit=2")
            assert len(only["events"]) == 2 and {e["kind"] for e in only["events"]} == {"target.health"}
            assert (await get(s, f"{api}/_chaoslab/api/timeline?since={tl['last']}"))["events"] == []

            # the safety lever: refused without the token, without a reason or as a form; engaging
            # stops the experiment
            for wrong in (None, "x" + token):
                status, err = await post_lever(s, api, {"status": "engaged", "reason": "no token"}, wrong)
                assert (status, err["code"]) == (403, "MissingLabToken")
            assert (await get(s, f"{api}/_chaoslab/api/overview"))["safety_lever"]["status"] == "disengaged"
            status, err = await post_lever(s, api, {"status": "engaged"}, token)
            assert (status, err["code"]) == (400, "ValidationException")
            form = {"status": "engaged", "reason": "x"}
            headers = {guard.TOKEN_HEADER: token}
            async with s.post(f"{api}/_chaoslab/api/safety-lever", data=form, headers=headers) as resp:
                assert resp.status == 415
            template = lab.fis.create_experiment_template(WAIT_TEMPLATE)
            exp = await lab.fis.start_experiment(template["id"])
            for _ in range(100):
                o = await get(s, f"{api}/_chaoslab/api/overview")
                if o["experiments"][0]["state"]["status"] == "running":
                    break
                await asyncio.sleep(0.05)
            (shown,) = o["experiments"]
            assert shown["id"] == exp["id"] and shown["template"] == template["id"]
            assert shown["actions"][0]["name"] == "hold" and shown["actions"][0]["action_id"] == "aws:fis:wait"
            status, body = await post_lever(s, api, {"status": "engaged", "reason": "dashboard test"}, token)
            assert status == 200 and body["safety_lever"]["status"] == "engaged"
            assert lab.fis.get_experiment(exp["id"])["state"]["status"] == "stopped"
            o = await get(s, f"{api}/_chaoslab/api/overview")
            assert o["safety_lever"] == {"status": "engaged", "reason": "dashboard test"}
            assert o["experiments"][0]["state"]["status"] == "stopped"
            status, err = await post_lever(s, api, {"status": "engaged", "reason": "again"}, token)
            assert (status, err["code"]) == (409, "ConflictException")
            status, body = await post_lever(s, api, {"status": "disengaged", "reason": "done"}, token)
            assert status == 200 and body["safety_lever"]["status"] == "disengaged"
            kinds = {e["kind"] for e in (await get(s, f"{api}/_chaoslab/api/timeline?since={tl['last']}"))["events"]}
            assert {"experiment.state", "fis.safety-lever"} <= kinds
    finally:
        await lab.stop()
    assert not (home / guard.TOKEN_FILE).exists()
    out["left"] = {kind: lab.store.owned_resources(kind) for kind in ("netns", "link", "route", "neigh")}
    return out


def host_names(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def test_dashboard_endpoints_on_a_real_lab(tmp_path: Path) -> None:
    result = asyncio.run(scenario(tmp_path))
    assert result["pids"]
    assert not [p for p in result["pids"] if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert not any(result["left"].values()), result["left"]
    assert result["mode"] == "loopback" or result["host"]["netns"]  # as root the units really had namespaces
    namespaces, links = host_names("ip", "netns", "list"), host_names("ip", "-o", "link", "show")
    assert not [n for n in result["host"]["netns"] if n in namespaces]
    assert not [n for n in result["host"]["link"] if f" {n}:" in links or f" {n}@" in links]
