"""The `successes` clause: 2xx answers per second of its phases ("payments keep being processed")."""

from chaoslab.experiment import hypothesis as h
from chaoslab.experiment.schema import validate_experiment_document

PHASES = {"baseline": (0.0, 10.0), "injection": (10.0, 20.0), "recovery": (20.0, 30.0)}


def rec(t: float, status: int | None = 201, endpoint: str = "POST /payments") -> dict:
    return {
        "t": t,
        "status": status,
        "error": None if status else "timeout",
        "latency_ms": 5.0,
        "endpoint": endpoint,
        "phase": next(n for n, (a, b) in PHASES.items() if a <= t < b),
        "probe": False,
    }


def judge(records: list[dict], **clause) -> dict:
    return h.evaluate({"type": "successes", **clause}, 0, h.Evidence(records=records, phases=PHASES))


def test_rate_counts_2xx_over_the_phase_duration() -> None:
    records = [rec(10 + i * 0.5) for i in range(20)] + [rec(10.2, 409), rec(10.3, 500), rec(10.4, None)]
    result = judge(records, min_per_s=2, phase="injection", endpoint="POST /payments")
    assert result["passed"] and result["measured"] == "2.00/s (20 in 10.0 s)"
    assert not judge(records, min_per_s=2.5, phase="injection")["passed"]
    assert result["text"] == "successes >= 2/s (POST /payments)"


def test_a_stalled_service_fails_it_although_nothing_errored() -> None:
    only_baseline = [rec(i * 0.1) for i in range(100)]
    assert not judge(only_baseline, min_per_s=1)["passed"]  # default: after the baseline
    assert judge(only_baseline, min_per_s=1, phase="baseline")["passed"]


def test_schema_requires_the_bound() -> None:
    doc = {
        "title": "t",
        "template_id": "EXT1",
        "hypothesis": {"if": "a", "then": "b", "clauses": [{"type": "successes"}]},
    }
    assert any("min_per_s" in i.message for i in validate_experiment_document(doc))
    doc["hypothesis"]["clauses"] = [{"type": "successes", "min_per_s": 3}]
    assert [i for i in validate_experiment_document(doc) if i.severity == "error"] == []
