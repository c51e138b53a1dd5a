"""`chaoslab demo`: seed 003's article end to end — up, the three orders, the hypothesis "no
user-visible errors", one instance stopped through FIS while the seed's probe loop runs, the
verdict, the report, down. It exits 0 whenever the demonstration ran to the end, refuted or not;
only a demo that could not run is an error."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from chaoslab.config import LabConfig
from chaoslab.experiment.schema import load_experiment
from chaoslab.experiment.session import run_experiment

DEMO_EXPERIMENT = "seed003-stop-instance"


def run_demo(
    config: LabConfig,
    *,
    fast: bool = False,
    report_dir: str | Path | None = None,
    stack: str | None = None,
    out: TextIO = sys.stdout,
    network: str = "auto",
) -> tuple[int, dict[str, Any]]:
    """(exit code, journal). `stack` replaces the bundled default (tests use a free listener port)."""
    exp = load_experiment(DEMO_EXPERIMENT, fast=fast)
    hyp = exp["hypothesis"]
    out.write(
        f"chaoslab demo: {exp['title']}\n\n{exp['description']}\n\nHypothesis: if {hyp['if']}, then {hyp['then']}.\n\n"
    )
    journal = run_experiment(exp, config, fast=fast, report_dir=report_dir, stack=stack, out=out, network=network)
    ran = journal["verdict"]["outcome"] in ("held", "deviated")
    return (0 if ran else 2), journal
