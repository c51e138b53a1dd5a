"""`chaoslab run EXPERIMENT --aws`: the same run as in the lab, against a real AWS account.

Safety comes first, in this order: refuse to go on without a way to confirm (a terminal or
`--yes`) before anything is created; say which account, region and caller the credentials are;
refuse a template whose only stop condition is `none` (unless told) or whose role is missing or in
another account; create the template tagged with the run's id; preview the targets with a
`skip-all` experiment (FIS resolves them and runs nothing); ask. Then the runner of the lab run
does the rest against the account. Whatever happens after the template exists — the end, an
error, Ctrl-C, SIGTERM — a running experiment is stopped and waited for, and the template is
deleted unless `--keep`. No IAM role is ever created.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import ClientError

from chaoslab.errors import ChaoslabError
from chaoslab.experiment.awsaccount import RUN_TAG, AwsAccount
from chaoslab.experiment.runner import TERMINAL, Run
from chaoslab.experiment.schema import load_experiment
from chaoslab.experiment.session import until_terminated, write_outputs

NO_STOP = ("none", "aws:none")
FOLLOW_POLL_S = 0.5  # between two GetExperiment calls while waiting for an experiment to end
PREVIEW_TIMEOUT_S = 120.0  # a skip-all experiment only resolves targets: minutes would mean trouble
STOP_TIMEOUT_S = 120.0  # after StopExperiment, how long to wait for FIS to report it stopped


@dataclass
class AwsOptions:
    """The `--aws` options of `chaoslab run`."""

    url: str
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    template_id: str | None = None
    role_arn: str | None = None
    load_balancer: str | None = None
    yes: bool = False
    dry_run: bool = False
    keep: bool = False
    allow_no_stop_condition: bool = False
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


def run_aws_file(
    ref: str,
    opts: AwsOptions,
    *,
    fast: bool = False,
    report_dir: str | Path | None = None,
    junit: str | Path | None = None,
    out: TextIO = sys.stdout,
    stdin: TextIO = sys.stdin,
) -> dict[str, Any]:
    """Run an experiment file against the account; outputs written, journal returned."""
    if not (opts.dry_run or opts.yes or stdin.isatty()):
        raise ChaoslabError(
            "refusing to inject faults into an AWS account without a confirmation: there is no terminal to ask on",
            hint="--yes to confirm up front (CI), or --dry-run to do everything but inject",
        )
    exp = load_experiment(ref, fast=fast, for_lab=False)
    exp["workload"]["target"] = opts.url  # the user's real endpoint, whatever the file says
    exp.pop("fis", None)  # skipping what the lab cannot run means nothing in AWS
    account = AwsAccount(
        opts.url,
        run_id=opts.run_id,
        profile=opts.profile,
        region=opts.region,
        endpoint_url=opts.endpoint_url,
        load_balancer=opts.load_balancer,
        dry_run=opts.dry_run,
    )
    who = account.identity()
    out.write(
        f"AWS account {who['account']}  region {who['region']}\ncaller      {who['arn']}\nrun id      {opts.run_id}\n"
    )
    fis = account.client("fis")
    body = _template_body(exp, opts, fis, who["account"])
    account.alarm_names = sorted(set(_alarm_names(exp, body)))
    _check_stop_conditions(body, account, opts.allow_no_stop_condition)
    lb_name, _ = account.alb({})
    if lb_name:
        account.target_groups(lb_name)  # a wrong --load-balancer is refused before anything is created
    elif any(c["type"] == "healthy_hosts" for c in exp["steady_state"]):
        raise ChaoslabError(
            f"the steady state counts healthy hosts, but no load balancer in {who['region']} has the DNS name of {opts.url}",
            hint="--load-balancer NAME (the ALB behind --url)",
        )
    created: str | None = None
    template_id = opts.template_id or ""
    preview: dict[str, Any] = {}
    main_thread = threading.current_thread() is threading.main_thread()  # only it may set signal handlers
    previous = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None  # SIGTERM = Ctrl-C's clean stop
    try:
        if not template_id:
            created = template_id = _create_template(fis, body, opts.run_id)
            out.write(f"created FIS experiment template {template_id} (tag {RUN_TAG}={opts.run_id})\n")
        preview = _preview(fis, template_id, opts.run_id, out)
        _print_preview(body, preview, out)
        if not (opts.dry_run or opts.yes):
            _confirm(who, stdin, out)
        if opts.dry_run:
            out.write("--dry-run: the experiment runs with actionsMode skip-all; nothing is injected\n")
        exp["template_id"] = template_id
        exp.pop("template", None)
        from chaoslab.report import LiveView

        view = LiveView(stream=out)
        run = Run(exp, account, view, stack=f"aws:{who['account']}/{who['region']}")
        try:
            journal = asyncio.run(until_terminated(run))
        except asyncio.CancelledError:
            raise KeyboardInterrupt from None  # SIGTERM: the same clean stop as Ctrl-C
        finally:
            view.close()
    finally:
        _clean_up(fis, template_id, opts.run_id, created is not None, opts.keep, out, shield=main_thread)
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    journal["aws"] = {
        **who,
        "run_id": opts.run_id,
        "template_id": template_id,
        "template_created": created is not None,
        "template_kept": created is not None and opts.keep,
        "dry_run": opts.dry_run,
        "preview": preview,
        "cloudwatch": _metrics(account, lb_name, journal),
    }
    write_outputs(journal, report_dir, junit, out)
    return journal


def _template_body(exp: dict[str, Any], opts: AwsOptions, fis: Any, account_id: str) -> dict[str, Any]:
    """The template the run will start: an existing one (read back) or the file's, with the role
    checked. A role is never created: it must exist and be the caller's account's."""
    template_id = opts.template_id or exp.get("template_id")
    if template_id:
        if opts.role_arn:
            raise ChaoslabError("--role-arn applies to a template this run creates", hint="drop --role-arn")
        opts.template_id = template_id
        try:
            got: dict[str, Any] = fis.get_experiment_template(id=template_id)["experimentTemplate"]
        except ClientError as exc:
            raise ChaoslabError(f"FIS experiment template {template_id}: {exc}", hint="--template-id EXT...") from None
        return got
    body = {k: v for k, v in exp["template"].items() if k != "clientToken"}
    if opts.role_arn:
        body["roleArn"] = opts.role_arn
    role = str(body.get("roleArn") or "")
    if not role:
        raise ChaoslabError("the template has no roleArn and chaoslab never creates IAM roles", hint="--role-arn ARN")
    parts = role.split(":")
    if len(parts) < 6 or parts[4] != account_id:
        raise ChaoslabError(
            f"the template's role {role} is not in account {account_id} (the lab's role, perhaps)",
            hint="--role-arn arn:aws:iam::<account>:role/<the FIS experiment role>",
        )
    return body


def _alarm_names(exp: dict[str, Any], body: dict[str, Any]) -> list[str]:
    """The alarms the run samples: the steady state's and hypothesis's, and the stop conditions'."""
    names = [c["name"] for c in exp["steady_state"] + exp["hypothesis"]["clauses"] if c["type"] == "alarm"]
    return names + [s["value"].split(":alarm:", 1)[-1] for s in body.get("stopConditions", []) if s.get("value")]


