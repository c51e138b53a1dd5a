"""One fault shape: every journal kind has exactly one family in `faults.registry`, no module writes
a journal kind as a string of its own, and each family's revert is idempotent — run twice from
the same record (as an action end and a crash replay may), the second does nothing and fails not.
Reverts with real processes and namespaces are in tests/integration/faults; here the parts that
need neither."""

from __future__ import annotations

import ast
import asyncio
import functools
import importlib
import os
import pkgutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pytest

import chaoslab.faults
from chaoslab.aws.gateway import Gateway
from chaoslab.config import LabConfig
from chaoslab.faults import api_errors, network, network_rules, stress
from chaoslab.faults.base import Fault
from chaoslab.faults.registry import FAMILIES, REGISTRY
from chaoslab.faults.replay import revert_entries
from chaoslab.store import Store

SRC = Path(chaoslab.faults.__file__).resolve().parents[1]
DEAD_LAB = SimpleNamespace(ec2=None, ecs=None, ssm=None, gateway=None)


def _families() -> set[type[Fault]]:
    """Every concrete Fault subclass defined anywhere in chaoslab.faults."""
    for module in pkgutil.iter_modules(chaoslab.faults.__path__):
        if module.name != "network_delayproxy":  # a process's entry point, no faults in it
            importlib.import_module(f"chaoslab.faults.{module.name}")
    found: set[type[Fault]] = set()
    todo = [Fault]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if not getattr(sub, "__abstractmethods__", None):
                found.add(sub)
    return found


def test_every_family_has_exactly_one_row() -> None:
    assert set(FAMILIES) == _families()
    names = Counter(family.name for family in FAMILIES)
    assert all(count == 1 for count in names.values()), names
    assert len(REGISTRY) == len(FAMILIES)


@functools.cache
def _sources() -> list[tuple[Path, list[ast.AST]]]:
    """Every node of every module of the package, parsed once for the tests below."""
    return [(path, list(ast.walk(ast.parse(path.read_text())))) for path in sorted(SRC.rglob("*.py"))]


def test_journal_kinds_are_written_once_on_their_class() -> None:
    """A kind spelled anywhere but its class's `name` would be a second source of truth."""
    uses = Counter(
        n.value for _, nodes in _sources() for n in nodes if isinstance(n, ast.Constant) and n.value in REGISTRY
    )
    assert uses == Counter(list(REGISTRY)), uses


