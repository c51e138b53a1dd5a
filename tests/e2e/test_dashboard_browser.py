"""The dashboard in a real headless Chromium against a real detached lab (`chaoslab up --detach`
the way users start it): the page renders the targets with their health, the database, the
running experiment and live traffic, and a screenshot is taken for people to look at."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import psutil
import pytest
import yaml

from chaoslab.config import LabConfig
from chaoslab.labctl import start_detached, stop_lab
from chaoslab.stack import resolve_stack_path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The dashboard needs a running lab too; both are skipped or failed by the rule in tests/conftest.py.
pytestmark = [pytest.mark.chromium, pytest.mark.realistic]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stack_file(tmp: Path) -> Path:
    octet = random.randint(200, 249)
    doc = yaml.safe_load(resolve_stack_path("default").read_text())
    doc["vpc"] = {
        "cidr": f"10.{octet}.0.0/16",
        "subnets": {"us-east-1a": f"10.{octet}.10.0/24", "us-east-1b": f"10.{octet}.11.0/24"},
    }
    doc["load_balancers"][0]["listeners"][0]["port"] = 0
    path = tmp / "stack.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("dashboard")
    config = LabConfig(home=tmp / "home", api_port=free_port())
    info = start_detached(config, str(stack_file(tmp)), fast=True, quiet=True)
    try:
        yield {**info, "tmp": tmp}
    finally:
        stop_lab(config, quiet=True)


class Traffic(threading.Thread):
    """A steady client through the ALB, so the sparkline has something to draw."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stop_flag, self.sent = url, threading.Event(), 0

    def run(self) -> None:
        while not self.stop_flag.wait(0.02):
            with urllib.request.urlopen(self.url, timeout=5) as resp:
                resp.read()
            self.sent += 1


