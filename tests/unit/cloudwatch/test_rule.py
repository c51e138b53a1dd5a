import pytest

from chaoslab.services.cloudwatch.rule import (
    BoolOp,
    Const,
    Not,
    RuleError,
    StateIs,
    children,
    evaluate_rule,
    parse_rule,
)

ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:db-cpu"


def test_precedence_and_binds_tighter_than_or():
    node = parse_rule("ALARM(a) OR ALARM(b) AND OK(c)")
    assert node == BoolOp("OR", (StateIs("ALARM", "a"), BoolOp("AND", (StateIs("ALARM", "b"), StateIs("OK", "c")))))


def test_quotes_arns_not_and_constants():
    node = parse_rule(f'NOT (ALARM("my alarm") OR INSUFFICIENT_DATA({ARN})) AND TRUE')
    assert node == BoolOp(
        "AND",
        (
            Not(BoolOp("OR", (StateIs("ALARM", "my alarm"), StateIs("INSUFFICIENT_DATA", ARN)))),
            Const(True),
        ),
    )
    assert children(node) == ["my alarm", ARN]


@pytest.mark.parametrize(
    "rule,states,expected",
    [
        ("ALARM(a) OR ALARM(b)", {"a": "OK", "b": "ALARM"}, True),
        ("ALARM(a) AND ALARM(b)", {"a": "OK", "b": "ALARM"}, False),
        ("NOT OK(a)", {"a": "INSUFFICIENT_DATA"}, True),
        ("(ALARM(a) OR OK(b)) AND NOT ALARM(c)", {"a": "OK", "b": "OK", "c": "OK"}, True),
        ("FALSE OR INSUFFICIENT_DATA(a)", {"a": "INSUFFICIENT_DATA"}, True),
        ("TRUE AND FALSE", {}, False),
    ],
)
def test_evaluation(rule, states, expected):
    assert evaluate_rule(parse_rule(rule), states.__getitem__) is expected


@pytest.mark.parametrize("bad", ["", "ALARM(a", "ALARM()", "ALARM(a) AND", "FOO(a)", "ALARM(a) OK(b)", ")", "ALARM a"])
def test_unparseable_rules_raise(bad):
    with pytest.raises(RuleError):
        parse_rule(bad)
