"""The `chaoslab` command. Thin: parse, call the lab or the runner, render. Every user error is a
ChaoslabError printed without a traceback; exit codes are the stable ones listed in
docs/ARCHITECTURE.md ("The stable interface")."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from chaoslab import __version__
from chaoslab.clock import check_scale
from chaoslab.errors import ChaoslabError
from chaoslab.runtime.commands import use_system_path
from chaoslab.timing import parse_override

DESCRIPTION = """\
chaoslab runs AWS Fault Injection Service experiments for real on this machine: an ALB, compute
units (ECS tasks, EC2 instances) as real processes, an Aurora-like PostgreSQL cluster, CloudWatch
alarms that really evaluate, and the AWS APIs boto3 and the AWS CLI speak.

quick start:
  chaoslab demo                      seed 003's experiment end to end, then a report
  chaoslab up --detach               start the default lab (ALB on http://127.0.0.1:8080,
                                     AWS API on http://127.0.0.1:4566)
  aws --endpoint-url http://127.0.0.1:4566 ecs list-clusters
  chaoslab status                    units, target health, database, alarms
  chaoslab exec TASK -- sh -c 'env'  a command inside a running ECS task (docs/ecs.md)
  chaoslab down                      stop everything the lab started
"""


def time_scale(text: str) -> float:
    """`--time-scale N`: a number from 1 to 600, else argparse's usage error naming the range."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    try:
        return check_scale(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def worker_count(text: str) -> int:
    """`--alb-workers N`: 1 to 64 processes (the stack's `alb: {workers: N}` has the same range)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"between 1 and 64, not {value}")
    return value


def timing_override(text: str) -> tuple[str, float]:
    """`--timing NAME=SECONDS`: a known delay and a number of seconds, else a usage error naming the allowed delays."""
    try:
        return parse_override(text)
    except ChaoslabError as exc:
        raise argparse.ArgumentTypeError(f"{exc.message} ({exc.hint})") from None


def add_timing_options(parser: argparse.ArgumentParser, fast_help: str) -> None:
    """--fast and --timing, which up, run and demo share (docs/timing.md, "AWS's delays")."""
    parser.add_argument("--fast", action="store_true", help=fast_help + "; AWS's recovery times become near-instant")
    parser.add_argument(
        "--timing",
        type=timing_override,
        action="append",
        default=[],
        metavar="NAME=SECONDS",
        help="override one of AWS's delays, e.g. rds_failover_write_unavailable_s=25 (repeatable; docs/timing.md)",
    )


TIME_SCALE_HELP = (
    "run the lab's clocks N times faster (1-600): action durations, health checks, alarm periods, "
    "sweeps; reports keep the template's own times (docs/timing.md)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chaoslab", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"chaoslab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    up = sub.add_parser(
        "up",
        help="start a lab from a stack file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Start a lab: every resource of the stack, for real, plus the AWS API.\n\n"
        "STACK is a bundled stack name (default: seed 003's Chaos Shop) or a YAML file.\n"
        "Without --detach the lab runs in the foreground until Ctrl-C.",
    )
    up.add_argument("stack", nargs="?", help="bundled stack name or path to a stack YAML file (default: default)")
    up.add_argument(
        "--detach", "-d", action="store_true", help="run the lab in the background and return when it is ready"
    )
    add_timing_options(up, "short health-check intervals and sweeps (CI)")
    up.add_argument("--api-port", type=int, default=None, help="AWS API port (default 4566)")
    up.add_argument("--time-scale", type=time_scale, default=1.0, metavar="N", help=TIME_SCALE_HELP + " (default 1)")
    up.add_argument(
        "--bind",
        metavar="ADDR",
        default=None,
        help="the address the AWS API, the dashboard and the ALB listeners listen on (default "
        "127.0.0.1). Anything else exposes the lab, whose credentials are public, to whoever can "
        "reach ADDR (docs/security.md)",
    )
    up.add_argument(
        "--enforce-iam",
        action="store_true",
        help="authorise every API call with the caller's IAM policies, as AWS does (default: any "
        "valid key may do anything; the stack's `iam: {enforce: true}` does the same; docs/iam.md)",
    )
    up.add_argument(
        "--alb-workers",
        type=worker_count,
        metavar="N",
        default=None,
        help="processes serving the ALB listeners (default: one per usable core; the stack's "
        "`alb: {workers: N}` does the same; docs/alb.md)",
    )
    up.add_argument(
        "--network",
        choices=["auto", "netns", "userns", "loopback"],
        default="auto",
        help="unit networking: netns (root) and userns (an ordinary user, in a user namespace the "
        "lab creates) give each unit its own network namespace; loopback works anywhere but "
        "without network faults. auto picks the first this host allows (default)",
    )
    up.add_argument("--list", action="store_true", help="list the bundled stacks and exit")

    st = sub.add_parser(
        "status",
        help="show the running lab",
        description="Show the running lab: endpoints, units, target health, database writer, alarms.",
    )
    st.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser(
        "down",
        help="stop the running lab and everything it started",
        description="Stop the running lab: experiments are stopped and their faults reverted, then every "
        "unit, database and network the lab made is removed.",
    )

    ex = sub.add_parser(
        "exec",
        help="run a command inside a running ECS task",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run COMMAND inside a running task of the lab, as `docker exec` would: in the "
        "task's network namespace,\nwith its container's environment, working directory and user. "
        "At a terminal (stdin and stdout\nboth) the command gets a terminal of its own and your "
        "keys, as with -it; otherwise output is\nstreamed line by line with no stdin unless -i or "
        "-t say otherwise. Exits with the command's code.\n(`aws ecs execute-command` answers with "
        "an error that points here.)\n\nexamples:\n  chaoslab exec 3f2a… -- sh -c 'env; hostname -I'"
        "\n  chaoslab exec -it 3f2a… -- sh",
    )
    ex.add_argument("-i", "--interactive", action="store_true", help="forward stdin to the command")
    ex.add_argument("-t", "--tty", action="store_true", help="run the command on a terminal (a PTY in the task)")
    ex.add_argument("task", metavar="TASK", help="task id or ARN (aws ecs list-tasks)")
    ex.add_argument("--container", metavar="NAME", help="the container whose environment to use (default: the first)")
    ex.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="the command and its arguments")

    val = sub.add_parser(
        "validate",
        help="lint FIS templates and experiment files offline",
        description="Lint FIS experiment templates offline: API bodies (bare or --cli-input-json), "
        "get-experiment-template answers, CloudFormation AWS::FIS::ExperimentTemplate "
        "(JSON/YAML), chaoslab experiment and stack files. Each file is invalid (AWS "
        "would reject it), valid but not runnable in the lab (what and why), or "
        "runnable. Exit 1 when any file is invalid, else 0.",
    )
    val.add_argument("files", nargs="+", metavar="FILE")
    val.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="text (default), json, or github (GitHub Actions annotations)",
    )

    run = sub.add_parser(
        "run",
        help="run an experiment file against the lab (or, with --aws, a real AWS account)",
        description=RUN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("experiment", help="experiment file (YAML or JSON)")
    run.add_argument("--report", metavar="DIR", help="write the HTML report and JSON journal here")
    run.add_argument("--junit", metavar="FILE", help="write a JUnit XML result here")
    add_timing_options(run, "short intervals (CI)")
    run.add_argument(
        "--time-scale",
        type=time_scale,
        default=None,
        metavar="N",
        help=TIME_SCALE_HELP + "; a running lab keeps its own (default: the running lab's, else 1)",
    )
    _aws_run_options(run)

    rep = sub.add_parser(
        "report",
        help="rebuild the HTML/JUnit reports of a run from its journal.json",
        description="Rebuild a run's reports from its journal alone (the journal holds everything).",
    )
    rep.add_argument("journal", help="a journal.json written by `chaoslab run` or `chaoslab demo`")
    rep.add_argument("--out", metavar="DIR", help="where to write report.html (default: beside the journal)")
    rep.add_argument("--junit", metavar="FILE", help="also write JUnit XML here")

    _import_parser(sub)

    demo = sub.add_parser(
        "demo",
        help="seed 003's 'stop one instance' experiment, end to end",
        description="Bring up the Chaos Shop (ALB, two instances in two AZs, an Aurora-like "
        "PostgreSQL cluster), place the article's orders, stop one instance through "
        "FIS while probing the ALB, print the timeline and the verdict, write an HTML "
        "report, tear everything down.",
    )
    add_timing_options(demo, "short health-check intervals (about 30 s instead of ~2 min)")
    demo.add_argument("--report", metavar="DIR", default=None, help="report directory (default ./chaoslab-report)")

    completion = sub.add_parser(
        "completion",
        help="print a shell completion script (bash or zsh)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Print the completion script for SHELL, generated from this parser.\n\n"
        "  bash:  chaoslab completion bash > ~/.local/share/bash-completion/completions/chaoslab\n"
        '  zsh:   chaoslab completion zsh > "${fpath[1]}/_chaoslab"   (then: compinit)',
    )
    completion.add_argument("shell", choices=["bash", "zsh"])
    return parser


def completion_script(shell: str) -> str:
    """The completion script for `shell`, from the parser itself, so it never lags the commands."""
    import shtab

    script: str = shtab.complete(build_parser(), shell=shell)
    return script


RUN_HELP = """\
Run an experiment: baseline (steady state must hold), injection (the FIS experiment) and
recovery, with a workload and a hypothesis, then a report. Rehearse it in the lab first; with
--aws the same file runs against a real AWS account (docs/aws.md):

  chaoslab run shop.yaml                                   in the lab
  chaoslab run shop.yaml --aws --url https://shop.example.com --dry-run
  chaoslab run shop.yaml --aws --url https://shop.example.com --profile staging \\
      --role-arn arn:aws:iam::111122223333:role/fis-experiments

With --aws: prints the account, region and caller, creates the template tagged
chaoslab:run-id=<id>, previews the targets (a skip-all experiment), asks before injecting,
stops the experiment on Ctrl-C/SIGTERM and deletes what it created unless --keep.

exit codes: 0 hypothesis held, 1 deviated, 2 baseline not met or could not run (or --aws refused:
no stop condition, no confirmation), 3 aborted by a stop condition
"""


def _aws_run_options(run: argparse.ArgumentParser) -> None:
    aws = run.add_argument_group("against a real AWS account (docs/aws.md)")
    aws.add_argument("--aws", action="store_true", help="run against the AWS account your credentials reach")
    aws.add_argument("--url", help="your real endpoint the workload and probe are sent to (required with --aws)")
    aws.add_argument("--profile", help="an AWS CLI profile (default: boto3's usual credential chain)")
    aws.add_argument("--region", help="the region (default: the profile's)")
    aws.add_argument(
        "--endpoint-url", help="another endpoint than AWS's (an AWS-compatible control plane, for testing)"
    )
    aws.add_argument("--template-id", metavar="EXT...", help="start this existing template instead of creating one")
    aws.add_argument(
        "--role-arn", metavar="ARN", help="the FIS experiment role (an existing one: chaoslab never creates IAM roles)"
    )
    aws.add_argument(
        "--load-balancer",
        metavar="NAME",
        help="the ALB behind --url whose targets are sampled (default: the ALB whose DNS name is --url's host)",
    )
    aws.add_argument("--yes", action="store_true", help="do not ask before injecting (CI)")
    aws.add_argument("--dry-run", action="store_true", help="everything but inject: the experiment runs skip-all")
    aws.add_argument("--keep", action="store_true", help="keep the experiment template this run created")
    aws.add_argument(
        "--allow-no-stop-condition",
        action="store_true",
        help="run a template whose only stop condition is `none` (refused otherwise)",
    )


IMPORT_HELP = """\
Write your architecture as files the lab runs: OUT_DIR/stack.yaml (for `chaoslab up`), one
OUT_DIR/experiment-templates/NAME.json per FIS template (CreateExperimentTemplate bodies), and the
CloudWatch alarms inside the stack. Whatever cannot be translated is printed and listed, with the
reason, in the comment block at the top of stack.yaml. Check the result with
`chaoslab validate OUT_DIR/stack.yaml OUT_DIR/experiment-templates/*.json` (docs/import.md).

examples:
  chaoslab import cloudformation shop.yaml --parameter Env=staging -o lab/
  terraform show -json tfplan > plan.json && chaoslab import terraform plan.json
  chaoslab import aws --profile prod --region eu-west-1 --tag Project=shop \\
      --map-image ami-0abc=chaoslab/chaos-shop

Instances run their launch template's user data as written; --map-image OLD=NEW runs a bundled
app (chaoslab/chaos-shop, chaoslab/pet-payment, chaoslab/static) for an AMI or container image.
exit codes: 0 written, 1 the input could not be read
"""


def _import_parser(sub: Any) -> None:
    imp = sub.add_parser(
        "import",
        help="write a stack from CloudFormation, Terraform or a live AWS account",
        description=IMPORT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sources = imp.add_subparsers(dest="source", metavar="SOURCE", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-o", "--out", metavar="OUT_DIR", default="imported", help="output folder (default ./imported)")
    common.add_argument(
        "--map-image",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="run image NEW (a bundled app) where the source says OLD (an AMI id or a container image); repeatable",
    )
    common.add_argument("--name", help="the stack's name (default: from the file name or profile)")
    cfn = sources.add_parser(
        "cloudformation",
        parents=[common],
        help="a template, JSON or YAML (short-form tags such as !Ref and !Sub)",
        description="Import a CloudFormation template. Parameters take their defaults unless --parameter "
        "overrides them; AWS::Region and AWS::AccountId are the lab's (--region, CHAOSLAB_ACCOUNT_ID).",
    )
    cfn.add_argument("file", metavar="FILE")
    cfn.add_argument("--parameter", action="append", default=[], metavar="K=V", help="a template parameter; repeatable")
    cfn.add_argument("--region", default=None, help="AWS::Region (default us-east-1)")
    tf = sources.add_parser(
        "terraform",
        parents=[common],
        help="`terraform show -json` of a plan or of the state",
        description="Import Terraform's JSON: `terraform show -json PLANFILE` (planned_values) or "
        "`terraform show -json` (the state's values). Child modules are read too; HCL is not.",
    )
    tf.add_argument("file", metavar="FILE")
    aws = sources.add_parser(
        "aws",
        parents=[common],
        help="a live account, read-only (Describe/List/Get calls only)",
        description="Import what a live account runs, with your usual boto3 credentials. Only "
        "Describe/List/Get calls are made. --tag keeps the resources carrying every given tag "
        "(and what they use).",
    )
    aws.add_argument("--profile", help="an AWS CLI profile (default: boto3's usual credential chain)")
    aws.add_argument("--region", help="the region to read (default: the profile's)")
    aws.add_argument("--endpoint-url", help="another endpoint than AWS's (a chaoslab lab, for testing)")
    aws.add_argument(
        "--tag", action="append", default=[], metavar="K=V", help="only resources with this tag; repeatable"
    )


def main(argv: Sequence[str] | None = None) -> int:
    use_system_path()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    if args.command == "completion":
        print(completion_script(args.shell))
        return 0
    try:
        from chaoslab import commands

        return int(getattr(commands, f"cmd_{args.command}")(args) or 0)
    except ChaoslabError as exc:
        print(f"chaoslab: error: {exc}", file=sys.stderr)
        return 2 if args.command in ("run", "demo") else 1
    except KeyboardInterrupt:
        print("chaoslab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
