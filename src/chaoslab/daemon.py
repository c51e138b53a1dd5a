"""The lab process: build the lab, apply the stack, wait until its targets are healthy and its
database readers caught up, record itself in lab.json, then serve until SIGTERM/SIGINT — and on
the way out stop everything.
`chaoslab up` runs this in the foreground or (`--detach`) as a child in its own session."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any

from chaoslab import watchdog
from chaoslab.clock import check_scale
from chaoslab.config import LAB_FILE, LabConfig
from chaoslab.errors import ChaoslabError
from chaoslab.lab import Lab
from chaoslab.net.bind import bind_address
from chaoslab.net.hostsock import broker_active
from chaoslab.runtime.commands import use_system_path
from chaoslab.runtime.hostcaps import probe
from chaoslab.runtime.process import pid_gone
from chaoslab.runtime.userns import enter_inside, run_outside
from chaoslab.stack import apply_stack, load_stack
from chaoslab.startup import CrashLoopWatch
from chaoslab.store import Store
from chaoslab.timing import PROFILES, Timing, parse_override

log = logging.getLogger("chaoslab")

TRACE_FILE = "lab-crash.txt"
READY_WAIT_SECONDS = 90.0  # how long a starting lab waits for its targets before it reports ready anyway
READY_POLL_SECONDS = 0.02  # a target turns healthy on its first probe: look again soon, the check is cheap


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="chaoslab.daemon")
    p.add_argument("--stack", default=None)
    p.add_argument("--fast", action="store_true")
    p.add_argument("--api-port", type=int, default=None)
    p.add_argument("--time-scale", type=float, default=1.0)
    p.add_argument("--timing", action="append", default=[], metavar="NAME=SECONDS")
    p.add_argument("--timing-profile", default=None, choices=sorted(PROFILES))  # else: fast under --fast, aws
    p.add_argument("--bind", default=None)
    p.add_argument("--enforce-iam", action="store_true")
    p.add_argument("--alb-workers", type=int, default=None)
    p.add_argument("--network", default="auto", choices=["auto", "netns", "userns", "loopback"])
    p.add_argument("--broker-fd", type=int, default=None, help=argparse.SUPPRESS)  # set inside the user namespace
    # Stop when this process is gone: a lab started for a test session must not outlive it.
    p.add_argument("--exit-with", type=int, default=None, help=argparse.SUPPRESS)
    # How long a starting lab waits for healthy targets before it reports ready with warnings.
    p.add_argument("--ready-wait", type=float, default=READY_WAIT_SECONDS, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def resolve_network(requested: str) -> str:
    """auto → the realistic mode the host allows (root: netns, else a user namespace), else loopback."""
    if requested != "auto":
        return requested
    return probe().mode or "loopback"


def _outer_lab(args: argparse.Namespace, argv: Sequence[str]) -> int | None:
    """In `userns` mode, run the lab in its own user namespace (and serve it host sockets from
    here); None when this process is the lab itself."""
    if args.broker_fd is not None:
        enter_inside(args.broker_fd)
        args.network = "netns"  # inside, the lab is root over its own namespaces
        return None
    args.network = resolve_network(args.network)
    if args.network != "userns":
        return None
    inner = [sys.executable, "-m", "chaoslab.daemon", *argv, "--network", "userns"]
    return run_outside(inner)


async def _stop_when_gone(pid: int, stop: asyncio.Event) -> None:
    """Set `stop` once process `pid` has exited (or is a zombie): the owner of a lab started with
    `--exit-with` was killed without a chance to stop it."""
    await pid_gone(pid)
    log.warning("process %d that owns this lab is gone: stopping", pid)
    stop.set()


def not_ready(lab: Lab) -> list[str]:
    """What keeps the lab from serving: ECS services short of their desired count and targets
    that are not healthy, each in the words `chaoslab status` uses. Empty once a request to the
    ALB is served."""
    problems = []
    for service in lab.ecs.services.values():
        if service.status == "ACTIVE" and not service.steady:
            shown = lab.ecs.describe_service(service)
            problems.append(
                f"ECS service {service.name}: {shown['runningCount']} of {shown['desiredCount']} tasks running"
            )
    for tg in lab.elbv2.describe_target_groups()["TargetGroups"]:
        health = lab.elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
        for d in health["TargetHealthDescriptions"]:
            state = d["TargetHealth"]
            if state["State"] != "healthy":
                target = f"{d['Target']['Id']}:{d['Target'].get('Port', '')}".rstrip(":")
                reason = state.get("Description") or state.get("Reason") or ""
                said = f"{state['State']}: {reason}" if reason else state["State"]
                problems.append(f"target {target} in {tg['TargetGroupName']}: {said}")
    return problems


async def wait_ready(lab: Lab, timeout: float) -> bool:
    """True once every ECS service runs its desired count and every registered target is healthy:
    from then on a request to the ALB is served."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not not_ready(lab):
            return True
        await asyncio.sleep(READY_POLL_SECONDS)
    return False