def _check_stop_conditions(body: dict[str, Any], account: AwsAccount, allowed_without: bool) -> None:
    """A template with no real stop condition is refused unless the user says so; every alarm a stop
    condition names must exist in the account (FIS would refuse to start otherwise, mid-way)."""
    alarms = [s["value"] for s in body.get("stopConditions", []) if s.get("source") not in NO_STOP]
    if not alarms and not allowed_without:
        raise ChaoslabError(
            "the template has no stop condition (only `none`): nothing would stop the faults if the service "
            "went down for real",
            hint="add a stop condition on a CloudWatch alarm, or --allow-no-stop-condition",
        )
    names = [a.split(":alarm:", 1)[-1] for a in alarms]
    if names:
        got = account.client("cloudwatch").describe_alarms(
            AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
        )
        found = {a["AlarmName"] for a in got.get("MetricAlarms", []) + got.get("CompositeAlarms", [])}
        missing = [n for n in names if n not in found]
        if missing:
            raise ChaoslabError(
                f"stop-condition alarm(s) not found in the account: {', '.join(missing)}",
                hint="create the alarms first (or import them: `chaoslab import aws`)",
            )


def _create_template(fis: Any, body: dict[str, Any], run_id: str) -> str:
    tags = {**body.get("tags", {}), RUN_TAG: run_id}
    created = fis.create_experiment_template(clientToken=str(uuid.uuid4()), **{**body, "tags": tags})
    return str(created["experimentTemplate"]["id"])


def _follow(fis: Any, experiment_id: str, timeout: float) -> dict[str, Any]:
    """GetExperiment until the experiment ends, or `timeout` seconds; the last answer.

    FIS moves an experiment through pending, initiating and running to an end state; an emulated
    control plane may move it one state per call, or on a timer, or not at all. Nothing here
    assumes how fast: only the end states count, and the caller decides what a timeout means."""
    deadline = time.monotonic() + timeout
    while True:
        got: dict[str, Any] = fis.get_experiment(id=experiment_id)["experiment"]
        if got["state"]["status"] in TERMINAL or time.monotonic() > deadline:
            return got
        time.sleep(FOLLOW_POLL_S)


