"""What each `chaoslab` command does. The lab itself runs in `chaoslab.daemon`; these functions
start it, find it (lab.json in the state dir), ask it (GET /_chaoslab/status) and stop it."""

from __future__ import annotations

import argparse
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

from chaoslab.config import LabConfig
from chaoslab.errors import ChaoslabError
from chaoslab.lab import LAB_FILE
from chaoslab.stack import bundled_stacks, load_stack

READY_TIMEOUT = 120.0
NETWORK_MODES = {
    "netns": "(each unit in its own network namespace)",
    "userns": "(each unit in its own network namespace, inside the lab's user namespace: no root needed)",
    "loopback": "(fallback: one loopback address per unit; network faults unavailable)",
}
DOWN_TIMEOUT = 90.0


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
            return json.loads(resp.read())
    except (urllib.error.URLError, OSError) as exc:
        raise ChaoslabError(f"the lab (pid {info['pid']}) does not answer on {info['api']}: {exc}",
                            hint="`chaoslab down` stops it and cleans up") from None


def _config(args: argparse.Namespace) -> LabConfig:
    config = LabConfig()
    if getattr(args, "api_port", None):
        config.api_port = args.api_port
    return config


# up ------------------------------------------------------------------------------------------
def cmd_up(args: argparse.Namespace) -> int:
    if args.list:
        for name, path in sorted(bundled_stacks().items()):
            print(f"{name:14} {load_stack(path).get('description', '')}")
        return 0
    config = _config(args)
    existing = running_lab(config)
    if existing:
        raise ChaoslabError(f"a lab is already running (pid {existing['pid']}, stack {existing.get('stack')}, "
                            f"API {existing['api']})", hint="`chaoslab down` first, or set CHAOSLAB_HOME for a second lab")
    load_stack(args.stack)  # validate before anything starts
    if not args.detach:
        from chaoslab.daemon import run_foreground
        return run_foreground(_daemon_args(args.stack, args.fast, args.api_port, args.network))
    info = start_detached(config, args.stack, fast=args.fast, network=args.network)
    _print_summary(fetch_status(info))
    return 0


def _daemon_args(stack: str | None, fast: bool, api_port: int | None, network: str) -> list[str]:
    argv = ["--network", network]
    if stack:
        argv += ["--stack", stack]
    if fast:
        argv.append("--fast")
    if api_port:
        argv += ["--api-port", str(api_port)]
    return argv


def start_detached(config: LabConfig, stack: str | None, *, fast: bool = False, network: str = "auto",
                   quiet: bool = False) -> dict[str, Any]:
    """Start a lab in the background (its own session) and return its lab.json once it is ready.
    The runner and `chaoslab demo` use this too."""
    config.ensure_home()
    argv = [sys.executable, "-m", "chaoslab.daemon",
            *_daemon_args(stack, fast, config.api_port if config.api_port != 4566 else None, network)]
    log_path = config.home / "lab.log"
    with open(log_path, "wb") as log_file:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                 start_new_session=True, env={**os.environ, "CHAOSLAB_HOME": str(config.home)})
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
            raise ChaoslabError("the lab exited while starting:\n    " + "\n    ".join(tail),
                                hint=f"full log: {log_path}")
        info = running_lab(config)
        if info and child.pid in (info.get("pid"), info.get("launcher")) and info.get("ready"):
            print(f" ready in {time.monotonic() - start:.1f} s", file=out, flush=True)
            return info
        dots = int(time.monotonic() - start)
        if dots > shown:
            print(".", end="", flush=True, file=out)
            shown = dots
        time.sleep(0.1)
    print(file=out)
    child.terminate()
    raise ChaoslabError(f"the lab was not ready within {READY_TIMEOUT:.0f} s", hint=f"see {log_path}")


