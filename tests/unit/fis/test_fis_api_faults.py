"""The inject-api hook: only the target roles, only the named service/operations, at the rate asked."""

from __future__ import annotations

import random
from types import SimpleNamespace

from chaoslab.services.fis.api_faults import make_hook, role_of

ASSUMED = "arn:aws:sts::123456789012:assumed-role/app/session"


def test_role_of() -> None:
    assert role_of(ASSUMED) == "app"
    assert role_of("arn:aws:iam::123456789012:role/path/app") == "app"
    assert role_of("arn:aws:iam::123456789012:user/bob") is None


def test_hook_matches_role_service_and_operations() -> None:
    hook = make_hook("throttle", "ec2", {"RunInstances"}, {"app"}, 100, random.Random(1))
    me, other = SimpleNamespace(principal_arn=ASSUMED), SimpleNamespace(principal_arn="arn:aws:iam::1:user/bob")
    err = hook(me, "ec2", "RunInstances")
    assert err is not None and (err.code, err.status, err.sender) == ("RequestLimitExceeded", 503, False)
    assert hook(me, "ec2", "DescribeInstances") is None
    assert hook(me, "ecs", "RunInstances") is None
    assert hook(other, "ec2", "RunInstances") is None


def test_hook_percentage() -> None:
    hook = make_hook("internal", "ec2", None, {"app"}, 30, random.Random(7))
    me = SimpleNamespace(principal_arn=ASSUMED)
    hits = sum(hook(me, "ec2", "DescribeInstances") is not None for _ in range(2000))
    assert 500 < hits < 700
