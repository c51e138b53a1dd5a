"""Re-measure one example scenario and rewrite its README's result block from the run's journal.

    .venv/bin/python benchmarks/examples_readme.py SCENARIO [EXPERIMENT] [--api-port N] [--home DIR]
        [--report DIR] [--readme FILE] [--fast] [--time-scale N]

SCENARIO is a folder of examples/, EXPERIMENT a file in it (default experiment.yaml). The script
starts the experiment's stack in a lab of its own — its own CHAOSLAB_HOME (--home; default a new
temporary directory), API port (--api-port; default a free one), listener port 0 and a
10.<n>.0.0/16 that no route on this host uses, so it runs beside other labs — then `chaoslab run
EXPERIMENT --report DIR` with the example's full timing (--report; default a new temporary
directory, kept), then `chaoslab down`. From DIR/journal.json it writes the date, the machine,
the commands and the figures (verdict, clauses, faults, latency per window, integrity, measured
windows, database failover, the timing profile and its recoveries, scaling activities, alarms)
between `<!-- results:begin EXPERIMENT -->` and `<!-- results:end EXPERIMENT -->` in the README.

--time-scale N starts the lab N times faster (`chaoslab up --time-scale N`): the figures are in
the scenario's own time (docs/timing.md), the header says which scale ran them.

--fast runs the CI variant; it exists to try the script, so write its block into a copy (--readme),
never into an example's README. A run that could not happen (exit 2) writes nothing.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from common import ROOT, exit_cleanly_on_sigterm, free_port, machine

from chaoslab.experiment.schema import load_experiment
from chaoslab.report.analysis import integrity_ok, is_failure, percentile, verdict_title, window_rows
from chaoslab.report.journal_file import read_journal
from chaoslab.runtime.network import unused_vpc_octet
from chaoslab.stack import relocated, resolve_stack_path

EXAMPLES = ROOT / "examples"
CLI = [sys.executable, "-m", "chaoslab"]
COMMAND = ".venv/bin/python benchmarks/examples_readme.py"


@dataclass
class Run:
    """What one measurement did: the exit code, the commands as a reader would type them, its journal."""

    code: int
    commands: list[str]
    journal: dict[str, Any]
    load_before: str
    load_after: str


# the lab ----------------------------------------------------------------------------------------
def private_stack(experiment: Path, dest: Path, octet: int) -> Path:
    """The experiment's stack on 10.<octet>.0.0/16 (subnets keep their third octet), listeners on port 0."""
    doc = relocated(yaml.safe_load(resolve_stack_path(load_experiment(experiment).get("stack")).read_text()), octet)
    path = dest / "stack.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def chaoslab(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real CLI; its output goes to ours, as when a person runs it."""
    return subprocess.run([*CLI, *args], env=env, text=True)


def measure(experiment: Path, args: argparse.Namespace, scratch: Path) -> Run:
    """up, run, down in a private lab; down also after a failed run or Ctrl-C."""
    octet = unused_vpc_octet(64)
    stack = private_stack(experiment, scratch, octet)
    report = args.report
    env = {**os.environ, "CHAOSLAB_HOME": str(args.home or scratch / "home")}
    fast = ["--fast"] if args.fast else []
    scale = ["--time-scale", f"{args.time_scale:g}"] if args.time_scale != 1 else []
    shown = experiment.relative_to(ROOT)
    commands = [
        f"chaoslab up --detach{' --fast' if args.fast else ''}{' ' + ' '.join(scale) if scale else ''} "
        f"--api-port {args.api_port} "
        f"<the stack of {shown} on 10.{octet}.0.0/16, listener port 0>",
        f"chaoslab run {shown}{' --fast' if args.fast else ''} --report <dir>",
        "chaoslab down",
    ]
    before = load_average()
    up = chaoslab(env, "up", "--detach", *fast, *scale, "--api-port", str(args.api_port), str(stack))
    if up.returncode != 0:
        raise SystemExit(f"chaoslab up failed ({up.returncode}); nothing written")
    try:
        code = chaoslab(env, "run", str(experiment), *fast, "--report", str(report)).returncode
    finally:
        chaoslab(env, "down")
    journal = report / "journal.json"
    if not journal.exists():
        raise SystemExit(f"chaoslab run wrote no journal (exit {code}); nothing written")
    return Run(code, commands, read_journal(journal), before, load_average())


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# the block --------------------------------------------------------------------------------------
def ms(value: float) -> str:
    return f"{value:.1f}"


