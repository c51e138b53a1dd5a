"""The link-local endpoints inside units, asked from inside as programs and SDKs ask them: an
instance's IMDSv2 (401 without a token when IMDSv1 is off; a token, then its id, AZ and user data; botocore's IMDS
client finds its region there) and an ECS task's metadata endpoint v4 (its container, its task's ARN, Docker
stats), served by the lab from sockets in the units' namespaces."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from fault_lab import fault_lab, needs_netns
from net_lab import static_task

from chaoslab.runtime.unit import ComputeUnit

pytestmark = needs_netns

ASK_IMDS = """
import urllib.error, urllib.request as u
base = "http://169.254.169.254/latest"
try:
    u.urlopen(base + "/meta-data/instance-id", timeout=2)
    anonymous = 200
except urllib.error.HTTPError as e:
    anonymous = e.code
put = u.Request(base + "/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
token = u.urlopen(put, timeout=2).read().decode()
def get(path):
    return u.urlopen(u.Request(base + path, headers={"X-aws-ec2-metadata-token": token}), timeout=2).read().decode()
print(anonymous, get("/meta-data/instance-id"), get("/meta-data/placement/availability-zone"), get("/user-data"))
"""
# botocore's own IMDS client, the one its "auto" defaults mode asks for the region.
BOTOCORE_REGION = (
    "import botocore.session as s, botocore.utils as u; print(u.IMDSRegionProvider(s.get_session()).provide())"
)
ASK_TASK = """
import json, os, urllib.request as u
uri = os.environ["ECS_CONTAINER_METADATA_URI_V4"]
get = lambda p: json.load(u.urlopen(uri + p, timeout=2))
print(json.dumps({"container": get(""), "task": get("/task"), "stats": get("/stats")}))
"""


async def run_inside(unit: ComputeUnit, argv: list[str]) -> tuple[int, str]:
    lines: list[str] = []
    proc = await unit.exec_command(argv, None, lambda _stream, line: lines.append(line))
    code = await asyncio.wait_for(proc.wait(), 20)
    await asyncio.sleep(0.1)  # the last lines
    return code, "\n".join(lines)


def test_imds_and_task_metadata_answer_inside_units(tmp_path: Path) -> None:
    async def scenario() -> dict[str, Any]:
        async with fault_lab(tmp_path) as lab:
            inst = await lab.ec2.run_instance(
                "chaoslab/static",
                lab.ec2.subnet("us-east-1b"),
                user_data="#!/bin/sh\necho hello\n",
                metadata_options={"HttpTokens": "required"},  # IMDSv1 off
            )
            task = await static_task(lab)
            imds = await run_inside(inst.unit, ["python3", "-c", ASK_IMDS])
            region = await run_inside(
                inst.unit,
                ["env", "-u", "AWS_REGION", "-u", "AWS_DEFAULT_REGION", sys.executable, "-c", BOTOCORE_REGION],
            )
            meta = await run_inside(task.unit, ["python3", "-c", ASK_TASK])
            return {"inst": inst.instance_id, "task": task.arn, "imds": imds, "region": region, "meta": meta}

    m = asyncio.run(scenario())
    code, out = m["imds"]
    assert code == 0, out
    anonymous, instance_id, az, user_data = out.split(None, 3)
    assert anonymous == "401" and instance_id == m["inst"] and az == "us-east-1b"
    assert user_data.strip().endswith("echo hello")
    assert m["region"] == (0, "us-east-1"), m["region"]
    code, out = m["meta"]
    assert code == 0, out
    doc = json.loads(out.splitlines()[-1])
    assert doc["task"]["TaskARN"] == m["task"]
    assert doc["container"]["Name"] == "app" and doc["container"]["Labels"]["com.amazonaws.ecs.task-arn"] == m["task"]
    assert doc["task"]["Limits"] == {"CPU": 0.25, "Memory": 512}
    assert doc["stats"]["memory_stats"]["usage"] > 0
