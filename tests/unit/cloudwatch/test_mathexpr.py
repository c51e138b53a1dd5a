import pytest

from chaoslab.services.cloudwatch.mathexpr import MathError, evaluate, references

SERIES = {"a": {0.0: 1.0, 1.0: 2.0, 2.0: 3.0}, "b": {0.0: 4.0, 2.0: 0.0}}


def ev(expr):
    return evaluate(expr, SERIES.__getitem__, ["a", "b"])


@pytest.mark.parametrize(
    "expr,expected",
    [
        ("a + b", {0.0: 5.0, 2.0: 3.0}),  # a missing operand leaves the point out
        ("-a * 2 + 1", {0.0: -1.0, 1.0: -3.0, 2.0: -5.0}),
        ("a / b", {0.0: 0.25}),  # division by zero leaves the point out
        ("(a + 1) * (a - 1)", {0.0: 0.0, 1.0: 3.0, 2.0: 8.0}),
        ("FILL(b, 10) + a", {0.0: 5.0, 1.0: 12.0, 2.0: 3.0}),
        ("SUM([a, b])", {0.0: 5.0, 1.0: 2.0, 2.0: 3.0}),
        ("MAX(METRICS())", {0.0: 4.0, 1.0: 2.0, 2.0: 3.0}),
        ('AVG(METRICS("a"))', {0.0: 1.0, 1.0: 2.0, 2.0: 3.0}),
        ("ABS(b - a)", {0.0: 3.0, 2.0: 3.0}),
        ("1e2 * a / 100", {0.0: 1.0, 1.0: 2.0, 2.0: 3.0}),
    ],
)
def test_expressions(expr, expected):
    assert ev(expr) == expected


@pytest.mark.parametrize("bad", ["a +", "RATE(a)", "[a, b]", "2 * 3", "a $ b", "(a", "FILL(a)", "c"])
def test_errors(bad):
    with pytest.raises((MathError, KeyError)):
        ev(bad)


def test_references():
    assert references("100 * errors / FILL(requests, 0)") == {"errors", "requests"}


def test_nesting_and_overflow_are_bounded():
    """5,000 nested parentheses or 2,000 minus signs used to exhaust the recursion limit (a 500)."""
    with pytest.raises(MathError, match="nests more than"):
        ev("(" * 600 + "a" + ")" * 600)
    assert ev("-" * 2001 + "a") == {0.0: -1.0, 1.0: -2.0, 2.0: -3.0}
    assert ev("-" * 2000 + "a") == SERIES["a"]
    assert ev("a * 1e300 * 1e300") == {}  # overflowed points are left out, never Infinity
    with pytest.raises(MathError):
        ev("1e400 * a")
