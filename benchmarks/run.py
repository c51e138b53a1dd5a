"""chaoslab benchmarks: the lab's speed against references measured in the same run.

    .venv/bin/python benchmarks/run.py [--quick] [--only NAME[,NAME]]

Prints one table and writes benchmarks/RESULTS.md (machine, date, command, table). Sections:
up (lab start), workload (open-loop generator vs Locust and wrk), alb (ALB vs HAProxy/nginx), faults
(onset/revert per fault family), stop (stop-condition reaction), api (boto3 call latency), demo
(`chaoslab demo --fast`), scale (cost per unit at 2-64 ECS tasks). Not part of `make test`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

from common import ROOT, Row, busy_processes, exit_cleanly_on_sigterm, fmt, load_tool, machine, reference_versions

# Sections without the shared lab first, then those using it, then demo (its own lab) once the
# shared one is down, so no lab idles in the background of another section's figures.
SECTIONS = ("up", "workload", "alb", "faults", "stop", "api", "demo", "scale")
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


class Shared:
    """The one `chaoslab up --fast` lab (Chaos Shop + a one-task ECS service) that several sections
    use; started on first need, stopped at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.lab = None

    def get(self):
        from labctl import BenchLab, bench_stack

        if self.lab is None:
            lab = BenchLab(self.tmp / "shared-home", bench_stack(self.tmp, octet=62, ecs=True))
            lab.up(fast=True)
            self.lab = lab
        return self.lab

    def close(self) -> None:
        if self.lab is not None:
            self.lab.down()
            self.lab = None


def section_rows(name: str, quick: bool, shared: Shared) -> list[Row]:
    seconds, connections = (2.0, 32) if quick else (5.0, 64)
    if name == "alb":
        import alb_compare

        rounds = 1 if quick else 3
        rows = alb_compare.static_rows(seconds=seconds, connections=connections, rounds=rounds)
        return rows + alb_compare.shop_rows(
            shared.get().status(), seconds=seconds, connections=connections, rounds=rounds
        )
    if name == "up":
        import startup_api

        return startup_api.up_rows(shared.tmp, 2 if quick else 5)
    if name == "api":
        import startup_api

        return startup_api.api_rows(shared.get(), 50 if quick else 300)
    if name == "demo":
        import startup_api

        shared.close()
        return startup_api.demo_rows(shared.tmp)
    if name == "faults":
        import faults_bench

        return faults_bench.fault_rows(shared.get())
    if name == "stop":
        import faults_bench

        return faults_bench.stop_condition_rows(shared.get())
    if name == "scale":
        import scale_bench

        shared.close()
        return scale_bench.scale_rows(shared.tmp, quick)
    if name == "workload":
        import workload_bench

        return workload_bench.workload_rows(quick=quick)
    raise ValueError(name)


def render(rows: list[Row]) -> str:
    """One markdown table: figure, reference and ratio from the same run, target and verdict."""
    head = "| section | measure | figure | reference (same run) | ratio | target | verdict | notes |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        figure = f"{fmt(r.value)} {r.unit}" if r.value is not None else (r.note or "n/a")
        note = r.note if r.value is not None else ""
        lines.append(
            f"| {r.section} | {r.name} | {figure} | {r.reference} | {r.ratio} | {r.target_text()} | "
            f"{r.verdict()} | {note} |"
        )
    return "\n".join(lines)


def write_results(
    rows: list[Row], command: str, info: dict[str, str], busy: list[str], elapsed: float, failures: list[str]
) -> None:
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = [
        "# chaoslab benchmark results",
        "",
        f"- date: {date} (run took {elapsed:.0f} s)",
        f"- command: `{command}`",
        f"- machine: {info['cpu']}, {info['cores']} cores, Linux {info['kernel']}, Python {info['python']}",
        f"- load average before the run: {info['load']}; after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        + (
            "; other work was running on the machine (see below), so figures are lower bounds of what an idle box gives"
            if busy
            else ""
        ),
        f"- load generator: {load_tool()}",
        f"- references: {reference_versions()}",
    ]
    if busy:
        text.append("- busiest other processes: " + "; ".join(f"`{b}`" for b in busy))
    text += ["", render(rows), ""]
    if failures:
        text += ["## Sections that failed in this run", ""] + [f"- {f}" for f in failures] + [""]
    text += ["How each figure is taken, and why the misses miss: see docs/benchmarks.md.", ""]
    RESULTS.write_text("\n".join(text))


@contextlib.contextmanager
def shared_lab() -> Iterator[Shared]:
    with tempfile.TemporaryDirectory(prefix="chaoslab-bench-") as tmp:
        shared = Shared(Path(tmp))
        try:
            yield shared
        finally:
            shared.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer repetitions")
    parser.add_argument("--only", default="", help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave RESULTS.md alone")
    args = parser.parse_args(argv)
    asked = [n for n in args.only.split(",") if n] or list(SECTIONS)
    unknown = [n for n in asked if n not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    names = [n for n in SECTIONS if n in asked]
    info, busy = machine(), busy_processes()
    rows: list[Row] = []
    failures: list[str] = []
    start = time.perf_counter()
    with shared_lab() as shared:
        for name in names:
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            try:
                rows += section_rows(name, args.quick, shared)
            except Exception as exc:  # one broken section must not lose the others' figures
                traceback.print_exc()
                failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")
    elapsed = time.perf_counter() - start
    busy += [f"(at the end) {b}" for b in busy_processes()]  # our own work has stopped by now
    print(render(rows))
    for f in failures:
        print(f"FAILED {f}")
    if not args.no_write:
        command = ".venv/bin/python benchmarks/run.py" + "".join(f" {a}" for a in (argv or sys.argv[1:]))
        write_results(rows, command, info, busy, elapsed, failures)
    return 1 if failures else 0


if __name__ == "__main__":
    exit_cleanly_on_sigterm()
    sys.exit(main())
