"""UnitProcess with real processes: signals reach the whole group, output is shipped line by
line, owners hear of deaths, and measurements see the whole tree."""

from __future__ import annotations

import asyncio
import signal
import sys
import time

import psutil
import pytest
from runtime_hostprobe import unit_env

from chaoslab.runtime.process import UnitProcess
from chaoslab.unitshell import Request, Session

PY = sys.executable

# A parent that forks one child and then both sleep: lets us check group-wide signals.
FORKER = "import os,time\nif os.fork()==0:\n    time.sleep(60)\nelse:\n    print('forked', flush=True); time.sleep(60)"


async def _start(store, argv, **kw) -> UnitProcess:
    return await UnitProcess.start("unit", argv, store=store, lab_run="r1", env=unit_env(), **kw)


async def _until(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def test_output_lines_reach_on_output_and_on_exit_fires(store):
    async def main():
        lines: list[tuple[str, str]] = []
        exits: list[int | None] = []
        code = "import sys\nprint('hello')\nprint('oops', file=sys.stderr)\nprint('x'*200000)\nsys.exit(3)"
        unit = await _start(store, [PY, "-c", code], on_output=lambda s, item: lines.append((s, item)))
        unit.on_exit(lambda u: exits.append(u.returncode))
        assert [r[0] for r in store.owned_processes()] == [unit.pid]
        assert await unit.wait() == 3
        await asyncio.sleep(0)
        assert exits == [3]
        assert ("stdout", "hello") in lines and ("stderr", "oops") in lines
        long_parts = [item for s, item in lines if set(item) == {"x"}]
        assert sum(map(len, long_parts)) == 200000 and len(long_parts) > 1  # split, not buffered whole
        assert list(store.owned_processes()) == []  # disowned once reaped
        late: list[int | None] = []
        unit.on_exit(lambda u: late.append(u.returncode))  # registering after death still fires
        await asyncio.sleep(0.01)
        assert late == [3]

    asyncio.run(main())


def test_a_chatty_unit_never_blocks_on_a_full_pipe(store):
    async def main():
        count = 0

        def on_output(stream: str, line: str) -> None:
            nonlocal count
            count += 1

        code = "for i in range(200000): print(i)"
        unit = await _start(store, [PY, "-c", code], on_output=on_output)
        assert await asyncio.wait_for(unit.wait(), 20) == 0
        assert count == 200000

    asyncio.run(main())


def test_terminate_kills_the_whole_group_and_escalates_to_sigkill(store):
    async def main():
        # Ignores SIGTERM, so terminate() must escalate; its forked child must die too.
        code = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + FORKER
        seen: list[str] = []
        unit = await _start(store, [PY, "-c", code], on_output=lambda s, item: seen.append(item))
        await _until(lambda: "forked" in seen)
        members = [p.pid for p in unit.tree()]
        assert len(members) == 2
        started = time.monotonic()
        assert await unit.terminate(timeout=0.5) == -signal.SIGKILL
        assert 0.4 < time.monotonic() - started < 3
        await _until(lambda: not any(_alive(pid) for pid in members))

    asyncio.run(main())


def test_terminate_returns_at_once_when_sigterm_is_honoured(store):
    async def main():
        unit = await _start(store, ["sleep", "60"])
        started = time.monotonic()
        assert await unit.terminate(timeout=5) == -signal.SIGTERM
        assert time.monotonic() - started < 2
        assert unit.returncode == -signal.SIGTERM and not unit.running

    asyncio.run(main())


def test_kill_pause_resume(store):
    async def main():
        unit = await _start(store, [PY, "-c", "while True: pass"])
        await asyncio.sleep(0.3)
        unit.pause()
        await _until(lambda: psutil.Process(unit.pid).status() == psutil.STATUS_STOPPED)
        unit.cpu_percent()
        await asyncio.sleep(0.3)
        assert unit.cpu_percent() < 5  # stopped: no CPU at all
        unit.resume()
        await _until(lambda: psutil.Process(unit.pid).status() != psutil.STATUS_STOPPED)
        await asyncio.sleep(0.5)
        assert unit.cpu_percent() > 30  # a busy loop on one core
        assert unit.memory_bytes() > 1_000_000
        assert await unit.kill() == -signal.SIGKILL
        assert unit.tree() == [] and unit.memory_bytes() == 0

    asyncio.run(main())


def test_terminate_wakes_a_paused_unit(store):
    async def main():
        unit = await _start(store, ["sleep", "60"])
        unit.pause()
        assert await unit.terminate(timeout=5) == -signal.SIGTERM

    asyncio.run(main())


def test_signal_after_exit_is_harmless(store):
    async def main():
        unit = await _start(store, ["true"])
        assert await unit.wait() == 0
        unit.signal(signal.SIGTERM)
        unit.pause()
        assert await unit.terminate(timeout=1) == 0

    asyncio.run(main())


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@pytest.fixture(autouse=True)
def _no_stray_children():
    yield
    assert [c for c in psutil.Process().children(recursive=True) if c.status() != psutil.STATUS_ZOMBIE] == []


def test_workers_die_with_a_leader_that_exits_on_its_own(store):
    async def main():
        # The leader forks a worker into its group, then exits by itself (a crashed app).
        code = "import os,sys,time\nif os.fork()==0:\n    time.sleep(60)\nelse:\n    print('forked', flush=True); time.sleep(0.2); sys.exit(1)"
        seen: list[str] = []
        unit = await _start(store, [PY, "-c", code], on_output=lambda s, item: seen.append(item))
        await _until(lambda: "forked" in seen)
        worker = [p.pid for p in unit.tree()][1]
        # Noticed at once, though the worker holds the output pipes (it used to take its 60 s).
        assert await asyncio.wait_for(unit.wait(), 5) == 1
        await _until(lambda: not _alive(worker))
        assert list(store.owned_processes()) == []

    asyncio.run(main())


def test_exit_is_noticed_without_pidfd(store, monkeypatch):
    """Off Linux (or on a kernel before 5.3) there is no pidfd: the leader's exit is polled."""
    import os

    def no_pidfd(pid: int) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "pidfd_open", no_pidfd)

    async def run() -> int:
        unit = await _start(store, [sys.executable, "-c", "import time; time.sleep(0.3)"])
        return await asyncio.wait_for(unit.wait(), 5)

    assert asyncio.run(run()) == 0


