"""What each `chaoslab` command does: a thin layer over the Python API (`chaoslab.api`: `Lab`,
`run_experiment`) that adds the terminal's words. The lab itself runs in `chaoslab.daemon`; only
`up` in the foreground runs it in this process."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from chaoslab.api import Lab, run_experiment
from chaoslab.config import LabConfig
from chaoslab.errors import ChaoslabError
from chaoslab.labctl import daemon_args
from chaoslab.net.bind import bind_address, exposure_warning
from chaoslab.net.hostsock import is_host_address
from chaoslab.stack import bundled_stacks, load_stack
from chaoslab.timing import Timing

NETWORK_MODES = {
    "netns": "(each unit in its own network namespace)",
    "userns": "(each unit in its own network namespace, inside the lab's user namespace: no root needed)",
    "loopback": "(fallback: one loopback address per unit; network faults and security groups not enforced)",
}

PROFILE_NOTES = {
    "aws": "recoveries and launches take AWS's documented times",
    "fast": "near-instant recoveries and launches, not AWS's times",
}


def _config(args: argparse.Namespace) -> LabConfig:
    config = LabConfig()
    if getattr(args, "api_port", None):
        config.api_port = args.api_port
    if getattr(args, "time_scale", None):
        config.time_scale = args.time_scale
    config.timing = Timing("fast" if getattr(args, "fast", False) else "aws", dict(getattr(args, "timing", [])))
    return config


# up ------------------------------------------------------------------------------------------
def cmd_up(args: argparse.Namespace) -> int:
    if args.list:
        for name, path in sorted(bundled_stacks().items()):
            print(f"{name:14} {load_stack(path).get('description', '')}")
        return 0
    config = _config(args)
    running = Lab.attach(config)
    if running is not None:
        existing = running.info or {}
        raise ChaoslabError(
            f"a lab is already running (pid {existing['pid']}, stack {existing.get('stack')}, API {existing['api']})",
            hint="`chaoslab down` first, or set CHAOSLAB_HOME for a second lab",
        )
    load_stack(args.stack)  # validate before anything starts
    if args.bind:
        config.host = bind_address(args.bind, userns=False)  # the lab re-checks once its mode is known
        if not is_host_address(config.host):
            print(f"chaoslab: warning: {exposure_warning(config.host)}", file=sys.stderr, flush=True)
    if not args.detach:
        from chaoslab.daemon import run_foreground

        return run_foreground(
            daemon_args(
                args.stack,
                args.fast,
                args.api_port,
                args.network,
                time_scale=config.time_scale,
                bind=args.bind,
                timing=config.timing.overrides,
                enforce_iam=args.enforce_iam,
                alb_workers=args.alb_workers,
            )
        )
    config.enforce_iam = args.enforce_iam
    config.alb_workers = args.alb_workers
    lab = Lab(
        args.stack or "default",
        config=config,
        fast=args.fast,
        network=args.network,
        isolate=False,
        outlive=True,
        quiet=False,
    )
    _print_summary(lab.start().status())
    return 0


def _print_summary(status: dict[str, Any]) -> None:
    print(
        f"  AWS API      {status['api']}  (region {status['region']}, account {status['account_id']}, "
        "credentials test/test)"
    )
    for lb in status["load_balancers"]:
        for url in lb["listeners"]:
            print(f"  ALB          {lb['name']}  {url}")
    for db in status["databases"]:
        print(f"  database     {db['cluster']}  writer {db['writer']}  ({db['status']})")
    mode = status["network_mode"]
    print(f"  network      {mode}  {NETWORK_MODES.get(mode, '')}".rstrip())
    scale = status.get("time_scale", 1)
    print(f"  time scale   {scale:g}" + (f"  (scenario time runs {scale:g}x the wall clock)" if scale != 1 else ""))
    timing = status.get("timing") or {}
    if timing:
        overrides = ", ".join(f"{k}={v:g}" for k, v in sorted(timing["overrides"].items()))
        note = PROFILE_NOTES.get(timing["profile"], "")
        print(f"  timing       {timing['profile']}  ({note})" + (f"; {overrides}" if overrides else ""))
    if status.get("unit_port_offset"):
        print(
            f"  ports        units serve ports below 1024 at port + {status['unit_port_offset']} "
            "(an ordinary user cannot bind them on loopback)"
        )
    for note in status.get("notes", []):
        print(f"  note         {note}")
    print("  next: `chaoslab status`, `curl <ALB>/`, `chaoslab down`")


# status ----------------------------------------------------------------------------------
def cmd_status(args: argparse.Namespace) -> int:
    lab = Lab.attach(_config(args))
    if lab is None:
        if args.json:
            print(json.dumps({"running": False}))
            return 0
        print("no lab is running (start one with `chaoslab up --detach`)")
        return 0
    status = lab.status()
    if args.json:
        print(json.dumps({"running": True, **status}, indent=2, default=str))
        return 0
    print(
        f"lab {status['run_id']} (pid {status['pid']}) stack {status['stack']}, up "
        f"{time.time() - status['started_at']:.0f} s"
    )
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
            print(
                f"  {i['id']:22} {i['state']:13} {i['az']:12} {i['ip'] or '':15} {i['group'] or '':16} "
                f"{_runtime(i)}".rstrip()
            )
    live_tasks = [t for t in status["tasks"] if t["state"] != "STOPPED"]
    if live_tasks:
        print("\ntasks")
        for t in live_tasks:
            print(
                f"  {t['id'][:12]:14} {t['service'] or '':22} {t['state']:12} {t['az']:12} {t['ip'] or '':15} "
                f"{t['health']:9} {_runtime(t)}".rstrip()
            )
    if status["alarms"]:
        print("\nalarms")
        for a in status["alarms"]:
            print(f"  {a['name']:40} {a['state']}")
    return 0


def _runtime(unit: dict[str, Any]) -> str:
    """What runs a unit's programs: `process`, `container`, or each program's when they differ."""
    kinds: dict[str, str] = unit.get("runtime") or {}
    if len(set(kinds.values())) == 1:
        return next(iter(kinds.values()))
    return " ".join(f"{name}={kind}" for name, kind in kinds.items())


# down ------------------------------------------------------------------------------------
def cmd_down(args: argparse.Namespace) -> int:
    config = _config(args)
    lab = Lab.attach(config)
    if lab is None:
        from chaoslab.daemon import cleanup_after_crash

        cleaned = cleanup_after_crash(config)
        print("no lab is running" + (f"; cleaned up after a crashed one ({cleaned})" if cleaned else ""))
        return 0
    lab.stop()
    return 0


# exec ------------------------------------------------------------------------------------
def cmd_exec(args: argparse.Namespace) -> int:
    """Run a command inside a running task of the lab; exit with its code."""
    argv = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not argv:
        raise ChaoslabError("no command given", hint="chaoslab exec TASK -- COMMAND [ARG...]")
    lab = Lab.attach(_config(args))
    if lab is None:
        raise ChaoslabError("no lab is running", hint="`chaoslab up --detach` first")
    # At a terminal (stdin and stdout both), interactive unless the flags say how.
    at_terminal = not (args.interactive or args.tty) and sys.stdin.isatty() and sys.stdout.isatty()
    return lab.exec(args.task, argv, args.container, stdin=args.interactive or at_terminal, tty=args.tty or at_terminal)


# validate --------------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    from chaoslab.lint.output import render
    from chaoslab.validate import check_file

    reports = [check_file(f) for f in args.files]
    print(render(reports, args.format))
    return 1 if any(r.verdict == "invalid" for r in reports) else 0


# run / demo --------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from chaoslab.experiment.session import guarded

    if args.aws:
        return _run_aws(args)
    given = [f"--{k.replace('_', '-')}" for k in AWS_ONLY if getattr(args, k)]
    if given:
        raise ChaoslabError(f"{', '.join(given)} only apply with --aws", hint="add --aws, or drop them")
    config = _config(args)
    return guarded(
        lambda: (
            run_experiment(
                args.experiment,
                config=config,
                fast=args.fast,
                report_dir=args.report,
                junit=args.junit,
                time_scale=args.time_scale,
                out=sys.stdout,
            ).journal
        ),
        config,
        sys.stdout,
    )


AWS_ONLY = (
    "url", "profile", "region", "endpoint_url", "template_id", "role_arn", "load_balancer",
    "yes", "dry_run", "keep", "allow_no_stop_condition",
)  # fmt: skip


def _run_aws(args: argparse.Namespace) -> int:
    from chaoslab.experiment.awsrun import AwsOptions, run_aws_file
    from chaoslab.experiment.session import guarded

    if not args.url:
        raise ChaoslabError("--aws needs --url: the endpoint your users reach", hint="--url https://shop.example.com")
    if args.time_scale:
        raise ChaoslabError("--time-scale is the lab's: AWS runs in real time", hint="drop --time-scale")
    opts = AwsOptions(**{k: getattr(args, k) for k in AWS_ONLY})
    return guarded(
        lambda: run_aws_file(args.experiment, opts, fast=args.fast, report_dir=args.report, junit=args.junit),
        _config(args),
        sys.stdout,
    )


# import --------------------------------------------------------------------------------------
def _pairs(items: list[str], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ChaoslabError(f"{option} {item!r}: expected KEY=VALUE", hint=f"{option} Project=shop")
        out[key] = value
    return out


def cmd_import(args: argparse.Namespace) -> int:
    from chaoslab.apps.registry import is_bundled, known_images
    from chaoslab.importer import cloudformation, live, terraform, writer

    images = _pairs(args.map_image, "--map-image")
    for old, new in images.items():
        if not is_bundled(new):
            raise ChaoslabError(f"--map-image {old}={new}: {new} is not a bundled app", hint=", ".join(known_images()))
    config = LabConfig()
    if args.source == "cloudformation":
        params = _pairs(args.parameter, "--parameter")
        arch = cloudformation.read(Path(args.file), params, args.region or config.region, config.account_id)
    elif args.source == "terraform":
        arch = terraform.read(Path(args.file))
    else:
        arch = live.read(args.profile, args.region, args.endpoint_url, _pairs(args.tag, "--tag"))
    if args.name:
        arch.name = args.name
    output = writer.build(arch, images, config.account_id)
    for note in output.notes:
        print(f"chaoslab: not translated: {note}", file=sys.stderr)
    for path in writer.write(output, Path(args.out)):
        print(f"wrote {path}")
    return 0


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
