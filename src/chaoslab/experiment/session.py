"""A run from the user's side: find or start the lab, run, write the outputs, stop what we started.

A lab already running in CHAOSLAB_HOME is used as it is; otherwise one is started with the
experiment's stack and stopped again at the end — always, on Ctrl-C and on errors too, so a
failed run never leaves processes or namespaces behind.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from chaoslab.config import LabConfig
from chaoslab.errors import ChaoslabError
from chaoslab.experiment.labclient import LabClient
from chaoslab.experiment.runner import Run
from chaoslab.experiment.schema import load_experiment
from chaoslab.timing import Timing


def default_report_dir() -> Path:
    return Path("chaoslab-report") / time.strftime("%Y%m%d-%H%M%S")


def run_experiment(
    exp: dict[str, Any],
    config: LabConfig,
    *,
    fast: bool = False,
    report_dir: str | Path | None = None,
    junit: str | Path | None = None,
    stack: str | None = None,
    out: TextIO = sys.stdout,
    network: str = "auto",
    time_scale: float | None = None,
) -> dict[str, Any]:
    """Run an experiment (already loaded) end to end and return its journal; outputs are written.
    `time_scale` is the scale a lab started here gets; a running lab must already have it."""
    from chaoslab.labctl import fetch_status, running_lab, start_detached, stop_lab
    from chaoslab.report import LiveView

    info = running_lab(config)
    started_here = info is None
    if info is not None and time_scale is not None:
        running_scale = fetch_status(info).get("time_scale", 1.0)
        if running_scale != time_scale:
            raise ChaoslabError(
                f"the running lab (pid {info['pid']}) runs at time scale {running_scale:g}, not {time_scale:g}; "
                "a lab's clock cannot change while it runs",
                hint=f"run without --time-scale to use {running_scale:g}, or `chaoslab down` first",
            )
    if time_scale is not None:
        config.time_scale = time_scale
    if info is not None and (config.timing.overrides or exp.get("delays")):
        raise ChaoslabError(
            f"the running lab (pid {info['pid']}) keeps the timing it was started with; --timing and an "
            "experiment's `delays:` apply to a lab run starts",
            hint="`chaoslab down` first, or `chaoslab up --timing NAME=SECONDS`",
        )
    config.timing = with_file_delays(config.timing, exp)
    stack_ref = stack or exp.get("stack") or "default"
    view = LiveView(stream=out)
    try:
        if started_here:
            view.note(
                f"no lab running in {config.home}: starting stack {stack_ref}"
                + (" (--fast)" if fast else "")
                + (f" at time scale {config.time_scale:g}" if config.time_scale != 1 else "")
            )
            info = start_detached(config, stack_ref, fast=fast, network=network, quiet=True)
        assert info is not None
        lab = LabClient(info["api"], config)
        view.note(f"lab: {info['api']} (stack {info.get('stack')})")
        try:
            journal = asyncio.run(until_terminated(Run(exp, lab, view, stack=str(info.get("stack") or stack_ref))))
        except asyncio.CancelledError:
            raise KeyboardInterrupt from None  # SIGTERM: the same clean stop as Ctrl-C
    finally:
        view.close()
        if started_here:
            stop_lab(config, quiet=True)
    write_outputs(journal, report_dir, junit, out)
    return journal


def with_file_delays(timing: Timing, exp: dict[str, Any]) -> Timing:
    """The timing a lab this run starts gets: the experiment file's `delays:`, and `--timing`
    (already in `timing`) over them."""
    if not exp.get("delays"):
        return timing
    return Timing(timing.profile, {**exp["delays"], **timing.overrides}, seed=timing.seed)


def write_outputs(
    journal: dict[str, Any], report_dir: str | Path | None, junit: str | Path | None, out: TextIO
) -> None:
    """journal.json and report.html in the report folder, the JUnit file if asked, the summary."""
    from chaoslab.report import render_summary, write_html, write_journal, write_junit

    target = Path(report_dir) if report_dir else default_report_dir()
    target.mkdir(parents=True, exist_ok=True)
    write_journal(journal, target / "journal.json")
    html = target / "report.html"
    write_html(journal, html)
    if junit:
        write_junit(journal, junit)
    out.write(render_summary(journal, color=out.isatty(), report_path=str(html)))
    out.flush()


async def until_terminated(run: Run) -> dict[str, Any]:
    """Run, but let SIGTERM cancel the run like Ctrl-C does, so its clean-up (stop the load, stop
    the FIS experiment, stop the lab we started) happens instead of dying mid-fault."""
    if threading.current_thread() is not threading.main_thread():
        return await run.execute()  # signal handlers are the main thread's: its owner handles SIGTERM
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await run.execute()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def run_file(ref: str, config: LabConfig, **kwargs: Any) -> int:
    """`chaoslab run`: the exit code docs/ARCHITECTURE.md promises (2 when the run could not happen at all)."""
    out: TextIO = kwargs.get("out") or sys.stdout
    exp = load_experiment(ref, fast=kwargs.get("fast", False))
    return guarded(lambda: run_experiment(exp, config, **kwargs), config, out)


def guarded(run: Callable[[], dict[str, Any]], config: LabConfig, out: TextIO) -> int:
    """The run's exit code, or 2 (with the traceback kept for a bug report) when it could not happen."""
    try:
        journal = run()
    except (ChaoslabError, KeyboardInterrupt):
        raise
    except Exception as exc:  # the run could not happen: say why, exit 2 as the contract says
        config.ensure_home()
        trace = config.home / "last-error.log"
        trace.write_text(traceback.format_exc())
        out.write(f"the experiment could not run: {exc}\n(details for a bug report: {trace})\n")
        return 2
    return int(journal["verdict"]["exit_code"])
