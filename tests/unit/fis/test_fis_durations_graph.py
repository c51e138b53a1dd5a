"""ISO 8601 durations and the startAfter graph."""

from __future__ import annotations

import pytest

from chaoslab.services.fis.durations import DurationError, parse_duration
from chaoslab.services.fis.graph import find_cycle, ready


@pytest.mark.parametrize(
    "text,seconds",
    [
        ("PT1M", 60),
        ("PT5S", 5),
        ("PT6H", 21600),
        ("PT1H30M", 5400),
        ("P1D", 86400),
        ("PT0.5S", 0.5),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5m", "300", "PT", "P1M", "P1Y", "", "pt5m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


def test_cycle_detection() -> None:
    assert find_cycle({"a": [], "b": ["a"], "c": ["a", "b"]}) is None
    assert find_cycle({"a": ["b"], "b": ["a"]}) == ["a", "b", "a"]
    assert find_cycle({"x": [], "a": ["c"], "c": ["a"]}) == ["a", "c", "a"]
    assert find_cycle({"a": ["missing"]}) is None


def test_ready_follows_start_after_in_template_order() -> None:
    after = {"a": [], "b": ["a"], "c": [], "d": ["b", "c"]}
    assert ready(after, finished=set(), started=set()) == ["a", "c"]
    assert ready(after, finished={"a"}, started={"a", "c"}) == ["b"]
    assert ready(after, finished={"a", "b", "c"}, started={"a", "b", "c"}) == ["d"]