async def readers_behind(lab: Lab) -> list[str]:
    """Wait for every database reader to replay what its writer holds now: the apps seeded the
    writer while the readers were still cloning, and a lab that says ready serves both the same
    rows. One line per reader cluster that had not caught up within the wait."""
    return [
        f"a reader of {name} has not caught up with its writer"
        for name, cluster in lab.rds.clusters.items()
        if not await cluster.runtime.readers_caught_up()
    ]


async def serve(args: argparse.Namespace, announce: bool) -> int:
    config = LabConfig(time_scale=check_scale(args.time_scale))
    if args.api_port:
        config.api_port = args.api_port
    if args.bind:
        config.host = bind_address(args.bind, userns=broker_active())
    doc = load_stack(args.stack)
    config.timing = lab_timing(args, doc)
    config.enforce_iam = args.enforce_iam or bool(doc.get("iam", {}).get("enforce", False))
    config.alb_workers = args.alb_workers if args.alb_workers is not None else doc.get("alb", {}).get("workers")
    lab = Lab(config, network_mode=args.network)
    lab.stack_name = doc["name"]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    owner_watch = asyncio.ensure_future(_stop_when_gone(args.exit_with, stop)) if args.exit_with else None
    say = (lambda m: print(f"  {m}", flush=True)) if announce else (lambda m: log.info(m))
    for note in lab.notes(args.network):
        say(f"note: {note}")
    dog = None
    warming: asyncio.Future[None] | None = None
    try:
        await lab.start()
        warming = asyncio.ensure_future(lab.gateway.warm())  # on a worker thread while the stack builds
        dog = watchdog.start(config.home, lab.store)  # from here on, a crash reverts itself
        lab.write_lab_file()
        stopper = asyncio.ensure_future(stop.wait())
        # A stop signal ends the build and the readiness wait at once: `chaoslab down` on a lab whose
        # targets never get healthy must not wait out READY_WAIT_SECONDS (nor be killed for it).
        # Apps that keep dying at start end it at once, with their own output.
        crash_loop = CrashLoopWatch(lab.events)
        building = asyncio.ensure_future(apply_stack(lab, doc, fast=args.fast, progress=say))
        if not await _unless_stopped(building, stopper, crash_loop.failed):
            return 130
        building.result()
        ready = asyncio.ensure_future(wait_ready(lab, args.ready_wait))
        if not await _unless_stopped(ready, stopper, crash_loop.failed):
            return 130
        crash_loop.close()
        problems = [] if ready.result() else not_ready(lab)
        problems += await readers_behind(lab)
        for problem in problems:
            say(f"warning: after {args.ready_wait:.0f} s, {problem}")
        await warming
        freeze_heap()
        config.timing.arm()  # the stack exists "in AWS" now: what happens from here takes AWS's time
        _mark_ready(config, problems)
        if announce:
            print(f"lab ready: AWS API {config.endpoint_url}; Ctrl-C stops it", flush=True)
        await stop.wait()
        return 0
    finally:
        if announce:
            print("stopping lab...", flush=True)
        if warming is not None:
            warming.cancel()
        if owner_watch is not None:
            owner_watch.cancel()
        await lab.stop()
        if dog is not None:
            watchdog.stop(dog, lab.store)
        lab.remove_lab_file()


