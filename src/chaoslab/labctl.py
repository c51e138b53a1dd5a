"""Lab control shared by the CLI and the experiment runner: start a lab in the background, find
it (lab.json in the state dir), ask it (GET /_chaoslab/status), run a command in one of its
tasks (POST /_chaoslab/exec) and stop it. Neither `commands`
nor `experiment` owns this, so neither imports the other."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from chaoslab.config import DEFAULT_HOST, LAB_FILE, LabConfig
from chaoslab.errors import ChaoslabError

READY_TIMEOUT = 120.0
DOWN_TIMEOUT = 90.0
POLL_SECONDS = 0.02  # lab.json and the process table while `up` waits: cheap to read, and `up` returns sooner


def running_lab(config: LabConfig) -> dict[str, Any] | None:
    """The lab recorded in the state dir, if its process is alive."""
    path = config.home / LAB_FILE
    try:
        info = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    try:
        return info if _alive(int(info["pid"])) else None
    except (KeyError, ValueError, TypeError):  # a damaged lab.json means no lab, not a traceback
        return None


def _alive(pid: int) -> bool:
    """Running, and not a zombie: a lab started by this process (tests, the runner) lingers as
    one until it is reaped, so reap it here."""
    try:
        if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            return True
    except psutil.NoSuchProcess:
        return False
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return False


def fetch_status(info: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"{info['api']}/_chaoslab/status", timeout=timeout) as resp:
            status: dict[str, Any] = json.loads(resp.read())
            return status
    except (urllib.error.URLError, OSError) as exc:
        raise ChaoslabError(
            f"the lab (pid {info['pid']}) does not answer on {info['api']}: {exc}",
            hint="`chaoslab down` stops it and cleans up",
        ) from None


def daemon_args(
    stack: str | None,
    fast: bool,
    api_port: int | None,
    network: str,
    exit_with: int | None = None,
    time_scale: float = 1.0,
    bind: str | None = None,
    ready_wait: float | None = None,
    timing: dict[str, float] | None = None,
    timing_profile: str | None = None,
    enforce_iam: bool = False,
    alb_workers: int | None = None,
) -> list[str]:
    argv = ["--network", network]
    if enforce_iam:
        argv.append("--enforce-iam")
    if alb_workers is not None:
        argv += ["--alb-workers", str(alb_workers)]
    if ready_wait is not None:
        argv += ["--ready-wait", f"{ready_wait:g}"]
    if timing_profile:
        argv += ["--timing-profile", timing_profile]
    for name, seconds in (timing or {}).items():
        argv += ["--timing", f"{name}={seconds!r}"]
    if bind:
        argv += ["--bind", bind]
    if exit_with:
        argv += ["--exit-with", str(exit_with)]
    if time_scale != 1:
        argv += ["--time-scale", f"{time_scale:g}"]
    if stack:
        argv += ["--stack", stack]
    if fast:
        argv.append("--fast")
    if api_port:
        argv += ["--api-port", str(api_port)]
    return argv


def start_detached(
    config: LabConfig,
    stack: str | None,
    *,
    fast: bool = False,
    network: str = "auto",
    quiet: bool = False,
    exit_with: int | None = None,
    ready_wait: float | None = None,
) -> dict[str, Any]:
    """Start a lab in the background (its own session) and return its lab.json once it is ready.
    The runner and `chaoslab demo` use this too; `exit_with` (a pid) makes the lab stop by itself
    once that process is gone; `ready_wait` caps the wait for healthy targets (90 s), after which
    the lab is up and lab.json's `not_ready` says what does not serve."""
    config.ensure_home()
    argv = [
        sys.executable,
        "-m",
        "chaoslab.daemon",
        *daemon_args(
            stack,
            fast,
            config.api_port if config.api_port != 4566 else None,
            network,
            exit_with,
            config.time_scale,
            bind=config.host if config.host != DEFAULT_HOST else None,
            ready_wait=ready_wait,
            timing=config.timing.overrides,
            # `fast` timing without --fast's short health checks (a test lab); otherwise --fast decides
            timing_profile="fast" if config.timing.profile == "fast" and not fast else None,
            enforce_iam=config.enforce_iam,
            alb_workers=config.alb_workers,
        ),
    ]
    log_path = config.home / "lab.log"
    with open(log_path, "wb") as log_file:
        child = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "CHAOSLAB_HOME": str(config.home)},
        )
    return _wait_ready(config, child, log_path, quiet)