def header(run: Run, args: argparse.Namespace, experiment: Path) -> list[str]:
    """When, where, with which timing, and the commands that produced the figures."""
    box = machine()
    lab = run.journal.get("lab", {})
    hc = lab.get("health_check") or {}
    timing = "the --fast (CI) variant" if args.fast else "full timing (not --fast)"
    scale = lab.get("time_scale", 1)
    if scale != 1:
        timing += f" at time scale {scale:g} (every figure in scenario time, latencies excepted)"
    checks = (
        f"; health checks every {hc['interval']} s, unhealthy after {hc['unhealthy']}, timeout {hc['timeout']} s"
        if hc
        else ""
    )
    epoch = lab.get("epoch", run.journal["started"])  # the journal's times are scenario time: the date is wall time
    wall = epoch + (run.journal["started"] - epoch) / lab.get("time_scale", 1)
    date = datetime.datetime.fromtimestamp(wall, datetime.UTC)
    return [
        f"{date:%Y-%m-%d %H:%M:%S} UTC on {box['cpu']} ({box['cores']} cores), Linux {box['kernel']}, "
        f"Python {box['python']}; load average {run.load_before} before / {run.load_after} after; "
        f"{timing}{checks}.",
        "",
        f"Produced by `{COMMAND} {experiment.parent.name} {experiment.name}"
        f"{' --fast' if args.fast else ''}{f' --time-scale {args.time_scale:g}' if args.time_scale != 1 else ''}`, "
        "which ran:",
        "",
        "```",
        *run.commands,
        "```",
        "",
    ]


def verdict(journal: dict[str, Any]) -> list[str]:
    v, title = journal["verdict"], verdict_title(journal).lower()
    detail = f" {v['summary']}" if v["summary"].lower() != title else ""
    return [f"**Exit {v['exit_code']}, {title}.**{detail}", ""]


def clauses(journal: dict[str, Any]) -> list[str]:
    rows = ["| clause | bound | measured | phase | |", "|---|---|---|---|---|"]
    rows += [
        f"| {c['text']} | {c['bound']} | {c['measured']} | {c['phase']} | {'✓' if c['passed'] else '✗'} |"
        for c in journal.get("clauses", [])
    ]
    return [*rows, ""] if len(rows) > 2 else []


def faults(journal: dict[str, Any]) -> list[str]:
    """One line per action: what it did, to how many targets, for how long."""
    lines = []
    for action in dict.fromkeys(f["action"] for f in journal.get("faults", [])):
        mine = [f for f in journal["faults"] if f["action"] == action]
        targets = sorted({t for f in mine for t in f["targets"]})
        ends = [f["end"] for f in mine if f["end"] is not None]
        span = f"for {max(ends) - min(f['start'] for f in mine):.1f} s" if ends else "(no revert: a one-shot fault)"
        lines.append(f"* `{mine[0]['action_id']}` ({action}) on {len(targets)} target(s) {span}")
    return [*lines, ""] if lines else []