def lab_timing(args: argparse.Namespace, doc: dict[str, Any]) -> Timing:
    """`fast` under --fast, else AWS's delays (unless --timing-profile names one); the stack's
    `timing:` overrides single delays and `--timing NAME=SECONDS` overrides the stack."""
    overrides = dict(doc.get("timing") or {})
    overrides.update(parse_override(text) for text in args.timing)
    return Timing(args.timing_profile or ("fast" if args.fast else "aws"), overrides)


def freeze_heap() -> None:
    """Move everything alive once the lab is built (AWS models loaded) into the GC's permanent
    generation: a full collection of that heap (150,000 objects, most of them botocore's models)
    stalled the one event loop, ALB included, for ~100 ms whenever API traffic triggered one
    (docs/reliability.md). The young generations are collected first; a full collection here
    found nothing more to free and cost 150-700 ms of the start."""
    gc.collect(1)
    gc.freeze()


async def _unless_stopped(
    work: asyncio.Future[Any], stopper: asyncio.Future[Any], failed: asyncio.Future[ChaoslabError]
) -> bool:
    """Wait for `work`, a stop signal or a start that cannot succeed: False on a stop, the
    failure raised, `work` cancelled in both cases."""
    await asyncio.wait({work, stopper, failed}, return_when=asyncio.FIRST_COMPLETED)
    if work.done():
        return True
    work.cancel()
    await asyncio.gather(work, return_exceptions=True)
    if failed.done():
        raise failed.result()
    return False


def _mark_ready(config: LabConfig, problems: list[str]) -> None:
    """Ready, with what still does not serve: `up --detach` shows it, since the daemon's own
    warnings go to its log."""
    path = config.home / LAB_FILE
    info = json.loads(path.read_text())
    info["ready"] = True
    info["not_ready"] = problems
    path.write_text(json.dumps(info))


def run_foreground(argv: Sequence[str]) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        outer = _outer_lab(args, argv)
        if outer is not None:
            return outer
        return asyncio.run(serve(args, announce=True))
    except ChaoslabError as exc:
        print(f"chaoslab: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line for the user, the traceback kept for the report
        print(f"chaoslab: error: {_internal_error(exc)}", file=sys.stderr)
        return 1


def cleanup_after_crash(config: LabConfig) -> str:
    """Remove what a lab that died without `down` left, exactly as its watchdog would have:
    faults reverted, processes killed, namespaces, links, routes, volume mounts, containers,
    cgroups and PostgreSQL directories removed."""
    db = config.home / "state.db"
    if not db.exists():
        return ""
    store = Store(db)

    async def clean() -> dict[str, Any]:
        await watchdog.wait_for_previous(store)  # it may be cleaning up this very lab right now
        return await watchdog.recover(store)

    try:
        outcome = asyncio.run(clean())
    finally:
        store.close()
    with contextlib.suppress(FileNotFoundError):
        (config.home / LAB_FILE).unlink()
    parts = [f"{len(outcome['reverted'])} fault(s) reverted"] if outcome["reverted"] else []
    parts += [f"{len(outcome['killed'])} process(es) killed"] if outcome["killed"] else []
    parts += [f"{len(outcome['removed'])} network resource(s) and mount(s) removed"] if outcome["removed"] else []
    return ", ".join(parts)


def main() -> int:
    use_system_path()
    args = _parse(sys.argv[1:])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        outer = _outer_lab(args, sys.argv[1:])
        if outer is not None:
            return outer
        return asyncio.run(serve(args, announce=False))
    except ChaoslabError as exc:
        print(f"chaoslab: error: {exc}", flush=True)
        return 1
    except Exception as exc:  # a bug: one line for the user, the traceback kept for the report
        print(f"chaoslab: error: {_internal_error(exc)}", flush=True)
        return 1


def _internal_error(exc: Exception) -> str:
    """Keep the traceback in the state dir and say where it is."""
    path = LabConfig().ensure_home() / TRACE_FILE
    path.write_text("".join(traceback.format_exception(exc)))
    return f"the lab failed: {type(exc).__name__}: {exc} (this is a bug; traceback in {path})"


if __name__ == "__main__":
    sys.exit(main())