def _wait_ready(config: LabConfig, child: subprocess.Popen[bytes], log_path: Path, quiet: bool) -> dict[str, Any]:
    start = time.monotonic()
    shown = 0
    out = sys.stderr if quiet else sys.stdout
    print("starting lab", end="", flush=True, file=out)
    while time.monotonic() - start < READY_TIMEOUT:
        if child.poll() is not None:
            print(file=out)
            tail = log_path.read_text(errors="replace").splitlines()[-15:]
            raise ChaoslabError(
                "the lab exited while starting:\n    " + "\n    ".join(tail), hint=f"full log: {log_path}"
            )
        info = running_lab(config)
        if info and child.pid in (info.get("pid"), info.get("launcher")) and info.get("ready"):
            problems = info.get("not_ready") or []
            verdict = "started, but not everything is healthy," if problems else "ready"
            print(f" {verdict} in {time.monotonic() - start:.1f} s", file=out, flush=True)
            for problem in problems:
                print(f"  warning: {problem}", file=out, flush=True)
            if problems:
                print(f"  (`chaoslab status` shows the lab; its log is in {log_path})", file=out, flush=True)
            return info
        dots = int(time.monotonic() - start)
        if dots > shown:
            print(".", end="", flush=True, file=out)
            shown = dots
        time.sleep(POLL_SECONDS)
    print(file=out)
    child.terminate()
    raise ChaoslabError(f"the lab was not ready within {READY_TIMEOUT:.0f} s", hint=f"see {log_path}")


def stop_lab(config: LabConfig, quiet: bool = False) -> None:
    """SIGTERM the lab and wait: it reverts faults and stops every unit before it exits. A lab
    that will not stop is killed and cleaned up from its state store."""
    info = running_lab(config)
    if info is None:
        return
    out = sys.stderr if quiet else sys.stdout
    pid = int(info["pid"])
    # In userns mode the launcher (the host-side socket broker) exits right after the lab.
    pids = {pid, int(info.get("launcher") or pid)}
    print(f"stopping lab (pid {pid})", end="", flush=True, file=out)
    os.kill(pid, signal.SIGTERM)
    start = shown = time.monotonic()
    while time.monotonic() - start < DOWN_TIMEOUT:
        if not any(_alive(p) for p in pids):
            break
        if time.monotonic() - shown >= 0.5:
            print(".", end="", flush=True, file=out)
            shown = time.monotonic()
        time.sleep(POLL_SECONDS)
    else:
        print(" not stopping; killing it", file=out)
        os.kill(pid, signal.SIGKILL)
        from chaoslab.daemon import cleanup_after_crash

        cleanup_after_crash(config)
    print(f" stopped in {time.monotonic() - start:.1f} s", file=out)


def exec_in_task(
    config: LabConfig,
    info: dict[str, Any],
    task: str,
    container: str | None,
    argv: list[str],
    *,
    stdin: bool = False,
    tty: bool = False,
) -> int:
    """`chaoslab exec`: run `argv` in a running task through the lab (`/_chaoslab/exec`), print
    its output line by line as it comes, and return its exit code (128 + N for signal N, as a
    shell reports it). With `stdin` or `tty` the session is interactive (execterm.py)."""
    from chaoslab.aws.guard import TOKEN_FILE, TOKEN_HEADER  # the wire layer: only `exec` needs it

    try:
        token = (config.home / TOKEN_FILE).read_text().strip()
    except OSError:
        raise ChaoslabError(f"cannot read the lab token in {config.home / TOKEN_FILE}") from None
    if stdin or tty:
        from chaoslab.execterm import exec_interactive

        hello = {"task": task, "container": container, "command": argv}
        return exec_interactive(info["api"], token, hello, stdin=stdin, tty=tty, pid=info.get("pid"))
    request = urllib.request.Request(
        f"{info['api']}/_chaoslab/exec",
        data=json.dumps({"task": task, "container": container, "command": argv}).encode(),
        headers={"Content-Type": "application/json", TOKEN_HEADER: token},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request) as resp:
            for raw in resp:
                record = json.loads(raw)
                if "exit" in record:
                    code = int(record["exit"])
                    return 128 - code if code < 0 else code
                out = sys.stderr if record.get("stream") == "stderr" else sys.stdout
                print(record.get("line", ""), file=out, flush=True)
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message", str(exc))
        except ValueError:
            message = str(exc)
        raise ChaoslabError(message) from None
    except (urllib.error.URLError, OSError) as exc:
        raise ChaoslabError(f"the lab (pid {info['pid']}) does not answer on {info['api']}: {exc}") from None
    raise ChaoslabError("the lab ended the command's stream without its exit code (did the lab stop?)")
