"""Helpers forked from the fork server (runtime/forkserver.py): a helper runs only once its pid
is recorded, leads its own session, shows its own command line, reports its exit code, and a
server that goes before it opened a gate leaves nothing running."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from chaoslab.faults.worker import GO_FILE
from chaoslab.runtime import forkserver
from chaoslab.store import Store

WORKER = "chaoslab.faults.worker"


def _store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


def test_a_helper_runs_once_recorded_and_reports_its_end(tmp_path: Path) -> None:
    store = _store(tmp_path)
    (tmp_path / GO_FILE).touch()

    async def scenario() -> tuple[list[tuple[int, float, str]], int, list[str], int, int]:
        server = await forkserver.fork_server(preload=(WORKER,))
        helper = await server.spawn(
            "u/stress",
            WORKER,
            ["memory", "--dir", str(tmp_path), "--duration", "0.3", "--bytes", "4096"],
            cgroups=(),
            cwd=str(tmp_path),
            store=store,
            lab_run="run-1",
        )
        recorded = list(store.owned_processes())
        while not (tmp_path / "ready-0").exists():  # spawn returns at the fork; the title comes just after
            await asyncio.sleep(0.005)
        cmdline = psutil.Process(helper.pid).cmdline()
        session = os.getsid(helper.pid)
        code = await helper.wait()
        await forkserver.close_all()
        return recorded, helper.pid, cmdline, session, code

    recorded, pid, cmdline, session, code = asyncio.run(scenario())
    assert [(p, what) for p, _created, what in recorded] == [(pid, "u/stress")]
    assert " ".join(cmdline).startswith(f"{WORKER} memory --dir {tmp_path}"), cmdline
    assert session == pid, "it leads its own session, so a group signal reaches all of it"
    assert code == 0 and (tmp_path / "ready-0").exists()
    assert list(store.owned_processes()) == [], "disowned once it ended"


def test_exit_codes_and_signals_are_reported(tmp_path: Path) -> None:
    store = _store(tmp_path)

    async def scenario() -> tuple[int, int]:
        server = await forkserver.fork_server()
        bad = await server.spawn("u/bad", WORKER, ["spin"], cgroups=(), cwd=str(tmp_path), store=store, lab_run="r")
        armed = await server.spawn(
            "u/armed",
            WORKER,
            ["cpu", "--dir", str(tmp_path), "--duration", "30"],
            cgroups=(),
            cwd=str(tmp_path),
            store=store,
            lab_run="r",
        )
        codes = (await bad.wait(), await armed.terminate(timeout=5))
        await forkserver.close_all()
        return codes

    assert asyncio.run(scenario()) == (2, -15)


def test_a_server_gone_before_the_gate_opened_leaves_nothing_running(tmp_path: Path) -> None:
    """The protocol spoken directly: fork, then the server's stdin ends (the lab died before
    recording the pid): the child never runs its module."""
    code = "from chaoslab.runtime.forkserver_main import main; main()"
    server = subprocess.Popen(
        [sys.executable, "-S", "-c", code, str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=forkserver.python_s_env(),
    )
    assert server.stdin is not None and server.stdout is not None
    request = {"fork": 1, "module": WORKER, "argv": ["cpu", "--dir", str(tmp_path), "--duration", "30"]}
    server.stdin.write(json.dumps({**request, "cgroups": [], "cwd": str(tmp_path)}).encode() + b"\n")
    server.stdin.flush()
    pid = json.loads(server.stdout.readline())["pid"]
    assert psutil.pid_exists(pid)
    server.stdin.close()
    server.wait(5)
    deadline = time.monotonic() + 5
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the child outlived its closed gate"
        time.sleep(0.02)
    assert not (tmp_path / "ready-0").exists(), "the module never ran"
