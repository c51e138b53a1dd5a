"""The `scale_out` clause: the first scaling activity that adds capacity, timed from the start of
the injection, and the capacity the run added ("does it scale out before users notice?")."""

from chaoslab.experiment import hypothesis as h
from chaoslab.experiment.schema import validate_experiment_document

PHASES = {"baseline": (0.0, 100.0), "injection": (100.0, 400.0), "recovery": (400.0, 500.0)}
WEB = "service/shop/web"


def judge(scaling: list[tuple[float, str, int, int]], **clause) -> dict:
    return h.evaluate({"type": "scale_out", **clause}, 0, h.Evidence(phases=PHASES, scaling=scaling))


def test_times_the_first_scale_out_and_counts_what_the_run_added() -> None:
    scaling = [(40.0, WEB, 1, 2), (280.0, WEB, 2, 4), (340.0, WEB, 4, 5), (450.0, WEB, 5, 3)]
    result = judge(scaling[1:], within_s=200, min_added=3)
    assert result["passed"] and result["measured"] == "first after 180.0 s, +3 (2 → 5)"
    assert result["text"] == "scale-out by >= 3 within 200 s"
    assert not judge(scaling[1:], within_s=179)["passed"]
    assert not judge(scaling[1:], within_s=200, min_added=4)["passed"]


def test_a_baseline_scale_out_or_a_scale_in_is_not_one() -> None:
    assert judge([(40.0, WEB, 1, 2), (300.0, WEB, 2, 1)], within_s=600)["measured"] == "no scale-out"


def test_resource_picks_one_service() -> None:
    other = [(150.0, "service/shop/other", 1, 3)]
    assert not judge(other, within_s=100, resource=WEB)["passed"]
    assert judge(other, within_s=100)["passed"]


def test_schema_requires_the_time_bound() -> None:
    doc = {
        "title": "t",
        "template_id": "EXT1",
        "hypothesis": {"if": "a", "then": "b", "clauses": [{"type": "scale_out"}]},
    }
    assert any("within_s" in i.message for i in validate_experiment_document(doc))
    doc["hypothesis"]["clauses"] = [{"type": "scale_out", "within_s": 180, "min_added": 1}]
    assert [i for i in validate_experiment_document(doc) if i.severity == "error"] == []