def _print_summary(status: dict[str, Any]) -> None:
    print(f"  AWS API      {status['api']}  (region {status['region']}, account {status['account_id']}, "
          "credentials test/test)")
    for lb in status["load_balancers"]:
        for url in lb["listeners"]:
            print(f"  ALB          {lb['name']}  {url}")
    for db in status["databases"]:
        print(f"  database     {db['cluster']}  writer {db['writer']}  ({db['status']})")
    mode = status["network_mode"]
    print(f"  network      {mode}  {NETWORK_MODES.get(mode, '')}".rstrip())
    if status.get("unit_port_offset"):
        print(f"  ports        units serve ports below 1024 at port + {status['unit_port_offset']} "
              "(an ordinary user cannot bind them on loopback)")
    for note in status.get("notes", []):
        print(f"  note         {note}")
    print("  next: `chaoslab status`, `curl <ALB>/`, `chaoslab down`")


# status ----------------------------------------------------------------------------------
def cmd_status(args: argparse.Namespace) -> int:
    config = _config(args)
    info = running_lab(config)
    if info is None:
        if args.json:
            print(json.dumps({"running": False}))
            return 0
        print("no lab is running (start one with `chaoslab up --detach`)")
        return 0
    status = fetch_status(info)
    if args.json:
        print(json.dumps({"running": True, **status}, indent=2, default=str))
        return 0
    print(f"lab {status['run_id']} (pid {status['pid']}) stack {status['stack']}, up "
          f"{time.time() - status['started_at']:.0f} s")
    _print_summary(status)
    for lb in status["load_balancers"]:
        for tg in lb["target_groups"]:
            print(f"\ntarget group {tg['name']}")
            for t in tg["targets"]:
                reason = f"  ({t['reason']})" if t.get("reason") else ""
                print(f"  {t['id']:22} {t.get('port') or '':>5}  {t['state']}{reason}")
    if status["instances"]:
        print("\ninstances")
        for i in status["instances"]:
            print(f"  {i['id']:22} {i['state']:13} {i['az']:12} {i['ip'] or '':15} {i['group'] or ''}")
    live_tasks = [t for t in status["tasks"] if t["state"] != "STOPPED"]
    if live_tasks:
        print("\ntasks")
        for t in live_tasks:
            print(f"  {t['id'][:12]:14} {t['service'] or '':22} {t['state']:12} {t['az']:12} {t['ip'] or '':15} {t['health']}")
    if status["alarms"]:
        print("\nalarms")
        for a in status["alarms"]:
            print(f"  {a['name']:40} {a['state']}")
    return 0


# down ------------------------------------------------------------------------------------
def cmd_down(args: argparse.Namespace) -> int:
    config = _config(args)
    if running_lab(config) is None:
        from chaoslab.daemon import cleanup_after_crash
        cleaned = cleanup_after_crash(config)
        print("no lab is running" + (f"; cleaned up after a crashed one ({cleaned})" if cleaned else ""))
        return 0
    stop_lab(config)
    return 0


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
        time.sleep(0.05)
    else:
        print(" not stopping; killing it", file=out)
        os.kill(pid, signal.SIGKILL)
        from chaoslab.daemon import cleanup_after_crash
        cleanup_after_crash(config)
    print(f" stopped in {time.monotonic() - start:.1f} s", file=out)


# validate --------------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    from chaoslab.lint.output import render
    from chaoslab.validate import check_file

    reports = [check_file(f) for f in args.files]
    print(render(reports, args.format))
    return 1 if any(r.verdict == "invalid" for r in reports) else 0


# run / demo --------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from chaoslab.experiment.session import run_file

    return run_file(args.experiment, _config(args), fast=args.fast, report_dir=args.report, junit=args.junit)


def cmd_demo(args: argparse.Namespace) -> int:
    from chaoslab.experiment.demo import run_demo

    code, _journal = run_demo(_config(args), fast=args.fast, report_dir=args.report)
    return code


def cmd_report(args: argparse.Namespace) -> int:
    """Rebuild the reports of a run from its journal alone."""
    from chaoslab.report import read_journal, render_summary, write_html, write_junit

    journal = read_journal(args.journal)
    out_dir = Path(args.out) if args.out else Path(args.journal).resolve().parent
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / "report.html"
    write_html(journal, html)
    if args.junit:
        write_junit(journal, args.junit)
    print(render_summary(journal, color=sys.stdout.isatty(), report_path=str(html)))
    return 0
