"""chaoslab as a Python library: a lab you start, use and stop from code, and experiments run
against it with typed results. The pytest plugin and the CLI (`chaoslab up --detach`, `status`,
`exec`, `down`, `run`) are thin layers over this.

    with chaoslab.Lab("default", fast=True) as lab:
        lab.client("elbv2").describe_load_balancers()
        verdict = chaoslab.run_experiment("seed003-stop-instance", lab=lab)
        assert verdict.held, verdict.explain()
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import yaml

from chaoslab.config import LabConfig
from chaoslab.errors import ChaoslabError
from chaoslab.services.rds.postgres import free_port

DEFAULT_VPC_OCTET = 100  # where isolated labs start looking for a free 10.<n>.0.0/16


@dataclass(frozen=True)
class Clause:
    """One hypothesis clause as judged: what it allows, what was measured, whether it held."""

    text: str
    bound: str
    measured: str
    passed: bool


@dataclass(frozen=True)
class Verdict:
    """The outcome of one experiment run; `exit_code` is the one `chaoslab run` exits with
    (0 held, 1 deviated, 2 baseline not met or could not run, 3 aborted by a stop condition)."""

    outcome: str
    exit_code: int
    summary: str
    clauses: tuple[Clause, ...]
    journal: dict[str, Any]
    report_dir: Path
    transcript: str

    @property
    def held(self) -> bool:
        return self.exit_code == 0

    def explain(self) -> str:
        """The verdict in the hypothesis's own words: its If/Then, then each clause that failed."""
        hypothesis = self.journal.get("experiment", {}).get("hypothesis", {})
        lines = [f"{self.outcome}: {self.summary}"]
        if hypothesis:
            lines.append(f"hypothesis: if {hypothesis.get('if')}, then {hypothesis.get('then')}")
        lines += [
            f"  not held: {c.text} (allowed {c.bound}, measured {c.measured})" for c in self.clauses if not c.passed
        ]
        lines.append(f"report: {self.report_dir / 'report.html'}")
        return "\n".join(lines)

    @classmethod
    def from_journal(cls, journal: dict[str, Any], report_dir: Path, transcript: str = "") -> Verdict:
        verdict = journal["verdict"]
        clauses = tuple(
            Clause(str(c.get("text")), str(c.get("bound")), str(c.get("measured")), bool(c.get("passed")))
            for c in journal.get("clauses", [])
        )
        return cls(
            verdict["outcome"], int(verdict["exit_code"]), verdict["summary"], clauses, journal, report_dir, transcript
        )


