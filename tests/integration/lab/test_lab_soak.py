"""Soak: experiments in a loop against a lab under steady traffic, and the lab's own footprint —
memory, descriptors, threads, processes — stays flat. 30 minutes by default (marked slow, so
`make test` skips it); CHAOSLAB_SOAK_SECONDS shortens it for a quick look."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import psutil
import pytest
from lab_helpers import RunningLab, free_port, lab_stack

from chaoslab.config import LabConfig
from chaoslab.labctl import start_detached
from realistic import needs_realistic_mode

pytestmark = [pytest.mark.slow, needs_realistic_mode, pytest.mark.timeout(0)]
SOAK_SECONDS = float(os.environ.get("CHAOSLAB_SOAK_SECONDS", "1800"))
TEMPLATE = Path(__file__).parents[3] / "examples" / "templates" / "seed003-stop-instance.json"
# After warm-up (the first fifth), how far each figure may rise over the rest of the run.
MAX_RSS_GROWTH_MB = 40
MAX_FD_GROWTH = 10
MAX_THREAD_GROWTH = 4
MAX_PROCESS_GROWTH = 6


def _footprint(pid: int) -> dict[str, float]:
    lab = psutil.Process(pid)
    return {
        "rss_mb": lab.memory_info().rss / 2**20,
        "fds": lab.num_fds(),
        "threads": lab.num_threads(),
        "processes": len(lab.children(recursive=True)),
    }


def _traffic(url: str, stop: threading.Event, counts: dict[str, int]) -> None:
    while not stop.is_set():
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                resp.read()
            counts["ok"] += 1
        except OSError:
            counts["failed"] += 1
        time.sleep(0.05)


def _run_experiment(fis: Any, template_id: str) -> str:
    exp_id = fis.start_experiment(experimentTemplateId=template_id)["experiment"]["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = fis.get_experiment(id=exp_id)["experiment"]["state"]["status"]
        if status in ("completed", "stopped", "failed"):
            return status
        time.sleep(0.2)
    return "timeout"


def test_footprint_stays_flat_over_experiments_in_a_loop(tmp_path: Path) -> None:
    config = LabConfig(home=tmp_path / "home", api_port=free_port())
    info = start_detached(config, str(lab_stack(tmp_path, 98)), fast=True, quiet=True)
    lab = RunningLab(config, info)
    try:
        fis = boto3.client(
            "fis",
            endpoint_url=info["api"],
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        body = json.loads(TEMPLATE.read_text())
        template_id = fis.create_experiment_template(**body)["experimentTemplate"]["id"]
        stop, counts = threading.Event(), {"ok": 0, "failed": 0}
        traffic = threading.Thread(target=_traffic, args=(lab.alb + "/health", stop, counts), daemon=True)
        traffic.start()
        samples, outcomes = [], []
        started = time.monotonic()
        while time.monotonic() - started < SOAK_SECONDS:
            outcomes.append(_run_experiment(fis, template_id))
            time.sleep(5)  # the group replaces the stopped instance
            samples.append(_footprint(info["pid"]))
        stop.set()
        traffic.join(10)
    finally:
        lab.stop()
    assert len(samples) >= 5, "the soak ran too few experiments to judge"
    assert set(outcomes) == {"completed"}, outcomes
    assert counts["ok"] > 0
    settled = samples[len(samples) // 5 :]
    growth = {key: max(s[key] for s in settled) - settled[0][key] for key in settled[0]}
    print(
        f"\nsoak: {len(outcomes)} experiments in {SOAK_SECONDS:.0f} s, {counts} requests; "
        f"first {samples[0]}, last {samples[-1]}, growth after warm-up {growth}"
    )
    assert growth["rss_mb"] <= MAX_RSS_GROWTH_MB, growth
    assert growth["fds"] <= MAX_FD_GROWTH, growth
    assert growth["threads"] <= MAX_THREAD_GROWTH, growth
    assert growth["processes"] <= MAX_PROCESS_GROWTH, growth