def _preview(fis: Any, template_id: str, run_id: str, out: TextIO) -> dict[str, Any]:
    """A skip-all experiment: FIS resolves the targets and runs no action."""
    started = fis.start_experiment(
        clientToken=str(uuid.uuid4()),
        experimentTemplateId=template_id,
        experimentOptions={"actionsMode": "skip-all"},
        tags={RUN_TAG: run_id},
    )["experiment"]
    out.write(f"target preview: experiment {started['id']} (actionsMode skip-all)\n")
    got = _follow(fis, started["id"], PREVIEW_TIMEOUT_S)
    status = got["state"]["status"]
    if status not in TERMINAL:
        fis.stop_experiment(id=started["id"])
        raise ChaoslabError(f"the target preview did not end within {PREVIEW_TIMEOUT_S:g} s ({status})")
    if status == "failed":
        raise ChaoslabError(
            f"FIS could not resolve the template's targets: {got['state'].get('reason', '')}",
            hint="check the targets' tags/ARNs and the role's permissions",
        )
    pages = fis.get_paginator("list_experiment_resolved_targets").paginate(experimentId=started["id"])
    resolved = [
        {"target": t.get("targetName"), "type": t.get("resourceType"), "resource": _resource(t)}
        for page in pages
        for t in page.get("resolvedTargets", [])
    ]
    return {"experiment_id": started["id"], "status": status, "resolved": resolved}


def _resource(target: dict[str, Any]) -> str:
    info = target.get("targetInformation") or {}
    return str(info.get("arn") or info.get("resourceArn") or info)


def _print_preview(body: dict[str, Any], preview: dict[str, Any], out: TextIO) -> None:
    out.write("targets:\n")
    for name, t in body.get("targets", {}).items():
        chosen = [r["resource"] for r in preview["resolved"] if r["target"] == name]
        how = ", ".join(f"{k}={v}" for k, v in (t.get("resourceTags") or {}).items()) or "by ARN/filter"
        out.write(f"  {name}: {t.get('resourceType')} {t.get('selectionMode')} ({how})\n")
        for arn in chosen:
            out.write(f"    {arn}\n")
        if not chosen:
            out.write("    (FIS listed no resolved resource for this target)\n")
    for name, a in body.get("actions", {}).items():
        out.write(f"action {name}: {a.get('actionId')} {a.get('parameters') or ''}\n".replace(" \n", "\n"))
    for s in body.get("stopConditions", []):
        out.write(f"stop condition: {s.get('source')} {s.get('value', '')}\n".replace(" \n", "\n"))


def _confirm(who: dict[str, str], stdin: TextIO, out: TextIO) -> None:
    out.write(f"Inject these faults into account {who['account']} ({who['region']})? Type 'yes' to go on: ")
    out.flush()
    if stdin.readline().strip().lower() != "yes":
        raise ChaoslabError("not confirmed: nothing was injected")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _clean_up(fis: Any, template_id: str, run_id: str, created: bool, keep: bool, out: TextIO, *, shield: bool) -> None:
    """Stop every experiment of this run that still runs and wait for FIS to say it stopped, then
    delete the template if we created it. The experiments are found by the run's tag, not
    remembered, so one started by a call that Ctrl-C interrupted is found too. Ctrl-C and SIGTERM
    are ignored meanwhile: this is what makes leaving safe. FIS keeps experiments as history (there
    is no call to delete them); they carry the run's tag."""
    if not template_id:
        return
    handlers = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM) if shield}
    try:
        for experiment_id in _running(fis, template_id, run_id):
            try:
                out.write(f"stopping FIS experiment {experiment_id}\n")
                out.flush()
                fis.stop_experiment(id=experiment_id)
                got = _follow(fis, experiment_id, STOP_TIMEOUT_S)
                out.write(f"FIS experiment {experiment_id}: {got['state']['status']}\n")
            except ClientError as exc:
                out.write(f"could not stop FIS experiment {experiment_id}: {exc} — stop it in the console\n")
        if created and keep:
            out.write(f"--keep: FIS experiment template {template_id} stays in the account\n")
        elif created:
            try:
                fis.delete_experiment_template(id=template_id)
                out.write(f"deleted FIS experiment template {template_id}\n")
            except ClientError as exc:
                out.write(f"could not delete FIS experiment template {template_id}: {exc}\n")
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        out.flush()


def _running(fis: Any, template_id: str, run_id: str) -> list[str]:
    """This run's experiments of the template that have not ended (ListExperiments, every page)."""
    found: list[str] = []
    kwargs: dict[str, Any] = {"experimentTemplateId": template_id}
    while True:
        page = fis.list_experiments(**kwargs)
        found += [
            e["id"]
            for e in page.get("experiments", [])
            if (e.get("tags") or {}).get(RUN_TAG) == run_id and e["state"]["status"] not in TERMINAL
        ]
        if not page.get("nextToken"):
            return found
        kwargs["nextToken"] = page["nextToken"]


def _metrics(account: AwsAccount, lb_name: str, journal: dict[str, Any]) -> list[dict[str, Any]]:
    """CloudWatch's own counts of the run for the report; a refusal is a note, not a failed run."""
    try:
        return account.alb_metrics(lb_name, journal["started"], journal["ended"])
    except ClientError as exc:
        journal["notes"].append(f"CloudWatch metrics not read: {exc}")
        return []
