"""The fork server's own program: a warm Python that forks helpers (`runtime/forkserver.py`).

Run as `python -S -c "from chaoslab.runtime.forkserver_main import main; main()" PARENT ROOM`
(ROOM: blanks, the space a child's command line is rewritten in). It reads JSON lines on stdin
and answers on stdout:

  {"preload": [M, ...]}  import the modules now, so the first fork is as cheap as the next
  {"fork": ID, "module": M, "argv": [...], "cgroups": [...], "cwd": D}  →  {"id": ID, "pid": P}
      fork a child that leads its own session, joins the cgroup.procs files, enters D, and
      waits at a gate; once through, it runs `M.main(argv)` and exits with its result. Its
      command line (`ps`, /proc/PID/cmdline) becomes `M ARGV…`, as if started that way
  {"open": P}   let child P through its gate (its pid is recorded now)
  {"close": P}  end child P at its gate without running anything
  and, unasked, {"exit": P, "code": C} when a child ends (C negative for a signal).

It dies with the thread that started it (PR_SET_PDEATHSIG) and at the end of its stdin. Its
children outlive it: each is recorded by the lab before its gate opens, as every program the
lab starts is (`startgate`), so crash recovery finds them; a child whose gate never opened
exits at once when the server goes.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import signal
import sys
from types import FrameType, ModuleType

from chaoslab.runtime.parentdeath import die_with_parent

GATE_OPEN = b"g"
CGROUP_JOIN_FAILED = 125  # as the shell's cgroup join exits (`sandbox._JOIN_CGROUPS`)


def _say(message: dict[str, int]) -> None:
    """One line, written whole (well under PIPE_BUF): safe from the SIGCHLD handler too."""
    os.write(1, json.dumps(message).encode() + b"\n")


def _reap(signum: int, frame: FrameType | None) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _say({"exit": pid, "code": os.waitstatus_to_exitcode(status)})


def _title(argv: list[str]) -> None:
    """Make this process's command line (/proc/PID/cmdline, what `ps` and psutil show) `argv`,
    as setproctitle does: by rewriting the argument area the kernel reports for it, which the
    server's padding (`TITLE_ROOM`) leaves room in. setproctitle itself is not used: installed
    beside the lab's apps, gunicorn would pick it up and hide its environment from psutil."""
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()  # fields from the 3rd (state) on
    start, end = int(fields[45]), int(fields[46])  # arg_start and arg_end, the 48th and 49th
    title = "\0".join(argv).encode()[: end - start - 1]
    ctypes.memmove(start, title + b"\0" * (end - start - len(title)), end - start)


def _child(module: ModuleType, argv: list[str], cgroups: list[str], cwd: str, gate: int, others: list[int]) -> int:
    """In the forked child: become the unit's helper, wait at the gate, run. `others` are the
    gates of its siblings still waiting: held open here, they would outlive the server."""
    for fd in others:
        os.close(fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.setsid()
    try:
        for procs in cgroups:
            with open(procs, "w") as f:
                f.write(str(os.getpid()))
    except OSError:
        return CGROUP_JOIN_FAILED
    os.chdir(cwd)
    _title([module.__name__, *argv])
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if os.read(gate, 1) != GATE_OPEN:
        return 0
    os.close(gate)
    return int(module.main(argv) or 0)


def serve(modules: dict[str, ModuleType]) -> None:
    gates: dict[int, int] = {}
    for line in sys.stdin.buffer:
        request = json.loads(line)
        if "preload" in request:
            modules.update((name, importlib.import_module(name)) for name in request["preload"])
        elif "fork" in request:
            module = modules.get(request["module"]) or importlib.import_module(request["module"])
            modules[request["module"]] = module
            gate_r, gate_w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(gate_w)
                code = 1
                try:
                    code = _child(
                        module, request["argv"], request["cgroups"], request["cwd"], gate_r, list(gates.values())
                    )
                finally:
                    os._exit(code)
            os.close(gate_r)
            gates[pid] = gate_w
            _say({"id": request["fork"], "pid": pid})
        elif "open" in request or "close" in request:
            gate = gates.pop(request.get("open") or request["close"], None)
            if gate is not None:
                if "open" in request:
                    os.write(gate, GATE_OPEN)
                os.close(gate)


def main() -> None:
    die_with_parent(int(sys.argv[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the lab's to handle
    signal.signal(signal.SIGCHLD, _reap)
    serve({})
