"""The pytest plugin (entry point `pytest11: chaoslab`): fixtures that give a test session its own
lab. Nothing starts unless a test asks for a fixture.

* `chaoslab_lab`: one lab per session (per xdist worker), stopped at the end of the session,
  on Ctrl-C, and by itself if pytest is killed.
* `chaoslab_client`: `chaoslab_client("ecs")` is a boto3 client pointed at it.
* `chaoslab_experiment`: `chaoslab_experiment("file.yaml")` runs an experiment against it and
  fails the test with the hypothesis's own words unless it held.

Options: `--chaoslab-stack` (or ini `chaoslab_stack`), `--chaoslab-fast`, `--chaoslab-time-scale`,
`--chaoslab-network`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from chaoslab.api import Lab, Verdict

OCTETS_PER_WORKER = 4  # xdist workers look for free VPC ranges from different starting points


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaoslab", "chaoslab: FIS experiments against a local lab")
    group.addoption(
        "--chaoslab-stack",
        default=None,
        help="stack for the chaoslab_lab fixture: a bundled name or a file (default: ini chaoslab_stack, else 'default')",
    )
    group.addoption(
        "--chaoslab-fast",
        action="store_true",
        default=False,
        help="short health-check intervals and alarm periods (fast feedback, not AWS's timings)",
    )
    group.addoption(
        "--chaoslab-time-scale",
        type=float,
        default=1.0,
        help="run the lab's clocks N times faster (1-600; report times stay the scenario's own)",
    )
    group.addoption(
        "--chaoslab-network",
        default="auto",
        choices=["auto", "netns", "userns", "loopback"],
        help="how units are isolated (default auto: the realistic mode this host allows)",
    )
    parser.addini("chaoslab_stack", "stack for the chaoslab_lab fixture (name or path)", default="default")


def _worker_octet() -> int:
    """Where this xdist worker (gw0, gw1, ...) starts looking for a free VPC range."""
    from chaoslab.api import DEFAULT_VPC_OCTET

    match = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", "gw0"))
    index = int(match.group(1)) if match else 0
    return DEFAULT_VPC_OCTET + OCTETS_PER_WORKER * index


@pytest.fixture(scope="session")
def chaoslab_lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A running lab for the whole session, in its own state dir, API port and VPC range."""
    from chaoslab.api import Lab, free_vpc_octet

    config = request.config
    stack = config.getoption("--chaoslab-stack") or config.getini("chaoslab_stack")
    if isinstance(stack, str) and (stack.endswith((".yaml", ".yml", ".json")) or os.sep in stack):
        stack = str((config.rootpath / stack).resolve()) if not Path(stack).is_absolute() else stack
    lab = Lab(
        stack,
        home=tmp_path_factory.mktemp("chaoslab"),
        fast=config.getoption("--chaoslab-fast"),
        network=config.getoption("--chaoslab-network"),
        time_scale=config.getoption("--chaoslab-time-scale"),
        vpc_octet=free_vpc_octet(_worker_octet()),
    )
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="session")
def chaoslab_client(chaoslab_lab: Lab) -> Callable[..., Any]:
    """`chaoslab_client("fis")`: a boto3 client for the session's lab."""
    return chaoslab_lab.client


@pytest.fixture
def chaoslab_experiment(chaoslab_lab: Lab, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., Verdict]:
    """`chaoslab_experiment(path_or_doc, expect="held")`: run an experiment against the session's
    lab; the test fails, in the hypothesis's words, unless the outcome is `expect`. The report
    lands in the test's tmp_path."""
    from chaoslab.api import run_experiment

    def run(experiment: str | Path | dict[str, Any], *, expect: str | None = "held") -> Verdict:
        if isinstance(experiment, str) and experiment.endswith((".yaml", ".yml", ".json")):
            candidate = request.config.rootpath / experiment
            experiment = candidate if candidate.exists() else experiment
        verdict = run_experiment(
            experiment, lab=chaoslab_lab, fast=chaoslab_lab.fast, report_dir=tmp_path / "chaoslab-report"
        )
        if expect is not None and verdict.outcome != expect:
            pytest.fail(f"the experiment did not end {expect!r}:\n{verdict.explain()}", pytrace=False)
        return verdict

    return run
