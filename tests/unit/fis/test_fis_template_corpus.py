"""The corpus of templates shaped like public ones (templates/README.md): every valid one passes
`chaoslab validate` (exit 0) with the verdict its folder names, every invalid one fails (exit 1)
for the reason it was written for, at the line that holds the mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaoslab.cli import main
from chaoslab.validate import check_file

CORPUS = Path(__file__).parent / "templates"
VALID = sorted((CORPUS / "valid").rglob("*.*"))
INVALID = sorted((CORPUS / "invalid").glob("*.*"))

# file -> (path of the error, words of its message, line)
EXPECTED = {
    "action-id-typo.json": ("actions.Stop.actionId", 'did you mean "aws:ec2:stop-instances"', 14),
    "alarm-in-wrong-partition.json": ("stopConditions[0].value", 'partition part "aws-cn-north"', 26),
    "api-ice-roles-by-tags.json": ("actions.Ice.targets.Roles", "names its resources by ARN only", 20),
    "automation-with-duration.json": ("actions.Runbook.parameters.duration", "did you mean maxDuration", 26),
    "bad-yaml-indentation.yaml": ("(file)", "not valid YAML", 5),
    "cfn-camel-case-property.yaml": ("Resources.Experiment.Properties.description", 'did you mean "Description"', 5),
    "comment-in-json.json": ("(file)", "JSON has no comments", 1),
    "description-over-512.json": ("description", "the limit is 512", 2),
    "direct-connect-five-minutes.json": ("actions.Down.parameters.duration", "outside PT10M..PT12H", 16),
    "document-parameters-as-mapping.yaml": (
        "actions.Cpu.parameters.documentParameters",
        '{"DurationSeconds":"120"}',
        12,
    ),
    "ebs-latency-percentage-too-small.json": ("actions.Latency.parameters.readIOPercentage", "outside 0.1..100", 16),
    "ecs-stop-task-clusters-key.json": ("actions.StopTasks.targets.Clusters", "aws:ecs:stop-task expects Tasks", 16),
    "ecs-task-memory-stress.json": (
        "actions.Memory.actionId",
        "aws:ecs actions: aws:ecs:drain-container-instances",
        14,
    ),
    "eks-custom-resource-two-clusters.json": ("actions.Chaos.targets.Cluster", "exactly one resource by ARN", 24),
    "elasticache-without-az.json": ("targets.cache.parameters.availabilityZoneIdentifier", "is required", 4),
    "get-experiment-answer.json": ("(file)", "an experiment (GetExperiment answer), not a template", 1),
    "lambda-status-code-1000.json": ("actions.Http.parameters.statusCode", "outside 0..999", 18),
    "percentage-as-number.yaml": ("actions.Throttle.parameters.percentage", 'write it as "50"', 13),
    "placeholder-account.json": ("roleArn", '"<YOUR AWS ACCOUNT>" is a placeholder', 28),
    "start-after-delay.json": ("actions.Later.startAfterDelay", 'did you mean "startAfter"', 30),
    "trailing-comma.json": ("(file)", "a trailing comma", 9),
}


def test_the_corpus_is_complete() -> None:
    assert len(VALID) >= 40 and len(INVALID) == len(EXPECTED)
    assert {p.name for p in INVALID} == set(EXPECTED)
    assert {p.parent.name for p in VALID} == {"runnable", "not-runnable"}


@pytest.mark.parametrize("path", VALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_templates_pass_with_their_verdict(path: Path) -> None:
    report = check_file(path)
    assert report.errors == [], [i.format() for i in report.errors]
    assert report.verdict == path.parent.name
    assert all(g.line for g in report.gaps), "every part the lab cannot run is placed in the file"


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_templates_fail_for_their_mistake(path: Path) -> None:
    where, words, line = EXPECTED[path.name]
    report = check_file(path)
    assert report.verdict == "invalid"
    found = [i for i in report.errors if i.path == where and words in f"{i.message} (hint: {i.hint})"]
    assert found, [i.format() for i in report.errors]
    assert found[0].line == line


def test_the_cli_exits_0_for_every_valid_file_and_1_for_each_invalid_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *map(str, VALID)]) == 0
    out = capsys.readouterr().out
    assert out.count("valid, runnable in chaoslab") == len([p for p in VALID if p.parent.name == "runnable"])
    for path in INVALID:
        assert main(["validate", str(path)]) == 1, path.name