def windows_of(journal: dict[str, Any]) -> list[tuple[str, float, float]]:
    """Baseline, each stretch of overlapping faults (a one-shot fault is an instant), after them."""
    base = next(p for p in journal["phases"] if p["name"] == "baseline")
    out = [(f"baseline ({base['end'] - base['start']:.0f} s)", base["start"], base["end"])]
    spans = sorted(
        (f["start"], f["start"] if f["end"] is None else f["end"], f["action"]) for f in journal.get("faults", [])
    )
    groups: list[list[Any]] = []
    for start, end, label in spans:
        if groups and start <= groups[-1][1]:
            groups[-1][1] = max(groups[-1][1], end)
            groups[-1][2] = list(dict.fromkeys([*groups[-1][2], label]))
        else:
            groups.append([start, end, [label]])
    out += [(f"{' + '.join(labels)} ({end - start:.0f} s)", start, end) for start, end, labels in groups]
    if groups:
        out.append(("after the faults", groups[-1][1], journal["ended"]))
    return out


def latency(journal: dict[str, Any]) -> list[str]:
    """Requests, failures and latency of the answered ones, per endpoint and window."""
    rows = ["| endpoint | window | requests | failed | p50 ms | p90 ms | p99 ms |", "|---|---|---|---|---|---|---|"]
    requests = journal["requests"]
    for endpoint in dict.fromkeys(f"{r['endpoint']}{' (probe)' if r['probe'] else ''}" for r in requests):
        mine = [r for r in requests if f"{r['endpoint']}{' (probe)' if r['probe'] else ''}" == endpoint]
        for label, start, end in windows_of(journal):
            rows += row(endpoint, label, [r for r in mine if start <= r["t"] < end])
    return [*rows, ""]


def row(endpoint: str, window: str, requests: list[dict[str, Any]]) -> list[str]:
    if not requests:
        return []
    answered = [r["latency_ms"] for r in requests if not is_failure(r)]
    figures = [ms(percentile(answered, q)) if answered else "—" for q in (50, 90, 99)]
    return [f"| {endpoint} | {window} | {len(requests)} | {sum(map(is_failure, requests))} | {' | '.join(figures)} |"]


def integrity(journal: dict[str, Any]) -> list[str]:
    i = journal.get("integrity") or {}
    if not i.get("checked"):
        return []
    stock = {True: "consistent", False: "INCONSISTENT", None: "not checked"}[i.get("stock_consistent")]
    return [
        f"Integrity {'intact' if integrity_ok(i) else 'BROKEN'}: {i['acknowledged']} writes acknowledged, "
        f"{len(i['lost'])} lost, {len(i['changed'])} changed, {len(i['phantom'])} phantom, {i['duplicates']} "
        f"duplicated, {i['ambiguous']} ambiguous; stock {stock}.",
        "",
    ]


def measured_windows(journal: dict[str, Any]) -> list[str]:
    parts = [
        f"{label} {value:.1f} s" + (f" (bound {bound:.1f} s)" if bound is not None else "")
        for label, value, bound, _ in window_rows(journal)
        if value is not None
    ]
    return [f"Windows: {'; '.join(parts)}.", ""] if parts else []


def failovers(journal: dict[str, Any]) -> list[str]:
    lines = [
        f"Database failover ({e['cluster']}, {e['old_writer']} → {e['new_writer']}): writes unavailable "
        f"{e['write_unavailable_s']:.2f} s (fenced {e['fenced_s']:.2f} s, promoted {e['promoted_s']:.2f} s, "
        f"old writer rejoined {e['rejoined_s']:.2f} s), {e['dropped_connections']} connections dropped."
        for e in journal["events"]
        if e["kind"] == "db.failover"
    ]
    return [*lines, ""] if lines else []


def recoveries(journal: dict[str, Any]) -> list[str]:
    """The timing profile and each recovery the run saw beside AWS's range (docs/timing.md)."""
    profile = (journal.get("lab", {}).get("timing") or {}).get("profile")
    parts = [
        f"{r['what']} {r['measured_s']:.1f} s"
        + (f" (AWS {r['aws_low_s']:g}–{r['aws_high_s']:g} s)" if r.get("aws_low_s") is not None else "")
        for r in journal.get("recoveries") or []
    ]
    if not profile:
        return []
    said = f"Timing profile `{profile}`" + (f": {'; '.join(parts)}." if parts else ".")
    return [said, ""]


