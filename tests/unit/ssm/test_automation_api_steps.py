"""aws:executeAwsApi against the lab's own SSM API, in-process through a real gateway, IAM and
SSM backend (no HTTP server, no units): outputs from one call feed the next, the execution's
role is checked before each call, botocore validates parameters as a client would, and
StopAutomationExecution cancels a running execution."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chaoslab.aws.gateway import Gateway
from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.errors import AwsError
from chaoslab.services.iam.backend import IamBackend
from chaoslab.services.ssm.backend import SsmBackend
from chaoslab.store import Store

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ssm.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Any]:
    lab = SimpleNamespace(
        config=LabConfig(home=tmp_path, api_port=0), clock=LabClock(), store=Store(tmp_path / "state.db")
    )
    lab.gateway, lab.iam, lab.ssm = Gateway(lab), IamBackend(lab), SsmBackend(lab)
    role = lab.iam.create_role("reader", json.dumps(TRUST))
    allow = {"Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": "*"}
    lab.iam.put_role_policy("reader", "p", {"Version": "2012-10-17", "Statement": [allow]})
    lab.role_arn = role.arn
    yield lab
    lab.store.close()


def document(role: str, steps: list[dict[str, Any]]) -> str:
    return json.dumps({"schemaVersion": "0.3", "assumeRole": role, "mainSteps": steps})


def api(name: str, api_name: str, outputs: list | None = None, **params: Any) -> dict[str, Any]:
    return {
        "name": name,
        "action": "aws:executeAwsApi",
        "inputs": {"Service": "ssm", "Api": api_name, **params},
        "outputs": outputs or [],
    }


async def finish(lab: Any, name: str, caller: str | None = None) -> Any:
    execution = lab.ssm.automation.start(name, {}, caller)
    await asyncio.wait_for(execution.finished.wait(), 5)
    return execution


def test_outputs_chain_through_real_api_calls_as_the_role(lab: Any) -> None:
    lab.ssm.parameters.put("/app/next", "/app/value", "String", False, None)
    lab.ssm.parameters.put("/app/value", "42", "String", False, None)
    steps = [
        api("first", "GetParameter", [{"Name": "Next", "Selector": "$.Parameter.Value"}], Name="/app/next"),
        api(
            "second",
            "GetParameter",
            [{"Name": "V", "Selector": "$.Parameter.Value", "Type": "Integer"}],
            Name="{{ first.Next }}",
        ),
    ]
    lab.ssm.automation.create_document("Chain", document(lab.role_arn, steps), "Automation")
    execution = asyncio.run(finish(lab, "Chain"))
    assert execution.status == "Success", execution.failure
    assert [s.outputs for s in execution.steps] == [{"Next": ["/app/value"]}, {"V": ["42"]}]


def test_a_call_the_role_may_not_make_fails_its_step_and_changes_nothing(lab: Any) -> None:
    steps = [api("write", "PutParameter", Name="/app/x", Value="1", Type="String")]
    lab.ssm.automation.create_document("Write", document(lab.role_arn, steps), "Automation")
    execution = asyncio.run(finish(lab, "Write"))
    assert execution.status == "Failed"
    assert "does not have sufficient privileges to perform ssm:PutParameter" in execution.steps[0].failure
    with pytest.raises(AwsError):
        lab.ssm.parameters.get("/app/x")
    # without an assumeRole the root caller may
    lab.ssm.automation.create_document("WriteAsRoot", document("", steps), "Automation")
    assert asyncio.run(finish(lab, "WriteAsRoot")).status == "Success"
    assert lab.ssm.parameters.get("/app/x").value == "1"


def test_parameters_are_validated_as_a_client_would(lab: Any) -> None:
    lab.ssm.automation.create_document("Bad", document("", [api("get", "GetParameter", Nmae="/x")]), "Automation")
    execution = asyncio.run(finish(lab, "Bad"))
    assert execution.status == "Failed" and "Nmae" in execution.steps[0].failure


def test_stop_cancels_a_running_execution_and_refuses_an_ended_one(lab: Any) -> None:
    sleep = {"name": "wait", "action": "aws:sleep", "inputs": {"Duration": "PT1M"}}
    lab.ssm.automation.create_document("Sleep", document("", [sleep]), "Automation")

    async def scenario() -> Any:
        execution = lab.ssm.automation.start("Sleep", {}, None)
        await asyncio.sleep(0.05)
        await lab.ssm.automation.stop(execution.execution_id)
        with pytest.raises(AwsError) as err:
            await lab.ssm.automation.stop(execution.execution_id)
        assert err.value.code == "InvalidAutomationStatusUpdateException"
        return execution

    execution = asyncio.run(scenario())
    assert execution.status == "Cancelled" and execution.steps[0].status == "Cancelled"


def test_documents_and_parameters_are_refused_as_ssm_refuses_them(lab: Any) -> None:
    automation = lab.ssm.automation
    for args, code in [
        (("Cmd", "{}", "Command"), "InvalidDocumentType"),
        (("Broken", '{"schemaVersion": "0.3"}', "Automation"), "InvalidDocumentContent"),
        (("AWS-Mine", document("", []), "Automation"), "DocumentAlreadyExists"),
    ]:
        with pytest.raises(AwsError) as err:
            automation.create_document(*args)
        assert err.value.code == code
    book = {
        "schemaVersion": "0.3",
        "parameters": {"N": {"type": "Integer"}},
        "mainSteps": [{"name": "s", "action": "aws:sleep", "inputs": {"Duration": "PT0S"}}],
    }
    automation.create_document("Typed", json.dumps(book), "Automation")
    for given in ({}, {"N": ["x"]}, {"Other": ["1"]}):
        with pytest.raises(AwsError) as err:
            automation.start("Typed", given, None)
        assert err.value.code == "InvalidAutomationExecutionParametersException"
