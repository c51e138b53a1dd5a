"""Model constraints checked at the wire layer, worded and coded as each service answers them,
and the Java `pattern`s of every implemented operation usable from Python and fast."""

from __future__ import annotations

import importlib
import time

import pytest

from chaoslab.aws import limits, models, patterns, validation
from chaoslab.errors import AwsError

SERVICES = ("ec2", "autoscaling", "ecs", "elbv2", "cloudwatch", "logs", "rds", "iam", "sts", "ssm", "fis")


def _check(service: str, operation: str, params: dict) -> AwsError:
    svc = models.service(service)
    with pytest.raises(AwsError) as err:
        validation.check(svc, svc.operation(operation).input_shape, params)
    return err.value


def _ok(service: str, operation: str, params: dict) -> None:
    svc = models.service(service)
    validation.check(svc, svc.operation(operation).input_shape, params)


def test_lengths_ranges_enums_and_patterns_in_aws_words() -> None:
    err = _check("logs", "CreateLogGroup", {"logGroupName": "a b" * 300})
    assert err.code == "InvalidParameterException" and err.status == 400
    assert err.message.startswith("2 validation errors detected: Value 'a ba b")
    assert (
        "at 'logGroupName' failed to satisfy constraint: Member must have length less than or equal to 512"
        in err.message
    )
    err = _check("elbv2", "CreateListener", {"LoadBalancerArn": "arn", "Port": 70000, "Protocol": "HTTPS"})
    assert err.code == "ValidationError"
    assert (
        "Value '70000' at 'port' failed to satisfy constraint: Member must have value less than or equal to 65535"
        in err.message
    )
    err = _check("ecs", "ListTasks", {"desiredStatus": "BOGUS"})
    assert err.code == "InvalidParameterException"
    assert "Member must satisfy enum value set: [RUNNING, PENDING, STOPPED]" in err.message
    err = _check("iam", "CreateRole", {"RoleName": "bad name!", "AssumeRolePolicyDocument": "{}"})
    assert (
        "at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        in err.message
    )


def test_list_items_and_nested_members_are_named_as_aws_names_them() -> None:
    err = _check("elbv2", "RegisterTargets", {"TargetGroupArn": "a", "Targets": [{"Id": "i-1", "Port": 0}]})
    assert "at 'targets.1.member.port'" in err.message and "greater than or equal to 1" in err.message


@pytest.mark.parametrize(
    "service, code",
    [
        ("ec2", "InvalidParameterValue"),
        ("autoscaling", "ValidationError"),
        ("cloudwatch", "InvalidParameterValue"),
        ("fis", "ValidationException"),
        ("ssm", "ValidationException"),
        ("sts", "ValidationError"),
    ],
)
def test_each_service_answers_with_its_own_code(service: str, code: str) -> None:
    err = validation.constraint_error(models.service(service), ["x"])
    assert (err.code, err.status, err.message) == (code, 400, "1 validation error detected: x")


def test_control_characters_are_refused_where_the_answer_is_xml() -> None:
    err = _check("ec2", "CreateTags", {"Resources": ["vpc-1"], "Tags": [{"Key": "k", "Value": "a\x1bb"}]})
    assert err.code == "InvalidParameterValue" and "control characters" in err.message
    assert "\x1b" not in err.message
    _ok("ecs", "CreateCluster", {"clusterName": "a\x1bb"})  # JSON carries it escaped; ECS's own rules apply


def test_lists_without_a_modeled_maximum_are_capped() -> None:
    err = _check("ec2", "DescribeInstances", {"InstanceIds": ["i-1"] * (limits.MAX_ITEMS + 1)})
    assert f"Member must have length less than or equal to {limits.MAX_ITEMS}" in err.message
    _ok("ec2", "DescribeInstances", {"InstanceIds": ["i-1"] * limits.MAX_ITEMS})


def test_sensitive_values_are_not_echoed_and_echoes_are_short() -> None:
    secret = {"name": "PASSWORD", "value": "hunter2"}
    err = _check(
        "ecs",
        "RegisterTaskDefinition",
        {"family": "f", "containerDefinitions": [{"name": "c", "environment": [secret] * (limits.MAX_ITEMS + 1)}]},
    )
    assert "hunter2" not in err.message and "Value at 'containerDefinitions.1.member.environment'" in err.message
    err = _check("logs", "CreateLogGroup", {"logGroupName": "x" * 100_000})
    assert len(err.message) < 1000


def test_the_error_count_is_bounded() -> None:
    err = _check("ec2", "DescribeInstances", {"Filters": [{"Name": "n\x00"}] * 100})
    assert err.message.startswith(f"{limits.MAX_ERRORS} validation errors detected")


def test_local_extensions_relax_only_what_they_name() -> None:
    _ok("elbv2", "CreateTargetGroup", {"Name": "tg", "HealthCheckIntervalSeconds": 1, "HealthCheckTimeoutSeconds": 1})
    err = _check("elbv2", "CreateTargetGroup", {"Name": "tg", "HealthyThresholdCount": 1})
    assert "at 'healthyThresholdCount'" in err.message


def test_java_patterns_translate() -> None:
    tag = "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$"
    assert patterns.matches(tag, "Équipe 1 : prod/eu=+@_") and not patterns.matches(tag, "a\x1bb")
    wide = "[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\r\\n\\t]*"
    assert patterns.matches(wide, "emoji 🙂 ok") and not patterns.matches(wide, "bell\x07")
    assert not patterns.matches("[\\w+=,.@-]+", "é")  # Java's \w is ASCII


def _input_patterns() -> dict[str, int]:
    """Every pattern on an input member of an implemented operation -> its max length."""
    found: dict[str, int] = {}

    def walk(shape, seen: frozenset) -> None:
        if shape.name in seen:
            return
        seen = seen | {shape.name}
        if "pattern" in shape.metadata:
            found[shape.metadata["pattern"]] = int(shape.metadata.get("max", 2048))
        children = {
            "structure": lambda: shape.members.values(),
            "list": lambda: [shape.member],
            "map": lambda: [shape.key, shape.value],
        }.get(shape.type_name, lambda: [])()
        for child in children:
            walk(child, seen)

    for service in SERVICES:
        svc = models.service(service)
        for op in importlib.import_module(f"chaoslab.services.{service}.api").OPERATIONS:
            if svc.operation(op).input_shape is not None:
                walk(svc.operation(op).input_shape, frozenset())
    return found


def test_every_model_pattern_compiles_and_is_linear() -> None:
    """A pattern with nested ambiguous repetition takes exponential time on a near miss (a 30-letter
    RDS identifier took 11 s); every pattern must answer adversarial input of its maximum length fast."""
    slow = []
    for pattern, longest in _input_patterns().items():
        assert patterns.compile_java(pattern) is not None, f"{pattern} does not compile"
        for base in ("a", "a0", "a-", "0", "/a", " ", "-a", "aA", "i-", "a."):
            for size in (20, 30, 64, min(longest, 2048)):
                text = (base * size)[:size]
                for tail in ("!", "\x00", "", "-", "/"):
                    start = time.perf_counter()
                    patterns.matches(pattern, text + tail)
                    if time.perf_counter() - start > 0.05:
                        slow.append((pattern, text + tail))
    assert not slow, slow[:5]
