"""FisBackend API semantics that need no running experiment: idempotency, paging, updates,
tags, the lever and target account configurations."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fis_harness import MiniLab, template, wait

from chaoslab.errors import AwsError
from chaoslab.services.fis import api
from chaoslab.services.fis.catalogue import ACTIONS


@pytest.fixture
def lab(tmp_path: Path) -> MiniLab:
    return MiniLab(tmp_path)


def raises(code: str, fn, *args, **kwargs) -> AwsError:
    with pytest.raises(AwsError) as exc:
        fn(*args, **kwargs)
    assert exc.value.code == code, exc.value
    return exc.value


def test_client_token_is_idempotent_and_conflicts_on_a_different_body(lab: MiniLab) -> None:
    body = {**template({"W": wait()}), "clientToken": "t1"}
    first = lab.fis.create_experiment_template(body)
    assert lab.fis.create_experiment_template(body)["id"] == first["id"]
    err = raises("ConflictException", lab.fis.create_experiment_template, {**body, "description": "other"})
    assert err.status == 409
    assert len(lab.fis.list_experiment_templates()[0]) == 1


def test_template_defaults_and_private_keys_stay_private(lab: MiniLab) -> None:
    t = lab.fis.create_experiment_template({**template({"W": wait()}), "clientToken": "x"})
    assert t["experimentOptions"] == {"accountTargeting": "single-account", "emptyTargetResolutionMode": "fail"}
    assert t["targetAccountConfigurationsCount"] == 0
    assert not [k for k in t if k.startswith("_")]
    assert t["creationTime"] == t["lastUpdateTime"]


def test_update_validates_the_merged_template(lab: MiniLab) -> None:
    t = lab.fis.create_experiment_template(template({"W": wait()}))
    raises(
        "ValidationException",
        lab.fis.update_experiment_template,
        t["id"],
        {"actions": {"W": {"actionId": "aws:fis:wait"}}},
    )
    raises(
        "ValidationException",
        lab.fis.update_experiment_template,
        t["id"],
        {"experimentOptions": {"accountTargeting": "multi-account"}},
    )
    raises("ResourceNotFoundException", lab.fis.update_experiment_template, "EXTnope", {})
    updated = lab.fis.update_experiment_template(t["id"], {"actions": {"W2": wait("PT2M")}})
    assert list(updated["actions"]) == ["W2"] and updated["tags"] == t["tags"]
    assert updated["lastUpdateTime"] >= t["lastUpdateTime"]


def test_paging(lab: MiniLab) -> None:
    for _ in range(5):
        lab.fis.create_experiment_template(template({"W": wait()}))
    page, token = lab.fis.list_experiment_templates(max_results=2)
    seen = [t["id"] for t in page]
    while token:
        page, token = lab.fis.list_experiment_templates(max_results=2, next_token=token)
        seen += [t["id"] for t in page]
    assert len(seen) == len(set(seen)) == 5
    raises("ValidationException", lab.fis.list_experiment_templates, 101)
    raises("ValidationException", lab.fis.list_experiment_templates, 10, "garbage")


def test_actions_catalogue_through_the_handlers(lab: MiniLab) -> None:
    ctx = type("Ctx", (), {"lab": lab})()
    listed = api.OPERATIONS["ListActions"](ctx, {})
    assert {a["id"] for a in listed["actions"]} == set(ACTIONS)
    assert all("parameters" not in a for a in listed["actions"])
    wait_action = api.OPERATIONS["GetAction"](ctx, {"id": "aws:fis:wait"})["action"]
    assert wait_action["parameters"]["duration"]["required"] is True
    assert wait_action["arn"] == "arn:aws:fis:us-east-1:123456789012:action/aws:fis:wait"
    raises("ResourceNotFoundException", api.OPERATIONS["GetAction"], ctx, {"id": "aws:nope"})
    lab_only = api.OPERATIONS["GetAction"](ctx, {"id": "chaoslab:ecs:fargate-spot-interruption"})["action"]
    assert lab_only["description"].startswith("(chaoslab only)")
    assert lab_only["targets"] == {"Tasks": {"resourceType": "aws:ecs:task"}}
    raises("ResourceNotFoundException", api.OPERATIONS["GetTargetResourceType"], ctx, {"resourceType": "aws:x:y"})
    assert len(api.OPERATIONS) == 26


def test_every_catalogued_action_has_known_targets_and_an_existing_executor() -> None:
    from chaoslab.services.fis.catalogue import TARGET_TYPES
    from chaoslab.services.fis.registry import REGISTRY

    for spec in ACTIONS.values():
        assert set(spec.targets.values()) <= set(TARGET_TYPES), spec.id
        assert spec.executor is None or spec.executor in REGISTRY, spec.id
        assert spec.duration_param is None or spec.duration_param in spec.parameters, spec.id
    assert set(REGISTRY) == {s.executor for s in ACTIONS.values() if s.executor}  # nothing registered unused


def test_tags_on_templates_and_unknown_resources(lab: MiniLab) -> None:
    t = lab.fis.create_experiment_template(template({"W": wait()}, tags={"a": "1"}))
    lab.fis.tag_resource(t["arn"], {"b": "2"})
    lab.fis.untag_resource(t["arn"], ["a"])
    assert lab.fis.list_tags_for_resource(t["arn"]) == {"b": "2"}
    raises("ResourceNotFoundException", lab.fis.list_tags_for_resource, "arn:aws:s3:::bucket")
    raises("ValidationException", lab.fis.tag_resource, t["arn"], {f"k{i}": "v" for i in range(50)})


def test_lever_rules(lab: MiniLab) -> None:
    raises("ResourceNotFoundException", lab.fis.get_safety_lever, "other")
    with pytest.raises(AwsError, match="ValidationException"):
        asyncio.run(lab.fis.update_safety_lever_state("default", "on", "x"))
    with pytest.raises(AwsError, match="ValidationException"):
        asyncio.run(lab.fis.update_safety_lever_state("default", "engaged", ""))
    with pytest.raises(AwsError, match="ConflictException"):
        asyncio.run(lab.fis.update_safety_lever_state("default", "disengaged", "already"))


def test_target_account_configuration_rules(lab: MiniLab) -> None:
    single = lab.fis.create_experiment_template(template({"W": wait()}))
    raises(
        "ValidationException",
        lab.fis.create_target_account_configuration,
        single["id"],
        "210987654321",
        "arn:aws:iam::210987654321:role/r",
    )
    multi = lab.fis.create_experiment_template(
        template({"W": wait()}, experimentOptions={"accountTargeting": "multi-account"})
    )
    raises("ValidationException", lab.fis.create_target_account_configuration, multi["id"], "12", "r")
    for n in range(10):
        lab.fis.create_target_account_configuration(multi["id"], f"{n:012d}", "arn:aws:iam::000000000000:role/r")
    raises("ConflictException", lab.fis.create_target_account_configuration, multi["id"], f"{0:012d}", "r")
    raises(
        "ServiceQuotaExceededException", lab.fis.create_target_account_configuration, multi["id"], "999999999999", "r"
    )
    changed = lab.fis.update_target_account_configuration(multi["id"], f"{1:012d}", description="prod")
    assert changed["description"] == "prod"
    assert lab.fis.get_experiment_template(multi["id"])["targetAccountConfigurationsCount"] == 10


def test_active_experiment_quota_and_bad_actions_mode(lab: MiniLab) -> None:
    async def go() -> None:
        t = lab.fis.create_experiment_template(template({"W": wait("PT30M")}))
        with pytest.raises(AwsError, match="ValidationException"):
            await lab.fis.start_experiment(t["id"], actions_mode="some")
        started = [await lab.fis.start_experiment(t["id"]) for _ in range(5)]
        with pytest.raises(AwsError) as exc:
            await lab.fis.start_experiment(t["id"])
        assert exc.value.code == "ServiceQuotaExceededException" and exc.value.status == 402
        assert len(lab.fis.list_experiments(t["id"])[0]) == 5
        await lab.fis.stop()
        assert {lab.fis.get_experiment(e["id"])["state"]["status"] for e in started} == {"stopped"}
        with pytest.raises(AwsError, match="ValidationException"):
            await lab.fis.stop_experiment(started[0]["id"])

    asyncio.run(go())


def test_start_client_token_is_idempotent_and_conflicts_on_a_different_request(lab: MiniLab) -> None:
    async def go() -> None:
        a = lab.fis.create_experiment_template(template({"W": wait("PT30M")}))
        b = lab.fis.create_experiment_template(template({"W": wait("PT30M")}))
        first = await lab.fis.start_experiment(a["id"], "tok")
        await asyncio.sleep(0.05)
        again = await lab.fis.start_experiment(a["id"], "tok")
        assert again["id"] == first["id"]
        assert again["state"] == lab.fis.get_experiment(first["id"])["state"]  # the live run, not a stale copy
        with pytest.raises(AwsError) as exc:
            await lab.fis.start_experiment(b["id"], "tok")
        assert exc.value.code == "ConflictException" and exc.value.status == 409
        with pytest.raises(AwsError, match="ConflictException"):
            await lab.fis.start_experiment(a["id"], "tok", {"k": "v"})
        assert len(lab.fis.list_experiments()[0]) == 1
        await lab.fis.stop()

    asyncio.run(go())


def test_a_lever_left_engaging_by_a_crash_is_engaged_at_the_next_start(lab: MiniLab) -> None:
    from chaoslab.services.fis.backend import LEVER_KIND, FisBackend

    lever = lab.fis.get_safety_lever("default")
    lever["state"] = {"status": "engaging", "reason": "incident"}
    lab.store.put(LEVER_KIND, "default", lever)  # what a lab that died while engaging leaves behind
    restarted = FisBackend(lab)
    asyncio.run(restarted.start())
    assert restarted.get_safety_lever("default")["state"] == {"status": "engaged", "reason": "incident"}
    lever = asyncio.run(restarted.update_safety_lever_state("default", "disengaged", "over"))
    assert lever["state"]["status"] == "disengaged"
