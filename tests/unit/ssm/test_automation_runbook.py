"""Reading Automation documents, `{{ }}` interpolation and output selectors: the pure parts of
SSM Automation (https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-actions.html)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chaoslab.services.ssm.automation.interpolate import InterpolationError, resolve
from chaoslab.services.ssm.automation.runbook import RunbookError, load_content, parse
from chaoslab.services.ssm.automation.selector import SelectorError, as_strings, convert, select

YAML = """
schemaVersion: '0.3'
description: restart the app
assumeRole: '{{ AutomationAssumeRole }}'
parameters:
  AutomationAssumeRole: {type: String, default: ''}
  InstanceId: {type: String}
outputs: [describe.State]
mainSteps:
  - name: describe
    action: aws:executeAwsApi
    onFailure: step:notify
    timeoutSeconds: 30
    maxAttempts: 3
    inputs: {Service: ec2, Api: DescribeInstances, InstanceIds: ['{{ InstanceId }}']}
    outputs:
      - {Name: State, Selector: '$.Reservations[0].Instances[0].State.Name', Type: String}
  - name: notify
    action: aws:sleep
    isEnd: true
    inputs: {Duration: PT1S}
"""


def test_a_yaml_runbook_reads_into_steps_with_their_failure_rules() -> None:
    book = parse(load_content(YAML, "YAML"))
    first, second = book.steps
    assert (first.name, first.action, first.on_failure, first.timeout_seconds, first.max_attempts) == (
        "describe",
        "aws:executeAwsApi",
        "step:notify",
        30.0,
        3,
    )
    assert first.outputs[0].selector == "$.Reservations[0].Instances[0].State.Name"
    assert (second.on_failure, second.max_attempts, second.is_end, second.is_critical) == ("Abort", 1, True, True)
    assert book.parameters["InstanceId"].required and not book.parameters["AutomationAssumeRole"].required
    assert book.assume_role == "{{ AutomationAssumeRole }}" and book.outputs == ("describe.State",)


def test_json_content_reads_the_same() -> None:
    data = load_content(YAML, "YAML")
    assert parse(load_content(json.dumps(data), "JSON")) == parse(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schemaVersion": "2.2"}, "schemaVersion must be 0.3"),
        ({"mainSteps": []}, "mainSteps must be a non-empty list"),
        ({"mainSteps": [{"name": "x", "action": "aws:createImage"}]}, "not one the lab runs"),
        ({"mainSteps": [{"name": "x y", "action": "aws:sleep"}]}, "letters, digits or underscores"),
        ({"mainSteps": [{"name": "x", "action": "aws:sleep", "onFailure": "Retry"}]}, "onFailure must be"),
        ({"mainSteps": [{"name": "x", "action": "aws:sleep", "onFailure": "step:y"}]}, "goes to y"),
        ({"mainSteps": [{"name": "x", "action": "aws:sleep", "maxAttempts": 0}]}, "maxAttempts must be at least 1"),
        ({"mainSteps": [{"name": "x", "action": "aws:sleep"}] * 2}, "unique"),
    ],
)
def test_what_is_not_a_runnable_runbook_is_refused_with_where(change: dict, message: str) -> None:
    data = {**load_content(YAML, "YAML"), **change}
    with pytest.raises(RunbookError, match=message):
        parse(data)


def test_content_that_does_not_parse_is_refused() -> None:
    with pytest.raises(RunbookError, match="not valid JSON"):
        load_content("{schemaVersion: 0.3", "JSON")


def test_a_whole_reference_keeps_its_type_and_an_embedded_one_becomes_text() -> None:
    variables = {"Ids": ["i-1", "i-2"], "Count": 3, "describe.State": "running"}
    assert resolve({"InstanceIds": "{{ Ids }}", "N": "{{Count}}"}, variables) == {"InstanceIds": ["i-1", "i-2"], "N": 3}
    assert resolve(["state is {{ describe.State }} x{{ Count }}"], variables) == ["state is running x3"]
    assert resolve("ids {{ Ids }}", variables) == 'ids ["i-1", "i-2"]'
    assert resolve({"Plain": 5, "Text": "no refs"}, variables) == {"Plain": 5, "Text": "no refs"}


def test_a_reference_to_nothing_fails() -> None:
    with pytest.raises(InterpolationError, match="later.Output"):
        resolve("{{ later.Output }}", {})


def test_selectors_walk_members_and_indexes_and_convert_types() -> None:
    result = {"Reservations": [{"Instances": [{"InstanceId": "i-1", "Launch": datetime(2026, 1, 1, tzinfo=UTC)}]}]}
    assert select(result, "$.Reservations[0].Instances[0].InstanceId") == "i-1"
    assert convert(select(result, "$.Reservations[0].Instances[0].Launch"), "String").startswith("2026-01-01")
    assert convert("7", "Integer") == 7 and convert("True", "Boolean") is True
    assert convert("a", "StringList") == ["a"]
    assert as_strings({"k": 1}) == ['{"k": 1}'] and as_strings(7) == ["7"]
    with pytest.raises(SelectorError, match="matches nothing"):
        select(result, "$.Reservations[1]")
    with pytest.raises(SelectorError, match="must start with"):
        select(result, "Reservations")