def scaling(journal: dict[str, Any]) -> list[str]:
    """Each scaling activity: when, after the first fault began, and the capacity it set."""
    start = min((f["start"] for f in journal.get("faults", [])), default=None)
    parts = [
        f"{e['old']} → {e['capacity']}" + (f" at +{e['time'] - start:.0f} s" if start is not None else "")
        for e in journal["events"]
        if e["kind"] == "scaling.activity"
    ]
    return [f"Scaling activities (time after the fault began): {'; '.join(parts)}.", ""] if parts else []


def alarms(journal: dict[str, Any]) -> list[str]:
    """Each sampled alarm's states during the run, in order."""
    parts = []
    for name, samples in (journal.get("series", {}).get("alarms") or {}).items():
        states = list(dict.fromkeys(state for _, state in samples))
        parts.append(f"`{name}` {' → '.join(states)}")
    return [f"Alarms: {'; '.join(parts)}.", ""] if parts else []


def render(run: Run, args: argparse.Namespace, experiment: Path) -> str:
    sections: Iterable[list[str]] = (
        header(run, args, experiment),
        verdict(run.journal),
        clauses(run.journal),
        faults(run.journal),
        latency(run.journal),
        integrity(run.journal),
        measured_windows(run.journal),
        failovers(run.journal),
        recoveries(run.journal),
        scaling(run.journal),
        alarms(run.journal),
    )
    return "\n".join(line for section in sections for line in section).rstrip() + "\n"


def replace_block(text: str, name: str, block: str) -> str:
    """`text` with what stands between the experiment's markers replaced by `block`."""
    begin, end = f"<!-- results:begin {name} -->", f"<!-- results:end {name} -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"the README has no `{begin}` … `{end}` block")
    return pattern.sub(lambda _: f"{begin}\n{block}{end}", text, count=1)


# main -------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", help="a folder of examples/, e.g. seed002-aurora-failover")
    parser.add_argument("experiment", nargs="?", default="experiment.yaml", help="a file in it")
    parser.add_argument("--api-port", type=int, default=None, help="the lab's API port (default: a free one)")
    parser.add_argument("--home", type=Path, default=None, help="the lab's CHAOSLAB_HOME (default: a new temp dir)")
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        help="where chaoslab run writes its report (default: a new temporary directory, kept)",
    )
    parser.add_argument("--readme", type=Path, default=None, help="the README to rewrite (default: the scenario's)")
    parser.add_argument("--fast", action="store_true", help="the CI variant, to try the script; use with --readme")
    parser.add_argument("--time-scale", type=float, default=1.0, help="run the lab's clocks N times faster")
    args = parser.parse_args(argv)
    args.api_port = args.api_port or free_port()
    args.report = args.report or Path(tempfile.mkdtemp(prefix="chaoslab-readme-report-"))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    experiment = EXAMPLES / args.scenario / args.experiment
    readme = args.readme or experiment.parent / "README.md"
    if args.fast and args.readme is None:
        raise SystemExit("--fast figures are not the example's result: give --readme with a copy")
    replace_block(readme.read_text(), args.experiment, "")  # fail before a run of minutes, not after
    with tempfile.TemporaryDirectory(prefix="chaoslab-readme-") as tmp:
        run = measure(experiment, args, Path(tmp))
    if run.code == 2:
        print(f"exit 2 ({run.journal['verdict']['summary']}): {readme} left as it was", file=sys.stderr)
        return 2
    readme.write_text(replace_block(readme.read_text(), args.experiment, render(run, args, experiment)))
    print(f"{readme}: results of {args.experiment} rewritten (exit {run.code}); report in {args.report}")
    return 0


if __name__ == "__main__":
    exit_cleanly_on_sigterm()
    sys.exit(main())
