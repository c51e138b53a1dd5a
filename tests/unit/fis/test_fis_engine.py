"""The experiment engine over real IAM, CloudWatch, Logs and the store (EC2 recorded)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from fis_harness import ACCOUNT, ROLE, TAGGED, MiniLab, stop_nodes, template, wait

from chaoslab.errors import AwsError
from chaoslab.services.fis.backend import RECOVERED_REASON, FisBackend
from chaoslab.services.fis.models import build_experiment, build_template


def run(
    lab: MiniLab, body: dict[str, Any], during: Callable[[MiniLab, str], Awaitable[None]] | None = None, **start: Any
) -> dict[str, Any]:
    """Create the template, start an experiment, optionally act while it runs, wait for the end."""

    async def go() -> dict[str, Any]:
        await lab.fis.start()
        t = lab.fis.create_experiment_template(body)
        exp = await lab.fis.start_experiment(t["id"], **start)
        assert exp["state"]["status"] == "initiating"
        if during:
            await during(lab, exp["id"])
        return await lab.fis.wait_experiment(exp["id"], timeout=10)

    return asyncio.run(go())


def statuses(lab: MiniLab, exp_id: str) -> list[str]:
    return [e["new"] for e in lab.kinds("experiment.state", experiment=exp_id)]


def action_statuses(lab: MiniLab, exp_id: str, action: str) -> list[str]:
    return [e["new"] for e in lab.kinds("action.state", experiment=exp_id, action=action)]


@pytest.fixture
def lab(tmp_path: Path) -> MiniLab:
    return MiniLab(tmp_path)


def test_wait_actions_complete_in_start_after_order(lab: MiniLab) -> None:
    body = template({"First": wait(), "Second": wait(after=["First"]), "Side": wait("PT2M")})
    body["logConfiguration"] = {
        "logSchemaVersion": 2,
        "cloudWatchLogsConfiguration": {"logGroupArn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:fis-logs"},
    }
    exp = run(lab, body)
    assert exp["state"] == {"status": "completed", "reason": "Experiment completed"}
    assert statuses(lab, exp["id"]) == ["initiating", "running", "completed"]
    assert action_statuses(lab, exp["id"], "First") == ["initiating", "running", "completed"]
    first, second, side = (exp["actions"][n] for n in ("First", "Second", "Side"))
    assert second["startTime"] >= first["endTime"]
    assert side["startTime"] < first["endTime"]  # parallel branch
    assert first["endTime"] - first["startTime"] >= 0.6 * 0.95  # PT1M at time scale 0.01
    records = lab.fis.experiment_log(exp["id"])
    assert [r["log_type"] for r in records][0] == "experiment-start"
    assert records[-1]["log_type"] == "experiment-end"
    assert records[-1]["details"]["experiment_state"]["status"] == "completed"
    assert all(r["version"] == "2" and r["id"] == exp["id"] for r in records)
    cw = lab.logs.get_log_events("fis-logs", f"/aws/fis/{exp['id']}", start_from_head=True)
    assert [json.loads(e["message"])["log_type"] for e in cw["events"]] == [r["log_type"] for r in records]


def test_stop_instances_resolves_once_and_restarts_after_duration(lab: MiniLab) -> None:
    lab.ec2.add("i-1", {"Project": "shop"})
    lab.ec2.add("i-2", {"Project": "shop"}, az="us-east-1b")
    lab.ec2.add("i-3", {"Project": "other"})
    exp = run(lab, template({"Stop": stop_nodes("PT1M")}, TAGGED))
    assert exp["state"]["status"] == "completed"
    assert lab.ec2.calls == [("stop", ["i-1", "i-2"]), ("start", ["i-1", "i-2"])]
    targets, _ = lab.fis.list_experiment_resolved_targets(exp["id"])
    assert sorted(t["targetInformation"]["arn"] for t in targets) == [
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-1",
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-2",
    ]
    assert lab.store.journal_pending() == []
    assert [e["fault"] for e in lab.kinds("fault.reverted")] == ["ec2.start_instances"]
    log = lab.fis.experiment_log(exp["id"])
    end = next(r for r in log if r["log_type"] == "target-resolution-end")
    assert end["details"]["target_type"] == "aws:ec2:instance" and len(end["details"]["resolved_targets"]) == 2


def test_stop_condition_mid_experiment_stops_and_reverts(lab: MiniLab) -> None:
    lab.ec2.add("i-1", {"Project": "shop"})
    arn = lab.alarm("errors")

    async def trip(lab: MiniLab, exp_id: str) -> None:
        for _ in range(100):
            if lab.ec2.calls:
                break
            await asyncio.sleep(0.01)
        lab.cloudwatch.set_alarm_state("errors", "ALARM", "5xx spike")

    body = template({"Stop": stop_nodes("PT10M"), "After": wait(after=["Stop"])}, TAGGED, alarms=[arn])
    exp = run(lab, body, trip)
    assert exp["state"] == {"status": "stopped", "reason": "Experiment halted by stop condition."}
    assert statuses(lab, exp["id"]) == ["initiating", "running", "stopping", "stopped"]
    assert action_statuses(lab, exp["id"], "Stop") == ["initiating", "running", "stopping", "stopped"]
    assert exp["actions"]["After"]["state"]["status"] == "cancelled"
    assert lab.ec2.calls == [("stop", ["i-1"]), ("start", ["i-1"])]
    assert lab.store.journal_pending() == []
    assert exp["endTime"] - exp["startTime"] < 2  # did not wait out PT10M (6 s scaled)


def test_alarm_already_in_alarm_stops_before_any_action(lab: MiniLab) -> None:
    lab.ec2.add("i-1", {"Project": "shop"})
    arn = lab.alarm("errors", "ALARM")
    exp = run(lab, template({"Stop": stop_nodes()}, TAGGED, alarms=[arn]))
    assert exp["state"] == {"status": "stopped", "reason": "Experiment halted by stop condition."}
    assert statuses(lab, exp["id"]) == ["initiating", "stopping", "stopped"]
    assert exp["actions"]["Stop"]["state"]["status"] == "cancelled"
    assert lab.ec2.calls == []


def test_missing_alarm_fails_with_configuration_failure(lab: MiniLab) -> None:
    exp = run(lab, template({"W": wait()}, alarms=[f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:nope"]))
    assert exp["state"]["status"] == "failed"
    assert exp["state"]["error"]["code"] == "ConfigurationFailure"


def test_manual_stop(lab: MiniLab) -> None:
    async def stop(lab: MiniLab, exp_id: str) -> None:
        await asyncio.sleep(0.1)
        answer = await lab.fis.stop_experiment(exp_id)
        assert answer["state"] == {"status": "stopping", "reason": "Stopping Experiment."}

    exp = run(lab, template({"Long": wait("PT10M"), "Next": wait(after=["Long"])}), stop)
    assert exp["state"]["status"] == "stopped"
    assert exp["actions"]["Long"]["state"]["status"] == "stopped"
    assert exp["actions"]["Next"]["state"]["status"] == "cancelled"


def test_safety_lever_stops_running_and_cancels_new(lab: MiniLab) -> None:
    async def engage(lab: MiniLab, exp_id: str) -> None:
        await asyncio.sleep(0.1)
        lever = await lab.fis.update_safety_lever_state("default", "engaged", "game day over")
        assert lever["state"] == {"status": "engaged", "reason": "game day over"}
        assert lab.fis.get_experiment(exp_id)["state"]["status"] == "stopped"

    exp = run(lab, template({"Long": wait("PT10M")}), engage)
    assert exp["state"]["reason"] == "Experiment stopped: the safety lever was engaged."

    async def again() -> dict[str, Any]:
        started = await lab.fis.start_experiment(exp["experimentTemplateId"])
        done = await lab.fis.wait_experiment(started["id"], 5)
        await lab.fis.update_safety_lever_state("default", "disengaged", "back to work")
        return done

    cancelled = asyncio.run(again())
    assert cancelled["state"]["status"] == "cancelled"
    assert all(a["state"]["status"] == "cancelled" for a in cancelled["actions"].values())
    assert lab.fis.get_safety_lever("default")["state"]["status"] == "disengaged"


def test_missing_permission_fails_the_action(tmp_path: Path) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ec2:StartInstances", "ec2:DescribeInstances"], "Resource": "*"}],
    }
    lab = MiniLab(tmp_path, policy)
    lab.ec2.add("i-1", {"Project": "shop"})
    exp = run(lab, template({"Stop": stop_nodes(), "W": wait("PT10M")}, TAGGED))
    assert exp["state"]["status"] == "failed"
    assert exp["state"]["error"]["code"] == "AuthorizationFailure"
    assert exp["state"]["error"]["location"] == "Stop"
    assert "ec2:StopInstances" in exp["state"]["reason"]
    assert exp["actions"]["Stop"]["state"]["status"] == "failed"
    assert exp["actions"]["W"]["state"]["status"] == "stopped"
    assert lab.ec2.calls == []
    assert any(r["log_type"] == "action-error" for r in lab.fis.experiment_log(exp["id"]))


def test_tag_condition_in_policy_is_honoured(tmp_path: Path) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ec2:StopInstances", "ec2:StartInstances"],
                "Resource": "*",
                "Condition": {"StringEquals": {"ec2:ResourceTag/Project": "chaos-lab"}},
            }
        ],
    }
    lab = MiniLab(tmp_path, policy)
    lab.ec2.add("i-1", {"Project": "shop"})
    exp = run(lab, template({"Stop": stop_nodes(None)}, TAGGED))
    assert exp["state"]["error"]["code"] == "AuthorizationFailure"


def test_role_not_trusting_fis_fails_before_anything(tmp_path: Path) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    lab = MiniLab(tmp_path, trust=trust)
    exp = run(lab, template({"W": wait()}))
    assert exp["state"]["status"] == "failed"
    assert exp["state"]["error"]["code"] == "AuthorizationFailure"
    assert exp["actions"]["W"]["state"]["status"] == "cancelled"


def test_empty_target_fails_or_skips(lab: MiniLab) -> None:
    failed = run(lab, template({"Stop": stop_nodes()}, TAGGED))
    assert failed["state"]["status"] == "failed"
    assert failed["state"]["error"]["code"] == "InvalidTarget"
    body = template(
        {"Stop": stop_nodes(), "W": wait()}, TAGGED, experimentOptions={"emptyTargetResolutionMode": "skip"}
    )
    skipped = run(lab, body)
    assert skipped["state"]["status"] == "completed"
    assert skipped["actions"]["Stop"]["state"]["status"] == "skipped"
    assert skipped["actions"]["W"]["state"]["status"] == "completed"


def test_missing_arn_fails_even_in_skip_mode(lab: MiniLab) -> None:
    targets = {
        "Nodes": {
            "resourceType": "aws:ec2:instance",
            "selectionMode": "ALL",
            "resourceArns": [f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-gone"],
        }
    }
    exp = run(lab, template({"Stop": stop_nodes()}, targets, experimentOptions={"emptyTargetResolutionMode": "skip"}))
    assert exp["state"]["error"]["code"] == "InvalidTarget"
    assert "i-gone" in exp["state"]["reason"]


def test_skip_all_resolves_targets_but_runs_nothing(lab: MiniLab) -> None:
    lab.ec2.add("i-1", {"Project": "shop"})
    exp = run(lab, template({"Stop": stop_nodes()}, TAGGED), actions_mode="skip-all")
    assert exp["state"]["status"] == "completed"
    assert exp["experimentOptions"]["actionsMode"] == "skip-all"
    assert exp["actions"]["Stop"]["state"]["status"] == "skipped"
    assert lab.ec2.calls == []
    assert len(lab.fis.list_experiment_resolved_targets(exp["id"])[0]) == 1


def test_an_action_the_lab_cannot_run_fails_the_experiment_before_anything_runs(lab: MiniLab) -> None:
    lab.ec2.add("i-1", {"Project": "shop"})
    targets = {"C": {"resourceType": "aws:ecs:cluster", "selectionMode": "ALL", "resourceTags": {"a": "b"}}, **TAGGED}
    body = template(
        {
            "Drain": {
                "actionId": "aws:ecs:drain-container-instances",
                "targets": {"Clusters": "C"},
                "parameters": {"drainagePercentage": "50", "duration": "PT1M"},
            },
            "Stop": stop_nodes(),
        },
        targets,
    )
    exp = run(lab, body)
    assert exp["state"]["status"] == "failed"
    assert exp["state"]["error"] == {"accountId": ACCOUNT, "code": "ConfigurationFailure", "location": "Drain"}
    assert exp["state"]["reason"].startswith(
        "Action Drain (aws:ecs:drain-container-instances) cannot run in chaoslab: the lab's ECS has no EC2 "
        "container instances"
    )
    assert {a["state"]["status"] for a in exp["actions"].values()} == {"cancelled"}
    assert lab.ec2.calls == []  # nothing was injected, not even by the runnable action
    assert lab.fis.list_experiment_resolved_targets(exp["id"])[0] == []


def test_skip_tag_skips_what_the_lab_cannot_run_and_runs_the_rest(lab: MiniLab) -> None:
    lab.ec2.add("i-1", {"Project": "shop"})
    targets = {"C": {"resourceType": "aws:ecs:cluster", "selectionMode": "ALL", "resourceTags": {"a": "b"}}, **TAGGED}
    body = template(
        {
            "Drain": {
                "actionId": "aws:ecs:drain-container-instances",
                "targets": {"Clusters": "C"},
                "parameters": {"drainagePercentage": "50", "duration": "PT1M"},
            },
            "Stop": stop_nodes(restart=None),
        },
        targets,
    )
    exp = run(lab, body, tags={"chaoslab:skip-unsupported-actions": "true"})
    assert exp["state"]["status"] == "completed"
    drain = exp["actions"]["Drain"]["state"]
    assert drain["status"] == "skipped"
    assert drain["reason"] == (
        "Action was skipped: chaoslab cannot run aws:ecs:drain-container-instances: the lab's ECS has no "
        "EC2 container instances (every task runs Fargate-style as a process of its own; clusters report 0 "
        "registered container instances), so there is nothing to drain; to take capacity away use "
        "aws:ecs:stop-task on the tasks, or aws:ec2:stop-instances on instances."
    )
    assert exp["actions"]["Stop"]["state"]["status"] == "completed"
    assert [name for name, _ in lab.ec2.calls] == ["stop"]
    resolved = lab.fis.list_experiment_resolved_targets(exp["id"])[0]
    assert {r["targetName"] for r in resolved} == {"Nodes"}  # the cluster target was never resolved


def test_parameter_value_the_lab_does_not_emulate_is_a_gap(lab: MiniLab) -> None:
    subnets = {
        "S": {
            "resourceType": "aws:ec2:subnet",
            "selectionMode": "ALL",
            "parameters": {"availabilityZoneIdentifier": "us-east-1a"},
        }
    }
    body = template(
        {
            "Cut": {
                "actionId": "aws:network:disrupt-connectivity",
                "targets": {"Subnets": "S"},
                "parameters": {"duration": "PT1M", "scope": "s3"},
            }
        },
        subnets,
    )
    exp = run(lab, body)
    assert exp["state"]["reason"] == (
        "Action Cut (aws:network:disrupt-connectivity) cannot run in chaoslab: the lab "
        "emulates scope all and availability-zone only, not s3."
    )


def test_assert_alarm_state(lab: MiniLab) -> None:
    ok = lab.alarm("latency", "OK")
    check = {
        "actionId": "aws:cloudwatch:assert-alarm-state",
        "parameters": {"alarmArns": ok, "alarmStates": "OK,INSUFFICIENT_DATA"},
    }
    assert run(lab, template({"Check": check}))["state"]["status"] == "completed"
    check["parameters"]["alarmStates"] = "ALARM"
    failed = run(lab, template({"Check": check}))
    assert failed["state"]["status"] == "failed"
    assert "is in state OK" in failed["state"]["reason"]


def test_crash_recovery_reverts_pending_undo_records(tmp_path: Path) -> None:
    lab = MiniLab(tmp_path)
    lab.ec2.add("i-1", {"Project": "shop"})
    body = template({"Stop": stop_nodes()}, TAGGED)
    t = build_template(
        body, "EXTcrashed00000", "arn:aws:fis:us-east-1:123456789012:experiment-template/EXTcrashed00000"
    )
    exp = build_experiment(
        t, "EXPcrashed00000", "arn:aws:fis:us-east-1:123456789012:experiment/EXPcrashed00000", {}, "run-all"
    )
    exp["state"] = {"status": "running", "reason": "Experiment is running."}
    exp["actions"]["Stop"]["state"] = {"status": "running", "reason": "Action is running."}
    lab.fis.save_experiment(exp)
    lab.store.journal_add("EXPcrashed00000", "ec2.start_instances", {"instance_ids": ["i-1"], "target": "i-1"})
    lab.ec2.instances["i-1"]["State"]["Name"] = "stopped"
    lab.store.journal_add("someone-else", "ec2.start_instances", {"instance_ids": ["i-9"]})

    fresh = FisBackend(lab)  # the next lab start
    asyncio.run(fresh.start())
    got = fresh.get_experiment("EXPcrashed00000")
    assert got["state"]["status"] == "failed"
    assert got["state"]["reason"] == RECOVERED_REASON
    assert got["actions"]["Stop"]["state"]["status"] == "stopped"
    assert lab.ec2.calls == [("start", ["i-1"])]
    assert [e["owner"] for e in lab.store.journal_pending()] == ["someone-else"]


def test_lab_stop_reverts_running_experiments(lab: MiniLab) -> None:
    lab.ec2.add("i-1", {"Project": "shop"})

    async def go() -> dict[str, Any]:
        t = lab.fis.create_experiment_template(template({"Stop": stop_nodes("PT10M")}, TAGGED))
        exp = await lab.fis.start_experiment(t["id"])
        for _ in range(100):
            if lab.ec2.calls:
                break
            await asyncio.sleep(0.01)
        await lab.fis.stop()
        return lab.fis.get_experiment(exp["id"])

    exp = asyncio.run(go())
    assert exp["state"]["status"] == "stopped"
    assert lab.ec2.calls == [("stop", ["i-1"]), ("start", ["i-1"])]
    assert lab.store.journal_pending() == []


def test_role_arn_in_experiment_matches_template(lab: MiniLab) -> None:
    exp = run(lab, template({"W": wait()}))
    assert exp["roleArn"] == ROLE
    assert exp["arn"] == f"arn:aws:fis:us-east-1:{ACCOUNT}:experiment/{exp['id']}"
    assert exp["id"].startswith("EXP") and len(exp["id"]) == 17


def test_spot_interruption_notice_then_termination(lab: MiniLab) -> None:
    lab.ec2.add("i-spot", {"Project": "shop"}, spot=True)
    lab.ec2.add("i-od", {"Project": "shop"})
    targets = {
        "Spot": {"resourceType": "aws:ec2:spot-instance", "selectionMode": "ALL", "resourceTags": {"Project": "shop"}}
    }
    action = {
        "actionId": "aws:ec2:send-spot-instance-interruptions",
        "targets": {"SpotInstances": "Spot"},
        "parameters": {"durationBeforeInterruption": "PT2M"},
    }
    exp = run(lab, template({"Interrupt": action}, targets))
    assert exp["state"]["status"] == "completed"
    assert lab.ec2.calls == [("terminate", ["i-spot"])]
    assert lab.ec2.instances["i-spot"]["StateReason"]["Code"] == "Server.SpotInstanceTermination"
    (warning,) = lab.kinds("ec2.spot_interruption_warning")
    assert warning["instance_id"] == "i-spot" and warning["instance_action"] == "terminate"
    (notice,) = lab.kinds("fault.applied", target="i-spot")
    assert notice["fault"] == "ec2.send_spot_instance_interruptions"
    ended = exp["actions"]["Interrupt"]["endTime"]
    ended = ended.timestamp() if hasattr(ended, "timestamp") else ended
    assert ended - notice["time"] >= 1.2 * 0.95  # PT2M at time scale 0.01


def test_a_fault_that_will_not_revert_fails_the_experiment_and_stays_journaled(lab: MiniLab) -> None:
    lab.ec2.add("i-1", {"Project": "shop"})

    async def broken_start(ids: list[str]) -> None:
        raise AwsError("IncorrectInstanceState", "The instance 'i-1' is not in a state from which it can be started.")

    lab.ec2.start_instances = broken_start
    exp = run(lab, template({"Stop": stop_nodes("PT1M"), "Next": wait(after=["Stop"])}, TAGGED))
    assert exp["state"]["status"] == "failed"
    assert exp["state"]["error"]["code"] == "InternalFailure"
    assert "Could not revert: ec2.start_instances on i-1" in exp["state"]["reason"]
    assert exp["actions"]["Stop"]["state"]["status"] == "failed"
    assert exp["actions"]["Next"]["state"]["status"] == "cancelled"
    assert [e["fault"] for e in lab.store.journal_pending()] == ["ec2.start_instances"]
