"""IAM users and access keys in the backend: AWS's quotas and conflicts, persistence, and the key
lookup the gateway's SigV4 check uses."""

from __future__ import annotations

import json

import pytest
from iam_helpers import make_lab

from chaoslab.errors import AwsError

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def test_user_lifecycle_and_key_owner(iam):
    user = iam.create_user("alice", path="/team/")
    assert user.arn == "arn:aws:iam::123456789012:user/team/alice"
    assert user.user_id.startswith("AIDA")
    with pytest.raises(AwsError) as dup:
        iam.create_user("ALICE")
    assert dup.value.code == "EntityAlreadyExists"
    key = iam.create_access_key("alice")
    assert key.access_key_id.startswith("AKIA") and len(key.access_key_id) == 20
    assert iam.key_owner(key.access_key_id) == (user, key)
    assert iam.identity(user.arn) is user
    iam.create_access_key("alice")
    with pytest.raises(AwsError) as third:
        iam.create_access_key("alice")
    assert third.value.code == "LimitExceeded"
    with pytest.raises(AwsError) as conflict:
        iam.delete_user("alice")
    assert conflict.value.code == "DeleteConflict"
    for k in iam.list_access_keys("alice"):
        iam.delete_access_key("alice", k.access_key_id)
    assert iam.key_owner(key.access_key_id) is None
    iam.put_user_policy("alice", "all", POLICY)
    with pytest.raises(AwsError):
        iam.delete_user("alice")
    iam.delete_user_policy("alice", "all")
    iam.delete_user("alice")
    with pytest.raises(AwsError) as gone:
        iam.get_user("alice")
    assert gone.value.code == "NoSuchEntity"


def test_users_keys_and_attachments_survive_a_restart(lab, iam):
    iam.create_user("bob")
    key = iam.create_access_key("bob")
    policy = iam.create_policy("all", POLICY)
    iam.attach_user_policy("bob", policy.arn)
    assert iam.attachment_count(policy.arn) == 1
    again = make_lab(lab.config.home)
    try:
        owner = again.iam.key_owner(key.access_key_id)
        assert owner is not None and owner[1].secret == key.secret
        assert [p.arn for p in again.iam.list_attached_user_policies("bob")] == [policy.arn]
    finally:
        again.store.close()
