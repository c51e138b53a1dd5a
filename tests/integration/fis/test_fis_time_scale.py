"""A 30-minute template at time scale 600: it completes in about 3 s of wall time, and FIS's own
answers (over boto3) show the template's times — 20 minutes, then 10 after it."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from botocore.config import Config
from test_fis_wire import ACCOUNT, ROLE, TRUST, serve, wait_for

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.services.cloudwatch.backend import CloudWatchBackend
from chaoslab.services.fis.backend import FisBackend
from chaoslab.services.iam.backend import IamBackend
from chaoslab.services.logs.backend import LogsBackend
from chaoslab.store import Store

SCALE = 600
LATE = 1.5  # scenario minutes: a loaded machine adds wall time, which the scale multiplies (0.1 s = 1 min)


def test_a_pt30m_template_runs_in_seconds_and_reports_thirty_minutes(tmp_path: Path) -> None:
    lab = SimpleNamespace(
        clock=LabClock(SCALE),
        config=LabConfig(home=tmp_path, api_port=0, account_id=ACCOUNT, time_scale=SCALE),
        store=Store(tmp_path / "s.db"),
        events=EventLog(),
    )
    lab.iam, lab.cloudwatch, lab.logs = IamBackend(lab), CloudWatchBackend(lab), LogsBackend(lab)
    lab.fis = FisBackend(lab, stop_condition_interval=0.05)  # action durations: the lab clock's
    lab.iam.create_role("fis", json.dumps(TRUST))
    with serve(lab) as gateway:
        fis = boto3.session.Session().client(
            "fis",
            endpoint_url=gateway.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )
        template = fis.create_experiment_template(
            description="thirty minutes",
            roleArn=ROLE,
            stopConditions=[{"source": "none"}],
            actions={
                "First": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT20M"}},
                "Then": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT10M"}, "startAfter": ["First"]},
            },
        )["experimentTemplate"]
        started = time.monotonic()
        exp_id = fis.start_experiment(experimentTemplateId=template["id"])["experiment"]["id"]
        exp = wait_for(fis, exp_id, ("completed", "failed"), timeout=15)
        took = time.monotonic() - started
    assert exp["state"]["status"] == "completed", exp["state"]
    assert 2.9 <= took < 8, f"30 scenario minutes took {took:.1f} s of wall time"
    first, then = exp["actions"]["First"], exp["actions"]["Then"]

    def minutes(a: datetime, b: datetime) -> float:
        return (b.timestamp() - a.timestamp()) / 60

    assert minutes(first["startTime"], first["endTime"]) == pytest.approx(20, abs=LATE)
    assert minutes(then["startTime"], then["endTime"]) == pytest.approx(10, abs=LATE)
    assert minutes(first["startTime"], then["startTime"]) == pytest.approx(20, abs=LATE)
    assert minutes(exp["startTime"], exp["endTime"]) == pytest.approx(30, abs=LATE)
    # scenario time ran ahead of the wall clock by about the 30 minutes less the 3 s they took
    assert exp["endTime"].timestamp() - time.time() > 25 * 60
