"""Every row of AWS's worked "data is missing" tables, as docs/cloudwatch.md lists them."""

import pytest

from chaoslab.services.cloudwatch.alarms import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    assess,
    evaluate,
    evaluation_range,
    reason_text,
)

RETAIN = "retain"
COLUMNS = ("missing", "ignore", "breaching", "notBreaching")
# (row, N, M, expected per column MISSING / IGNORE / BREACHING / NOT_BREACHING)
TABLE = [
    ("0 - X - X", 3, 3, (OK, OK, OK, OK)),
    ("0 - - - -", 3, 3, (OK, OK, OK, OK)),
    ("- - - - -", 3, 3, (INSUFFICIENT_DATA, RETAIN, ALARM, OK)),
    ("0 X X - X", 3, 3, (ALARM, ALARM, ALARM, ALARM)),
    ("- - X - -", 3, 3, (ALARM, RETAIN, ALARM, OK)),
    ("0 - X - -", 3, 2, (OK, OK, ALARM, OK)),
    ("- - - X -", 3, 2, (ALARM, RETAIN, ALARM, OK)),
]


def points(row: str) -> list[float | None]:
    """`0` is a point below the threshold (10), `X` above it, `-` missing."""
    return [{"0": 1.0, "X": 20.0, "-": None}[c] for c in row.split()]


@pytest.mark.parametrize("row,n,m,expected", TABLE)
@pytest.mark.parametrize("column", range(4))
@pytest.mark.parametrize("current", [OK, ALARM, INSUFFICIENT_DATA])
def test_reference_table(row, n, m, expected, column, current):
    want = expected[column]
    if want == RETAIN:
        want = current
    got = evaluate(points(row), n, m, COLUMNS[column], current, 10.0, "GreaterThanThreshold")
    assert got == want


def test_range_is_larger_than_n():
    assert evaluation_range(3) == 5
    assert evaluation_range(1) == 3
    assert evaluation_range(9) == 12


@pytest.mark.parametrize(
    "op,value,breach",
    [
        ("GreaterThanThreshold", 5.0, False),
        ("GreaterThanThreshold", 5.1, True),
        ("GreaterThanOrEqualToThreshold", 5.0, True),
        ("GreaterThanOrEqualToThreshold", 4.9, False),
        ("LessThanThreshold", 5.0, False),
        ("LessThanThreshold", 4.9, True),
        ("LessThanOrEqualToThreshold", 5.0, True),
        ("LessThanOrEqualToThreshold", 5.1, False),
    ],
)
def test_comparison_operators(op, value, breach):
    assert evaluate([value], 1, 1, "missing", OK, 5.0, op) == (ALARM if breach else OK)


def test_m_out_of_n_need_not_be_consecutive():
    assert evaluate([None, None, 9.0, 1.0, 9.0], 3, 2, "missing", OK, 5.0, "GreaterThanThreshold") == ALARM
    assert evaluate([None, None, 9.0, 1.0, 1.0], 3, 2, "missing", OK, 5.0, "GreaterThanThreshold") == OK


def test_single_datapoint_reason_matches_aws_wording():
    ts = 1795306200.0  # 2026-11-22 00:10:00 UTC
    dps = [None, None, 21.5]
    out = assess(dps, 1, 1, "missing", OK, 21.0, "GreaterThanThreshold")
    text = reason_text(out, dps, [ts - 120, ts - 60, ts], 1, 1, "missing", 21.0, "GreaterThanThreshold", OK)
    assert text == "Threshold Crossed: 1 datapoint [21.5 (22/11/26 00:10:00)] was greater than the threshold (21.0)."


def test_all_missing_breaching_reason():
    dps = [None, None, None, None]
    out = assess(dps, 2, 2, "breaching", OK, 1.0, "GreaterThanThreshold")
    text = reason_text(out, dps, [0, 60, 120, 180], 2, 2, "breaching", 1.0, "GreaterThanThreshold", OK)
    assert out.state == ALARM
    assert text == (
        "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints "
        "were treated as [Breaching]."
    )


def test_multi_datapoint_reason_lists_breaching_points_newest_first():
    dps = [None, None, 6.0, 1.0, 7.0]
    ts = [1795306200.0 + 60 * i for i in range(5)]
    out = assess(dps, 3, 2, "missing", OK, 5.0, "GreaterThanOrEqualToThreshold")
    text = reason_text(out, dps, ts, 3, 2, "missing", 5.0, "GreaterThanOrEqualToThreshold", OK)
    assert out.state == ALARM
    assert text == (
        "Threshold Crossed: 2 out of the last 3 datapoints [7.0 (22/11/26 00:14:00), "
        "6.0 (22/11/26 00:12:00)] were greater than or equal to the threshold (5.0) "
        "(minimum 2 datapoints for OK -> ALARM transition)."
    )
