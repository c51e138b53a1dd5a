"""Every scenario in examples/ through the real CLI in its fast variant (issue 8): its own lab
(own CHAOSLAB_HOME, API port, VPC range, listener port 0), `chaoslab run --fast --report`, and the
outcome and key journal figures asserted. Needs root (network namespaces)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from example_run import EXAMPLES, run_example

from chaoslab.validate import validate_paths

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="examples run units in network namespaces (root)")


def _clause(journal: dict, prefix: str) -> dict:
    return next(c for c in journal["clauses"] if c["id"].startswith(prefix))


def _requests(journal: dict, endpoint: str, phase: str | None = None) -> list[dict]:
    return [r for r in journal["requests"] if r["endpoint"] == endpoint and not r["probe"]
            and (phase is None or r["phase"] == phase)]


def test_every_example_file_validates() -> None:
    files = sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".json", ".yaml") and p.name != "stack.yaml")
    assert len(files) >= 12
    errors = [i.format() for i in validate_paths([str(p) for p in files]) if i.severity == "error"]
    assert errors == []


def test_seed000_io_stress_payments_keep_flowing(tmp_path: Path) -> None:
    r = run_example("seed000-pet-payment-io-stress", tmp_path, 171)
    assert r.code == 0, r.output
    assert [f["action_id"] for f in r.journal["faults"]] == ["aws:ecs:task-io-stress"]
    assert len(r.journal["faults"][0]["targets"]) == 2
    paid = [x for x in _requests(r.journal, "POST /payments", "injection") if x["status"] == 201]
    assert len(paid) >= 50  # 10 payments/s for the ~10 s the fast variant stresses


def test_seed003_stop_instance_is_refuted_as_in_the_article(tmp_path: Path) -> None:
    r = run_example("seed003-stop-instance", tmp_path, 176)
    assert r.code == 1, r.output
    w = r.journal["windows"]
    assert 0 < w["detection_window_s"] <= w["detection_bound_s"]
    assert r.journal["integrity"]["lost"] == [] and r.journal["integrity"]["duplicates"] == 0
