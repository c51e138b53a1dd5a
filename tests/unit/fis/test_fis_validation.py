"""Template validation: every rule, the seed 002 templates as printed, and the corrected examples."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from chaoslab.services.fis.validation import check_alarm_arn, to_aws_error, validate_template
from chaoslab.validate import validate_paths

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).parents[3] / "examples" / "templates"

ALARM = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:HighErrors"
BASE = {
    "description": "stop one instance",
    "roleArn": "arn:aws:iam::123456789012:role/fis",
    "targets": {
        "Nodes": {
            "resourceType": "aws:ec2:instance",
            "selectionMode": "COUNT(1)",
            "resourceTags": {"Project": "chaos-lab"},
        }
    },
    "actions": {"Stop": {"actionId": "aws:ec2:stop-instances", "targets": {"Instances": "Nodes"}}},
    "stopConditions": [{"source": "aws:cloudwatch:alarm", "value": ALARM}],
}


def errors(template: dict) -> dict[str, str]:
    return {i.path: i.message for i in validate_template(template) if i.severity == "error"}


def mutate(path: str, value: object) -> dict:
    """BASE with one dotted path set (value None deletes it)."""
    t = copy.deepcopy(BASE)
    parts = path.split(".")
    node = t
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if value is None:
        del node[parts[-1]]
    elif isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value
    return t


def test_base_template_is_clean() -> None:
    assert validate_template(BASE) == []


@pytest.mark.parametrize(
    "path,value,where,fragment",
    [
        ("description", None, "description", "required"),
        ("description", "x" * 513, "description", "limit is 512"),
        ("roleArn", None, "roleArn", "required"),
        ("roleArn", "arn:aws:iam::123:role/fis-role-x", "roleArn", "not an IAM role ARN"),
        ("actions", None, "actions", "required"),
        ("actions", {}, "actions", "no actions"),
        ("stopConditions", None, "stopConditions", "required"),
        ("bogus", 1, "bogus", 'unknown field "bogus"'),
        ("targets.Nodes.selectionMode", "SOME(2)", "targets.Nodes.selectionMode", "not a selection mode"),
        ("targets.Nodes.selectionMode", "PERCENT(150)", "targets.Nodes.selectionMode", "1..100"),
        ("targets.Nodes.selectionMode", "COUNT(0)", "targets.Nodes.selectionMode", "n >= 1"),
        ("targets.Nodes.selectionMode", None, "targets.Nodes.selectionMode", "required"),
        ("targets.Nodes.resourceType", "aws:ec2:instanse", "targets.Nodes.resourceType", "unknown resource type"),
        (
            "targets.Nodes.resourceArns",
            ["arn:aws:ec2:us-east-1:123456789012:instance/i-1"],
            "targets.Nodes.resourceTags",
            "cannot be combined with resourceArns",
        ),
        ("targets.Nodes.resourceTags", {f"k{i}": "v" for i in range(51)}, "targets.Nodes.resourceTags", "at most 50"),
        ("targets.Nodes.resourceTags", {"Project": 7}, "targets.Nodes.resourceTags.Project", "must be a string"),
        (
            "targets.Nodes.parameters",
            {"cluster": "x"},
            "targets.Nodes.parameters.cluster",
            "not a parameter of aws:ec2:instance",
        ),
        ("targets.Nodes.filters", [{"path": "State.Name"}], "targets.Nodes.filters[0].values", "non-empty list"),
        ("actions.Stop.actionId", None, "actions.Stop.actionId", "required"),
        (
            "actions.Stop.actionId",
            "aws:ec2:stop-instance",
            "actions.Stop.actionId",
            "Action with ID aws:ec2:stop-instance not found.",
        ),
        (
            "actions.Stop.parameters",
            {"duration": "PT5M"},
            "actions.Stop.parameters.duration",
            '"duration" is not a parameter of aws:ec2:stop-instances',
        ),
        (
            "actions.Stop.parameters",
            {"startInstancesAfterDuration": "PT5S"},
            "actions.Stop.parameters.startInstancesAfterDuration",
            "outside PT1M..PT12H",
        ),
        (
            "actions.Stop.parameters",
            {"startInstancesAfterDuration": "5 minutes"},
            "actions.Stop.parameters.startInstancesAfterDuration",
            "not an ISO 8601 duration",
        ),
        (
            "actions.Stop.parameters",
            {"completeIfInstancesTerminated": True},
            "actions.Stop.parameters.completeIfInstancesTerminated",
            "must be a string",
        ),
        (
            "actions.Stop.targets",
            {"Clusters": "Nodes"},
            "actions.Stop.targets.Clusters",
            'Unexpected target "Clusters" found in action',
        ),
        ("actions.Stop.targets", {"Instances": "Nodez"}, "actions.Stop.targets.Instances", "not defined in targets"),
        ("actions.Stop.targets", {}, "actions.Stop.targets.Instances", "needs a Instances target"),
        ("actions.Stop.startAfter", ["Nope"], "actions.Stop.startAfter[0]", 'action "Nope" is not defined'),
        ("actions.Stop.startAfter", ["Stop"], "actions.Stop.startAfter[0]", "cannot start after itself"),
        (
            "stopConditions.0.source",
            "aws:cloudwatch:get-metric-alarm",
            "stopConditions[0].source",
            "not a stop condition source",
        ),
        ("stopConditions.0.value", None, "stopConditions[0].value", "is required"),
        ("stopConditions.0", {"source": "none", "value": ALARM}, "stopConditions[0].value", "takes no value"),
        (
            "stopConditions.0.value",
            "arn:aws:cloudwatch:us-east-1:1234:alarm:x",
            "stopConditions[0].value",
            'account part "1234" is not 12 digits',
        ),
        ("stopConditions", [{"source": "none"}] * 6, "stopConditions", "at most 5"),
        ("tags", {f"k{i}": "v" for i in range(51)}, "tags", "at most 50"),
        ("logConfiguration", {"logSchemaVersion": 2}, "logConfiguration", "names no destination"),
        (
            "logConfiguration",
            {
                "logSchemaVersion": 3,
                "cloudWatchLogsConfiguration": {"logGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:fis"},
            },
            "logConfiguration.logSchemaVersion",
            "not a log schema version",
        ),
        (
            "logConfiguration",
            {"logSchemaVersion": 2, "cloudWatchLogsConfiguration": {"logGroupArn": "my-log-group-name-for-fis"}},
            "logConfiguration.cloudWatchLogsConfiguration.logGroupArn",
            "not a log group ARN",
        ),
        (
            "experimentOptions",
            {"emptyTargetResolutionMode": "ignore"},
            "experimentOptions.emptyTargetResolutionMode",
            "not one of fail, skip",
        ),
        ("experimentOptions", {"accountTargeting": "all"}, "experimentOptions.accountTargeting", "not one of"),
        ("experimentOptions", {"actionsMode": "skip-all"}, "experimentOptions.actionsMode", "StartExperiment"),
    ],
)
def test_rule(path: str, value: object, where: str, fragment: str) -> None:
    found = errors(mutate(path, value))
    assert where in found, found
    assert fragment in found[where]


def test_too_many_actions_is_a_quota_error() -> None:
    t = copy.deepcopy(BASE)
    t["actions"] = {f"W{i}": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}} for i in range(21)}
    t["actions"]["Stop"] = BASE["actions"]["Stop"]
    err = to_aws_error(validate_template(t))
    assert err is not None and err.code == "ServiceQuotaExceededException" and err.status == 402


def test_six_arns_is_rejected() -> None:
    arns = [f"arn:aws:ec2:us-east-1:123456789012:instance/i-{n}" for n in range(6)]
    t = mutate("targets.Nodes", {"resourceType": "aws:ec2:instance", "selectionMode": "ALL", "resourceArns": arns})
    assert "at most 5" in errors(t)["targets.Nodes.resourceArns"]


def test_missing_required_action_parameter() -> None:
    t = mutate("actions.Stop", {"actionId": "aws:fis:wait"})
    t.pop("targets")
    assert errors(t) == {"actions.Stop.parameters.duration": "is required by aws:fis:wait"}


def test_wrong_resource_type_for_action_target() -> None:
    t = mutate("targets.Nodes.resourceType", "aws:ecs:task")
    assert "needs aws:ec2:instance" in errors(t)["actions.Stop.targets.Instances"]


def test_start_after_cycle_is_named() -> None:
    t = copy.deepcopy(BASE)
    t["actions"] = {
        "A": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}, "startAfter": ["C"]},
        "B": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}, "startAfter": ["A"]},
        "C": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}, "startAfter": ["B"]},
        "Stop": BASE["actions"]["Stop"],
    }
    cycle = [m for p, m in errors(t).items() if "cycle" in m]
    assert cycle == ["startAfter forms a cycle: A -> C -> B -> A"]


def test_unknown_action_answers_resource_not_found() -> None:
    err = to_aws_error(validate_template(mutate("actions.Stop.actionId", "aws:ssm:start-automation")))
    assert err is not None
    assert (err.code, err.status) == ("ResourceNotFoundException", 404)
    assert err.message == "Action with ID aws:ssm:start-automation not found."


def test_lab_only_fargate_spot_action_validates() -> None:
    t = copy.deepcopy(BASE)
    t["targets"] = {"Spot": {"resourceType": "aws:ecs:task", "selectionMode": "ALL", "parameters": {"cluster": "shop"}}}
    t["actions"] = {
        "Interrupt": {
            "actionId": "chaoslab:ecs:fargate-spot-interruption",
            "targets": {"Tasks": "Spot"},
            "parameters": {"durationBeforeInterruption": "PT2M"},
        }
    }
    assert errors(t) == {}
    t["actions"]["Interrupt"]["parameters"]["durationBeforeInterruption"] = "PT20M"
    assert "actions.Interrupt.parameters.durationBeforeInterruption" in errors(t)
    t["actions"]["Interrupt"]["parameters"]["durationBeforeInterruption"] = "PT2M"
    t["targets"]["Spot"]["resourceType"] = "aws:ec2:instance"
    assert "needs aws:ecs:task" in errors(t)["actions.Interrupt.targets.Tasks"]


def test_unused_target_is_only_a_warning() -> None:
    t = mutate(
        "targets.Spare", {"resourceType": "aws:ecs:task", "selectionMode": "ALL", "parameters": {"cluster": "shop"}}
    )
    issues = validate_template(t)
    assert [(i.path, i.severity) for i in issues] == [("targets.Spare", "warning")]
    assert to_aws_error(issues) is None


def test_ecs_task_parameters_and_assert_alarm_state() -> None:
    t = copy.deepcopy(BASE)
    t["targets"] = {
        "Tasks": {
            "resourceType": "aws:ecs:task",
            "selectionMode": "PERCENT(50)",
            "parameters": {"cluster": "shop", "service": "web"},
        }
    }
    t["actions"] = {
        "Kill": {"actionId": "aws:ecs:stop-task", "targets": {"Tasks": "Tasks"}},
        "Check": {
            "actionId": "aws:cloudwatch:assert-alarm-state",
            "startAfter": ["Kill"],
            "parameters": {"alarmArns": ALARM, "alarmStates": "OK,INSUFFICIENT_DATA"},
        },
    }
    assert validate_template(t) == []
    t["actions"]["Check"]["parameters"]["alarmStates"] = "OK, ALARM"
    assert "without spaces" in errors(t)["actions.Check.parameters.alarmStates"]


@pytest.mark.parametrize(
    "arn,fragment",
    [
        (ALARM, None),
        ("arn:aws:ēµē¹-name:us-east-1:112233445566:alarm:X", 'service part "ēµē¹-name" contains non-ASCII'),
        ("arn:aws:cloudwatch:us-east-1:112233445566:alarm", "7"),
        ("arn:aws:cloudwatch:useast:112233445566:alarm:X", 'region part "useast"'),
        ("arn:aws:cloudwatch:us-east-1:112233445566:metric:X", 'resource type part is "metric"'),
    ],
)
def test_alarm_arn_shapes(arn: str, fragment: str | None) -> None:
    problem = check_alarm_arn(arn)
    if fragment is None:
        assert problem is None
    else:
        assert problem is not None and fragment in problem[0]


def test_seed002_compute_template_reports_every_mistake() -> None:
    issues = validate_paths([DATA / "seed002_compute.json"])
    by_path = {i.path: i for i in issues}
    assert set(by_path) == {
        "actions.SimulateNodeLoss.parameters.duration",
        "stopConditions[0].source",
        "stopConditions[0].value",
    }
    assert "startInstancesAfterDuration" in by_path["actions.SimulateNodeLoss.parameters.duration"].hint
    assert "aws:cloudwatch:alarm" in by_path["stopConditions[0].source"].hint
    value = by_path["stopConditions[0].value"]
    assert "service part" in value.message and "non-ASCII" in value.message
    assert value.hint == "use arn:aws:cloudwatch:us-east-1:112233445566:alarm:AutomatedAppResilienceStopCondition"
    line = value.format()
    assert line.startswith(f"{DATA / 'seed002_compute.json'}:35:7: error: stopConditions[0].value: ")
    assert "(hint: use arn" in line


def test_seed002_db_failover_template_reports_every_mistake() -> None:
    issues = validate_paths([DATA / "seed002_db_failover.json"])
    by_path = {i.path: i for i in issues}
    assert set(by_path) == {"actions.TriggerClusterFailover.targets.DbClusters", "stopConditions[0].source"}
    wrong_key = by_path["actions.TriggerClusterFailover.targets.DbClusters"]
    assert wrong_key.message == 'Unexpected target "DbClusters" found in action'
    assert "expects Clusters" in wrong_key.hint


@pytest.mark.parametrize(
    "name", ["seed002-compute-stop-instances.json", "seed002-db-failover.json", "seed003-stop-instance.json"]
)
def test_example_templates_pass(name: str) -> None:
    assert validate_paths([EXAMPLES / name]) == []


def test_file_shapes_yaml_get_answer_and_experiment_hook(tmp_path: Path) -> None:
    template = json.loads((EXAMPLES / "seed003-stop-instance.json").read_text())
    (tmp_path / "t.yaml").write_text(yaml.safe_dump({"clientToken": "abc", **template}))
    got = {"experimentTemplate": {**template, "id": "EXTabc", "creationTime": 1.0}}
    (tmp_path / "get.json").write_text(json.dumps(got))
    bad = {"template": {**template, "stopConditions": [{"source": "alarm"}]}}
    (tmp_path / "exp.yaml").write_text(json.dumps(bad))
    (tmp_path / "broken.json").write_text("{")
    issues = validate_paths([tmp_path / n for n in ("t.yaml", "get.json", "exp.yaml", "broken.json")])
    found = [(Path(i.file).name, i.path) for i in issues]
    assert ("exp.yaml", "template.stopConditions[0].source") in found
    assert ("exp.yaml", "template.stopConditions[0].value") in found
    assert {f for f, _ in found} == {"exp.yaml", "broken.json"}  # the experiment schema adds its own issues


def test_bundled_experiment_files_pass() -> None:
    bundled = sorted((Path(__file__).parents[3] / "src" / "chaoslab" / "experiments").glob("*.yaml"))
    assert bundled and validate_paths(bundled) == []
