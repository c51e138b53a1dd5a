"""SSM Run Command against real instance units, driven through the lab's API with boto3:
the AWSFIS-Run-* documents really stress or kill, commands move Pending → InProgress →
Success/Cancelled/Failed, and cancelling undoes the fault."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import boto3
import psutil
from fault_lab import fault_lab, needs_netns, running_instance, unit_cpu

pytestmark = needs_netns


def client(lab):
    return boto3.client(
        "ssm",
        endpoint_url=lab.config.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def alive(pid: int) -> bool:
    return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


async def call(fn, **kwargs):
    return await asyncio.to_thread(fn, **kwargs)


async def wait_status(ssm, command_id: str, wanted: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        (cmd,) = (await call(ssm.list_commands, CommandId=command_id))["Commands"]
        if cmd["Status"] == wanted or time.monotonic() > deadline:
            return cmd
        await asyncio.sleep(0.1)


def test_cpu_stress_document_runs_for_real_and_is_listed(tmp_path: Path) -> None:
    async def scenario() -> dict:
        async with fault_lab(tmp_path) as lab:
            inst = await running_instance(lab)
            ssm = client(lab)
            info = (await call(ssm.describe_instance_information))["InstanceInformationList"]
            assert [i["InstanceId"] for i in info] == [inst.instance_id] and info[0]["PingStatus"] == "Online"
            sent = (
                await call(
                    ssm.send_command,
                    DocumentName="AWSFIS-Run-CPU-Stress",
                    InstanceIds=[inst.instance_id],
                    Parameters={"DurationSeconds": ["5"], "CPU": ["1"], "LoadPercent": ["60"]},
                )
            )["Command"]
            assert sent["Status"] in ("Pending", "InProgress")
            cid = sent["CommandId"]
            await wait_status(ssm, cid, "InProgress")
            await asyncio.sleep(0.5)
            loaded = await unit_cpu(inst.unit, 3.0)
            done = await wait_status(ssm, cid, "Success")
            inv = await call(ssm.get_command_invocation, CommandId=cid, InstanceId=inst.instance_id)
            rows = (await call(ssm.list_command_invocations, CommandId=cid, Details=True))["CommandInvocations"]
            after = await unit_cpu(inst.unit, 0.5)
            assert lab.store.journal_pending() == []
            return {"loaded": loaded, "after": after, "done": done, "inv": inv, "rows": rows}

    m = asyncio.run(scenario())
    print(f"\nSSM CPU-Stress 60% x1: unit CPU {m['loaded']:.1f}% while running, {m['after']:.1f}% after")
    assert 45 <= m["loaded"] <= 75, m
    assert m["done"]["Status"] == "Success" and m["done"]["CompletedCount"] == 1, m
    assert m["inv"]["Status"] == "Success" and m["inv"]["ResponseCode"] == 0
    assert "60% load" in m["inv"]["StandardOutputContent"]
    assert m["rows"][0]["CommandPlugins"][0]["Status"] == "Success"


def test_cancel_command_stops_the_stress_and_bad_requests_are_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fault_lab(tmp_path) as lab:
            inst = await running_instance(lab)
            ssm = client(lab)
            cid = (
                await call(
                    ssm.send_command,
                    DocumentName="AWSFIS-Run-IO-Stress",
                    InstanceIds=[inst.instance_id],
                    Parameters={"DurationSeconds": ["60"], "Percent": ["1"]},
                )
            )["Command"]["CommandId"]
            await wait_status(ssm, cid, "InProgress")
            for _ in range(100):
                if inst.unit.extras:
                    break
                await asyncio.sleep(0.05)
            pids = [p.pid for p in inst.unit.extras.values()]
            assert pids and all(alive(p) for p in pids)
            await call(ssm.cancel_command, CommandId=cid)
            cmd = await wait_status(ssm, cid, "Cancelled", 5)
            assert cmd["Status"] == "Cancelled"
            assert not any(alive(p) for p in pids)
            assert not list(inst.unit.workdir.glob("chaoslab-fault-*"))
            assert lab.store.journal_pending() == []

            errors = []
            for kwargs in (
                {"DocumentName": "AWS-RunPowerShellScript", "InstanceIds": [inst.instance_id]},
                {
                    "DocumentName": "AWSFIS-Run-Memory-Stress",
                    "InstanceIds": [inst.instance_id],
                    "Parameters": {"DurationSeconds": ["5"]},
                },
                {
                    "DocumentName": "AWSFIS-Run-CPU-Stress",
                    "InstanceIds": ["i-0123456789abcdef0"],
                    "Parameters": {"DurationSeconds": ["5"]},
                },
            ):
                try:
                    await call(ssm.send_command, **kwargs)
                except ssm.exceptions.ClientError as exc:
                    errors.append(exc.response["Error"]["Code"])
            assert errors == ["InvalidDocument", "InvalidParameters", "InvalidInstanceId"]

    asyncio.run(scenario())


def test_kill_process_document_kills_the_app_and_failures_are_reported(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fault_lab(tmp_path) as lab:
            inst = await running_instance(lab)
            ssm = client(lab)
            pids = inst.unit.find_process("gunicorn")
            assert pids
            cid = (
                await call(
                    ssm.send_command,
                    DocumentName="AWSFIS-Run-Kill-Process",
                    InstanceIds=[inst.instance_id],
                    Parameters={"ProcessName": ["gunicorn"], "Signal": ["SIGKILL"]},
                )
            )["Command"]["CommandId"]
            assert (await wait_status(ssm, cid, "Success"))["Status"] == "Success"
            for _ in range(100):
                if not any(alive(p) for p in pids):
                    break
                await asyncio.sleep(0.05)
            assert not any(alive(p) for p in pids)
            again = await call(
                ssm.send_command,
                DocumentName="AWSFIS-Run-Kill-Process",
                InstanceIds=[inst.instance_id],
                Parameters={"ProcessName": ["no-such-proc"]},
            )
            failed = await wait_status(ssm, again["Command"]["CommandId"], "Failed")
            inv = await call(ssm.get_command_invocation, CommandId=failed["CommandId"], InstanceId=inst.instance_id)
            assert failed["Status"] == "Failed" and "no process found" in inv["StandardErrorContent"]

    asyncio.run(scenario())


def test_memory_stress_document_holds_a_share_of_the_instance_memory(tmp_path: Path) -> None:
    async def scenario() -> dict:
        async with fault_lab(tmp_path) as lab:
            inst = await running_instance(lab)  # t3.micro: a 1 GiB budget
            ssm = client(lab)
            await asyncio.sleep(1.0)
            base = inst.unit.memory_bytes()
            cid = (
                await call(
                    ssm.send_command,
                    DocumentName="AWSFIS-Run-Memory-Stress",
                    InstanceIds=[inst.instance_id],
                    Parameters={"DurationSeconds": ["3"], "Percent": ["10"]},
                )
            )["Command"]["CommandId"]
            await wait_status(ssm, cid, "InProgress")
            await asyncio.sleep(1.5)
            loaded = inst.unit.memory_bytes()
            done = await wait_status(ssm, cid, "Success")
            return {"base": base, "loaded": loaded, "after": inst.unit.memory_bytes(), "status": done["Status"]}

    m = asyncio.run(scenario())
    mib = 2**20
    print(
        f"\nSSM Memory-Stress 10% of t3.micro: unit RSS {m['base'] / mib:.0f} -> {m['loaded'] / mib:.0f} -> "
        f"{m['after'] / mib:.0f} MiB"
    )
    assert m["status"] == "Success"
    assert m["loaded"] - m["base"] >= 95 * mib  # 10 % of 1 GiB = 102 MiB
    assert m["loaded"] - m["after"] >= 95 * mib
