"""The ALB target health state machine and matcher, driven by synthetic probe results."""

from __future__ import annotations

import pytest

from chaoslab.net.healthcheck import (
    PASS,
    ProbeResult,
    TargetHealthState,
    classify,
    matches,
    parse_matcher,
)

FAIL_503 = classify(503, parse_matcher("200"))
TIMEOUT = ProbeResult(False, "Target.Timeout", "Request timed out")


def feed(
    state: TargetHealthState, results: list[ProbeResult], healthy: int = 5, unhealthy: int = 2
) -> list[tuple[str, str] | None]:
    return [state.observe(r, healthy, unhealthy) for r in results]


def test_initial_becomes_healthy_after_one_pass() -> None:
    state = TargetHealthState()
    assert (state.state, state.reason) == ("initial", "Elb.RegistrationInProgress")
    state.start_checking()
    assert state.reason == "Elb.InitialHealthChecking"
    assert feed(state, [PASS]) == [("initial", "healthy")]
    assert (state.state, state.reason, state.description) == ("healthy", None, None)


def test_unhealthy_after_threshold_consecutive_failures() -> None:
    state = TargetHealthState()
    feed(state, [PASS])
    assert feed(state, [FAIL_503, PASS, FAIL_503, FAIL_503], unhealthy=2) == [
        None,
        None,
        None,
        ("healthy", "unhealthy"),
    ]
    assert state.reason == "Target.ResponseCodeMismatch"
    assert state.description == "Health checks failed with these codes: [503]"


def test_healthy_again_needs_healthy_threshold_passes() -> None:
    state = TargetHealthState()
    feed(state, [PASS, TIMEOUT, TIMEOUT, TIMEOUT])
    assert (state.state, state.reason) == ("unhealthy", "Target.Timeout")
    assert feed(state, [PASS, PASS, FAIL_503, PASS, PASS], healthy=3) == [None, None, None, None, None]
    assert feed(state, [PASS], healthy=3) == [("unhealthy", "healthy")]


def test_initial_target_that_never_passes_goes_unhealthy() -> None:
    state = TargetHealthState()
    assert feed(state, [TIMEOUT, TIMEOUT, TIMEOUT], unhealthy=3) == [None, None, ("initial", "unhealthy")]


def test_draining_ignores_probe_results() -> None:
    state = TargetHealthState()
    feed(state, [PASS])
    assert state.set("draining", "Target.DeregistrationInProgress") == ("healthy", "draining")
    assert state.description == "Target deregistration is in progress"
    assert feed(state, [FAIL_503, FAIL_503, FAIL_503]) == [None, None, None]
    assert state.state == "draining"


def test_unhealthy_reason_follows_latest_failure() -> None:
    state = TargetHealthState()
    feed(state, [PASS, FAIL_503, FAIL_503, TIMEOUT])
    assert (state.state, state.reason) == ("unhealthy", "Target.Timeout")


@pytest.mark.parametrize(
    ("spec", "status", "expected"),
    [
        ("200", 200, True),
        ("200", 201, False),
        ("200,202", 202, True),
        ("200,202", 201, False),
        ("200-299", 250, True),
        ("200-299", 300, False),
        ("200, 301-302", 302, True),
    ],
)
def test_matcher(spec: str, status: int, expected: bool) -> None:
    assert matches(parse_matcher(spec), status) is expected


@pytest.mark.parametrize("spec", ["", "abc", "100", "200-600", "299-200"])
def test_matcher_rejects_what_alb_rejects(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_matcher(spec)


def test_classify_without_response_is_failed_health_checks() -> None:
    assert classify(None, parse_matcher("200")) == ProbeResult(
        False, "Target.FailedHealthChecks", "Health checks failed"
    )
    assert classify(204, parse_matcher("200-299")) == PASS