class Lab:
    """A lab of your own: `start()` (or `with`) brings the stack up in a private state dir on its
    own API port and, by default, its own VPC range, so it runs beside other labs and test
    workers; `stop()` reverts every fault and removes every process, namespace and route.
    The lab also stops by itself if this process dies, so a killed test run leaves nothing.
    `time_scale` runs the lab's clocks N times faster (docs/timing.md)."""

    def __init__(
        self,
        stack: str | Path | dict[str, Any] = "default",
        *,
        home: str | Path | None = None,
        fast: bool = False,
        network: str = "auto",
        vpc_octet: int | None = None,
        isolate: bool = True,
        time_scale: float = 1.0,
        config: LabConfig | None = None,
        outlive: bool = False,
        quiet: bool = True,
    ) -> None:
        """`config` places the lab as `chaoslab up` does (that state dir, API port, bind address,
        timing overrides and IAM setting) instead of a private home and a free port; `outlive`
        keeps it running after this process ends; `quiet` sends the progress to stderr."""
        self.stack = stack
        self.fast = fast
        self.network = network
        self.vpc_octet = vpc_octet
        self.isolate = isolate
        self.outlive = outlive
        self.quiet = quiet
        self._own_home = home is None and config is None
        if config is not None:
            self.home, self.config = config.home, config
        else:
            self.home = Path(home) if home is not None else Path(tempfile.mkdtemp(prefix="chaoslab-"))
            self.config = LabConfig(home=self.home, api_port=free_port(), time_scale=time_scale)
        self.info: dict[str, Any] | None = None

    @classmethod
    def attach(cls, config: LabConfig | None = None) -> Lab | None:
        """The lab already running in `config`'s state dir (CHAOSLAB_HOME by default), or None:
        what `chaoslab status`, `exec` and `down` act on."""
        from chaoslab.labctl import running_lab

        config = config or LabConfig()
        info = running_lab(config)
        if info is None:
            return None
        lab = cls(str(info.get("stack") or "default"), config=config, isolate=False, outlive=True, quiet=False)
        lab.info = info
        return lab

    # lifecycle ----------------------------------------------------------------------------
    def start(self) -> Lab:
        from chaoslab.labctl import start_detached

        if self.info is not None:
            return self
        self.config.ensure_home()
        self.info = start_detached(
            self.config,
            self._stack_ref(),
            fast=self.fast,
            network=self.network,
            quiet=self.quiet,
            exit_with=None if self.outlive else os.getpid(),
        )
        return self

    def stop(self) -> None:
        from chaoslab.labctl import stop_lab

        if self.info is None:
            return
        try:
            stop_lab(self.config, quiet=self.quiet)
        finally:
            self.info = None
            if self._own_home:
                shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # using it -----------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return str(self._running()["api"])

    @property
    def region(self) -> str:
        return self.config.region

    def status(self) -> dict[str, Any]:
        """What `chaoslab status --json` prints: units, load balancers, alarms, experiments."""
        from chaoslab.labctl import fetch_status

        return fetch_status(self._running())

    def alb_url(self, name: str | None = None) -> str:
        """The URL of a load balancer's first listener (the first load balancer if no name)."""
        balancers = self.status().get("load_balancers", [])
        for lb in balancers:
            if name is None or lb.get("name") == name:
                return str(lb["listeners"][0])
        known = ", ".join(str(lb.get("name")) for lb in balancers) or "none"
        raise ChaoslabError(f"no load balancer named {name!r} in this lab", hint=f"load balancers: {known}")

    def session(self) -> Any:
        """A boto3 Session for this lab: its region and credentials (endpoint via `client`)."""
        try:
            import boto3
        except ImportError:
            raise ChaoslabError("boto3 is not installed", hint="pip install boto3") from None
        key, secret = next(iter(self.config.credentials.items()))
        return boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=self.region)

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for `service` that talks to this lab. Operations with a host prefix
        (Cloud Map's DiscoverInstances: `data-`) go to the lab's own address unprefixed, since
        a prefixed IP address resolves nowhere; a `config` given is merged over that."""
        from botocore.config import Config

        unprefixed = Config(inject_host_prefix=False)
        given = kwargs.pop("config", None)
        config = unprefixed if given is None else unprefixed.merge(given)
        return self.session().client(service, endpoint_url=self.api_url, config=config, **kwargs)

    def exec(
        self, task: str, argv: list[str], container: str | None = None, *, stdin: bool = False, tty: bool = False
    ) -> int:
        """Run `argv` inside a running task (its namespace, environment, working directory and
        user), printing its output as it comes; returns its exit code (128 + N for signal N).
        `stdin` forwards this process's stdin to it, `tty` runs it on a terminal of its own
        (`docker exec -i`, `-t`)."""
        from chaoslab.labctl import exec_in_task

        if not argv:
            raise ChaoslabError("no command given", hint="chaoslab exec TASK -- COMMAND [ARG...]")
        return exec_in_task(self.config, self._running(), task, container, argv, stdin=stdin, tty=tty)

    def _running(self) -> dict[str, Any]:
        if self.info is None:
            raise ChaoslabError("the lab is not running", hint="call start() or use `with Lab(...) as lab:`")
        return self.info

    def _stack_ref(self) -> str:
        """What the lab is started with: a stack as given (a bundled name or its own path, so
        its relative paths keep working), or written to the lab's home when it is a document or
        moved to a free VPC range."""
        if not self.isolate and not isinstance(self.stack, dict):
            from chaoslab.stack import load_stack

            load_stack(self.stack)  # validated here, before anything starts
            return str(self.stack)
        return str(self._stack_file())

    def _stack_file(self) -> Path:
        """The stack as a file in the lab's home; moved to a free VPC range when isolated."""
        from chaoslab.stack import load_stack, relocated, validate_stack

        if isinstance(self.stack, dict):
            doc = self.stack
            validate_stack(doc, "stack")
        else:
            doc = load_stack(self.stack)
        if self.isolate:
            doc = relocated(doc, self.vpc_octet or free_vpc_octet(DEFAULT_VPC_OCTET))
        path = self.home / "stack.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path


def run_experiment(
    experiment: str | Path | dict[str, Any],
    *,
    lab: Lab | None = None,
    fast: bool = False,
    report_dir: str | Path | None = None,
    junit: str | Path | None = None,
    config: LabConfig | None = None,
    time_scale: float | None = None,
    out: TextIO | None = None,
) -> Verdict:
    """Run an experiment (a file, a bundled name or a document) and return its verdict. With
    `lab`, it runs against that lab; without, as `chaoslab run` does (the lab in `config`'s state
    dir, CHAOSLAB_HOME by default, or one started for the run at `time_scale` and stopped after).
    The live progress goes to `out`, or is kept in `Verdict.transcript` when None."""
    from chaoslab.experiment.schema import load_experiment
    from chaoslab.experiment.session import default_report_dir
    from chaoslab.experiment.session import run_experiment as run_loaded

    with tempfile.TemporaryDirectory(prefix="chaoslab-exp-") as scratch:
        if isinstance(experiment, dict):
            path = Path(scratch) / "experiment.yaml"
            path.write_text(yaml.safe_dump(experiment, sort_keys=False))
            experiment = path
        exp = load_experiment(experiment, fast=fast)
    config = lab.config if lab is not None else config or LabConfig()
    target = Path(report_dir) if report_dir else default_report_dir()
    stream = out if out is not None else io.StringIO()
    journal = run_loaded(exp, config, fast=fast, report_dir=target, junit=junit, out=stream, time_scale=time_scale)
    return Verdict.from_journal(journal, target, stream.getvalue() if isinstance(stream, io.StringIO) else "")


def free_vpc_octet(preferred: int) -> int:
    """A 10.<n>.0.0/16 no other lab on this host routes; hosts without `ip` have no lab routes."""
    from chaoslab.runtime.network import unused_vpc_octet

    if shutil.which("ip") is None and not Path("/usr/sbin/ip").exists():
        return preferred
    return unused_vpc_octet(preferred)