def test_a_unit_process_on_a_pty_has_it_as_its_controlling_terminal(store) -> None:
    """An interactive exec's process (unitshell.Session's PTY): the terminal is its controlling
    one with the client's size, a resize changes it, stdin arrives line by line, the end of
    input arrives as the terminal's EOF character, and its pid is the program's own (setsid
    execs in place)."""
    script = (
        "echo tty=$(tty) size=$(stty size) pid=$$; "
        "while read line; do if [ $line = size ]; then stty size; else echo got=$line; fi; done; echo eof; exit 3"
    )

    async def main() -> None:
        session = Session(Request("t", None, ["sh"], stdin=True, tty=True, rows=33, cols=101))
        unit = await _start(store, ["sh", "-c", script], stdin=session.child_stdin, tty=True)
        session.started()
        shown = b""

        async def until(marker: bytes) -> None:
            nonlocal shown
            while marker not in shown:
                item = await asyncio.wait_for(session.output.get(), 5)
                assert item is not None
                shown += item[1]

        await until(b"pid=")
        await until(b"\n")
        assert b"tty=/dev/pts/" in shown and b"size=33 101" in shown and f"pid={unit.pid}".encode() in shown
        await session.feed({"resize": [40, 120]})
        await session.feed(b"size\nhello\n")
        await until(b"got=hello")
        assert b"40 120" in shown
        await session.feed({"eof": True})
        await until(b"eof")
        assert await unit.wait() == 3
        session.close()

    asyncio.run(main())


def test_a_program_runs_only_once_its_pid_is_recorded(store, tmp_path) -> None:
    """The gate: recorded before it runs, with /dev/null as stdin; and a starter that dies
    before recording (here: closes the gate's pipe without `go`) leaves nothing that ran."""
    import subprocess

    from chaoslab.runtime.startgate import gated

    async def main() -> tuple[bool, str]:
        code = "import os, sys\nprint(os.readlink('/proc/self/fd/0'), sys.stdin.read() == '')"
        lines: list[str] = []
        unit = await _start(store, [PY, "-c", code], on_output=lambda _s, line: lines.append(line.strip()))
        recorded = unit.pid in [pid for pid, _t, _w in store.owned_processes()]
        await unit.wait()
        await asyncio.sleep(0.1)
        return recorded, " ".join(lines)

    recorded, seen = asyncio.run(main())
    assert recorded and seen == "/dev/null True"

    marker = tmp_path / "ran"
    gate = subprocess.Popen(gated(["touch", str(marker)]), stdin=subprocess.PIPE)
    assert gate.stdin is not None
    gate.stdin.close()  # the starter died: end of file, no go
    assert gate.wait(5) != 0 and not marker.exists()