class Targets(HTMLParser):
    """The target cards and experiment rows Chromium rendered (attributes set by app.js)."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: dict[str, str] = {}
        self.experiments: list[str] = []
        self.databases: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("data-target-id"):
            self.targets[a["data-target-id"] or ""] = a.get("data-state") or ""
        if a.get("data-experiment"):
            self.experiments.append(a["data-experiment"] or "")
        if a.get("data-db"):
            self.databases.append(a["data-db"] or "")


def chromium(*args: str) -> str:
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--window-size=1440,1000",
            "--virtual-time-budget=5000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_dashboard_renders_the_live_lab(lab: dict[str, Any]) -> None:
    api = lab["api"]
    status = get_json(f"{api}/_chaoslab/status")
    listener = status["load_balancers"][0]["listeners"][0]
    instances = {i["id"]: i for i in status["instances"]}
    fis = boto3.client(
        "fis", endpoint_url=api, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    template = fis.create_experiment_template(
        description="dashboard e2e: hold",
        roleArn="arn:aws:iam::123456789012:role/chaos-lab-fis-role",
        stopConditions=[{"source": "none"}],
        targets={},
        actions={"hold": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT10M"}}},
    )["experimentTemplate"]
    experiment = fis.start_experiment(experimentTemplateId=template["id"])["experiment"]
    traffic = Traffic(f"{listener}/health")
    traffic.start()
    try:
        dom = chromium("--dump-dom", f"{api}/_chaoslab/")
        shot = Path(os.environ.get("CHAOSLAB_SCREENSHOT_DIR", lab["tmp"])) / "dashboard.png"
        chromium(f"--screenshot={shot}", f"{api}/_chaoslab/")
    finally:
        traffic.stop_flag.set()
        traffic.join()
        fis.stop_experiment(id=experiment["id"])
    page = Targets()
    page.feed(dom)
    assert page.targets == {iid: "healthy" for iid in instances}, page.targets
    for inst in instances.values():  # each card names its AZ and address
        card = re.search(rf'data-target-id="{inst["id"]}".*?</div></div>', dom, re.S)
        assert card and inst["az"] in card.group(0) and inst["ip"] in card.group(0)
    assert page.databases == ["chaos-lab-aurora"]
    assert page.experiments == [experiment["id"]]
    assert "chaos-lab-alb" in dom and "chaos-lab-target-5xx" in dom
    assert 'data-kind="target.health"' in dom  # the timeline
    assert traffic.sent > 0 and "req/s" in dom
    assert shot.stat().st_size > 10_000


def test_a_stopped_instance_shows_up_unhealthy(lab: dict[str, Any]) -> None:
    """Stop one instance for real: the page shows its target leave `healthy` and says why."""
    api = lab["api"]
    victim = get_json(f"{api}/_chaoslab/status")["instances"][0]["id"]
    ec2 = boto3.client(
        "ec2", endpoint_url=api, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    ec2.stop_instances(InstanceIds=[victim])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        targets = {
            t["id"]: t["state"]
            for lb in get_json(f"{api}/_chaoslab/api/overview")["load_balancers"]
            for tg in lb["target_groups"]
            for t in tg["targets"]
        }
        if targets.get(victim, "gone") != "healthy":
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"{victim} stayed healthy")
    shot = Path(os.environ.get("CHAOSLAB_SCREENSHOT_DIR", lab["tmp"])) / "dashboard-fault.png"
    chromium(f"--screenshot={shot}", f"{api}/_chaoslab/")
    dom = chromium("--dump-dom", f"{api}/_chaoslab/")
    page = Targets()
    page.feed(dom)
    assert page.targets.get(victim, "gone") != "healthy", page.targets
    assert re.search(rf"{victim}:\d+ in chaos-lab-tg: healthy → (unhealthy|draining)", dom), "timeline lacks the change"
    assert re.search(rf"instance {victim} (running|stopping) → stopp", dom)


class DevTools:
    """Just enough of the Chrome DevTools protocol to click through the page like a person."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws, self.next_id = ws, 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            msg = await self.ws.receive_json(timeout=30)
            if msg.get("id") == self.next_id:
                assert "error" not in msg, msg
                return msg["result"]

    async def js(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result["result"].get("value")

    async def until(self, expression: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not await self.js(expression):
            assert time.monotonic() < deadline, f"never true: {expression}"
            await asyncio.sleep(0.1)


async def pull_the_lever(url: str, profile: Path, reason: str) -> None:
    browser = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "--window-size=1440,1000",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().strip():
                break
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as resp:
                page = next(p for p in await resp.json() if p["type"] == "page")
            async with session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                tools = DevTools(ws)
                await tools.call("Page.navigate", url=url)
                await tools.until("!!document.querySelector('#lever-button:not([disabled])')")
                await tools.js("document.getElementById('lever-button').click()")
                assert await tools.js("document.getElementById('lever-dialog').open")
                await tools.js(f"document.getElementById('lever-reason').value = {json.dumps(reason)}")
                await tools.js("document.getElementById('lever-confirm').click()")
                await tools.until("!document.getElementById('lever-dialog').open")
    finally:
        browser.terminate()
        browser.wait(10)


def test_the_lever_button_stops_a_running_experiment(lab: dict[str, Any]) -> None:
    """Engage through the page's button and confirmation: the running experiment stops; the
    same button then disengages it."""
    api = lab["api"]
    fis = boto3.client(
        "fis", endpoint_url=api, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    template = fis.create_experiment_template(
        description="dashboard e2e: lever",
        roleArn="arn:aws:iam::123456789012:role/chaos-lab-fis-role",
        stopConditions=[{"source": "none"}],
        targets={},
        actions={"hold": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT10M"}}},
    )["experimentTemplate"]
    experiment = fis.start_experiment(experimentTemplateId=template["id"])["experiment"]
    asyncio.run(pull_the_lever(f"{api}/_chaoslab/", lab["tmp"] / "profile-engage", "game day over"))
    lever = fis.get_safety_lever(id="default")["safetyLever"]["state"]
    assert (lever["status"], lever["reason"]) == ("engaged", "game day over")
    assert fis.get_experiment(id=experiment["id"])["experiment"]["state"]["status"] == "stopped"
    asyncio.run(pull_the_lever(f"{api}/_chaoslab/", lab["tmp"] / "profile-disengage", "back to work"))
    assert fis.get_safety_lever(id="default")["safetyLever"]["state"]["status"] == "disengaged"
    profiles = (str(lab["tmp"] / "profile-engage"), str(lab["tmp"] / "profile-disengage"))
    deadline = time.monotonic() + 5  # helper processes follow the browser out within moments
    while left := [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if any(arg.endswith(profiles) for arg in p.info["cmdline"] or [])
    ]:
        assert time.monotonic() < deadline, f"browser processes left: {left}"
        time.sleep(0.1)