def test_every_journal_write_goes_through_a_fault() -> None:
    """The store is only written with a fault's own name: no call passes a kind as a literal."""
    for path, nodes in _sources():
        for node in nodes:
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("journal_add", "journal"):
                literals = [a for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                assert not literals, f"{path.relative_to(SRC)}:{node.lineno} journals a kind as a string"


async def _twice(family: type[Fault], lab: Any, record: dict[str, Any]) -> None:
    await family.revert(lab, record)
    await family.revert(lab, record)


def test_stress_revert_stops_a_real_worker_once(tmp_path: Path) -> None:
    workdir = tmp_path / "fault"
    workdir.mkdir()
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        record = {
            "unit_id": "i-gone",
            "target": "i-gone",
            "dir": str(workdir),
            "workers": [{"name": "w", "pid": worker.pid, "create_time": psutil.Process(worker.pid).create_time()}],
        }
        asyncio.run(_twice(stress.Stress, DEAD_LAB, record))
        assert worker.wait(5) == -9 and not workdir.exists()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_stress_revert_spares_a_reused_pid(tmp_path: Path) -> None:
    """A record's pid now owned by someone else (another start time) is left alone."""
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        record = {"unit_id": "i-gone", "dir": str(tmp_path / "x"), "workers": [{"name": "w", "pid": bystander.pid}]}
        record["workers"][0]["create_time"] = psutil.Process(bystander.pid).create_time() - 100
        asyncio.run(_twice(stress.Stress, DEAD_LAB, record))
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.parametrize("family", [network.NetworkRules, network.NetworkLatency])
def test_network_revert_of_a_gone_namespace_does_nothing(family: type[Fault]) -> None:
    netns = f"cl-gone-{os.getpid()}"
    assert not Path("/run/netns", netns).exists()
    rule_set = network_rules.blackhole(netns, "t1", 80, "tcp", "ingress")
    record = {"target": "t", "unit_id": "t", "netns": netns, "tag": "t1", "proxy": "delayproxy-t1"}
    asyncio.run(_twice(family, DEAD_LAB, {**record, "rules": rule_set.to_record()}))


def test_api_errors_revert_removes_the_gateway_hook_once(tmp_path: Path) -> None:
    lab = SimpleNamespace(config=LabConfig(home=tmp_path))
    lab.gateway = Gateway(lab)
    rule = api_errors.ApiErrorRule("throttle", "ec2", frozenset({"DescribeInstances"}), 100, frozenset({"r"}), "1")
    journal: list[tuple[str, dict[str, Any]]] = []
    fault = api_errors.ApiErrors(lab, "EXP1/act", rule, "arn:aws:iam::1:role/r")
    asyncio.run(fault.apply(lambda name, record: journal.append((name, record))))
    assert journal == [("api.errors", {"hook_id": "EXP1/act", "target": "arn:aws:iam::1:role/r"})]
    assert list(lab.gateway._hooks) == ["EXP1/act"]
    asyncio.run(_twice(api_errors.ApiErrors, lab, journal[0][1]))
    assert lab.gateway._hooks == {}
    asyncio.run(_twice(api_errors.ApiErrors, DEAD_LAB, journal[0][1]))  # a dead lab's hooks died with it


class _Ec2:
    """EC2's rule the revert relies on: starting a running instance changes nothing."""

    def __init__(self) -> None:
        self.state = {"i-1": "running"}
        self.changes = 0

    async def stop_instances(self, ids: list[str]) -> None:
        self._set(ids, "stopped")

    async def start_instances(self, ids: list[str]) -> None:
        self._set(ids, "running")

    def _set(self, ids: list[str], state: str) -> None:
        for i in ids:
            self.changes += self.state[i] != state
            self.state[i] = state


def test_instance_stop_is_journaled_before_the_stop_and_reverted_once() -> None:
    from chaoslab.faults.instance_stop import InstanceStop

    lab = SimpleNamespace(ec2=_Ec2())
    seen: list[str] = []
    fault = InstanceStop(lab, ["i-1"])
    record = asyncio.run(fault.apply(lambda name, _: seen.append(lab.ec2.state["i-1"])))
    assert seen == ["running"] and lab.ec2.state["i-1"] == "stopped"
    asyncio.run(_twice(InstanceStop, lab, record))
    assert lab.ec2.state["i-1"] == "running" and lab.ec2.changes == 2
    with pytest.raises(Exception, match="next start"):  # a dead lab cannot start them: stays pending
        asyncio.run(InstanceStop.revert(DEAD_LAB, record))


def test_replay_marks_done_only_what_it_reverted(tmp_path: Path) -> None:
    from chaoslab.faults.instance_stop import InstanceStop

    store = Store(tmp_path / "state.db")
    try:
        ok = store.journal_add("EXP1", api_errors.ApiErrors.name, {"hook_id": "h", "target": "r"})
        stuck = store.journal_add("EXP1", InstanceStop.name, {"instance_ids": ["i-1"], "target": "i-1"})
        unknown = store.journal_add("EXP1", "no.such.kind", {"target": "x"})
        reverted: list[int] = []
        failures = asyncio.run(
            revert_entries(DEAD_LAB, store, store.journal_pending(), lambda e: reverted.append(e["id"]))
        )
        assert reverted == [ok]
        assert [e["id"] for e in store.journal_pending()] == [unknown, stuck]
        assert failures[0].startswith("no.such.kind: ") and failures[1].startswith("ec2.start_instances on i-1: ")
    finally:
        store.close()


def test_a_worker_record_with_no_process_left_is_reverted(tmp_path: Path) -> None:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    create_time = time.time()
    done.wait()
    record = {
        "unit_id": "u",
        "dir": str(tmp_path),
        "workers": [{"name": "w", "pid": done.pid, "create_time": create_time}],
    }
    asyncio.run(_twice(stress.Stress, DEAD_LAB, record))
    assert not tmp_path.exists()


def test_ssm_automation_starts_after_its_record_and_its_revert_cancels_once() -> None:
    from chaoslab.clock import LabClock
    from chaoslab.faults.ssm_automation import SsmAutomation
    from chaoslab.services.ssm.automation.executions import Automation

    lab = SimpleNamespace(config=SimpleNamespace(region="us-east-1", account_id="123456789012"), clock=LabClock())
    lab.ssm = SimpleNamespace(automation=Automation(lab))
    book = (
        '{"schemaVersion": "0.3", "mainSteps": [{"name": "s", "action": "aws:sleep", "inputs": {"Duration": "PT1M"}}]}'
    )
    lab.ssm.automation.create_document("Sleep", book, "Automation")

    async def scenario() -> tuple[list[int], str, str]:
        seen: list[int] = []
        fault = SsmAutomation(lab, "Sleep", {}, None)
        record = await fault.apply(lambda name, _: seen.append(len(lab.ssm.automation.executions)))
        await asyncio.sleep(0.05)
        running = fault.execution.status
        await _twice(SsmAutomation, lab, record)
        await SsmAutomation.revert(DEAD_LAB, record)  # a dead lab's executions died with it
        return seen, running, fault.execution.status

    seen, running, ended = asyncio.run(scenario())
    assert seen == [0]  # journaled before the execution existed
    assert (running, ended) == ("InProgress", "Cancelled")
