"""A container's environmentFiles and secrets: ECS's env-file format, `environment` winning over
files, secrets from SSM Parameter Store, and a start failure naming what could not be read.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/use-environment-file.html"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaoslab.errors import AwsError
from chaoslab.services.ecs.containers import StartFailure, environment_files, parse_env_file, secrets
from chaoslab.services.ssm.parameters import Parameters


def test_env_file_lines_are_var_equals_value_without_quoting() -> None:
    text = "# comment\n\nA=1\nB = two words \nC='quoted'\nD=x=y\nnot a pair\n"
    assert parse_env_file(text) == {"A": "1", "B": " two words ", "C": "'quoted'", "D": "x=y"}


def test_files_are_read_from_this_host_in_order(tmp_path: Path) -> None:
    (tmp_path / "a.env").write_text("A=1\nB=1\n")
    (tmp_path / "b.env").write_text("B=2\n")
    refs = [{"value": f"file://{tmp_path}/a.env", "type": "s3"}, {"value": str(tmp_path / "b.env"), "type": "s3"}]
    assert environment_files({"environmentFiles": refs}) == {"A": "1", "B": "2"}


@pytest.mark.parametrize("value", ["arn:aws:s3:::bucket/app.env", "relative/app.env", "/nonexistent/app.env"])
def test_unreadable_env_files_fail_the_start(value: str) -> None:
    with pytest.raises(StartFailure, match="ResourceInitializationError"):
        environment_files({"environmentFiles": [{"value": value, "type": "s3"}]})


def test_secrets_come_from_parameter_store_by_name_or_arn() -> None:
    store = Parameters("us-east-1", "123456789012")
    store.put("/app/db-password", "s3cret", "SecureString", False, None)
    store.put("plain", "v", None, False, None)
    container = {
        "secrets": [
            {"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/app/db-password"},
            {"name": "PLAIN", "valueFrom": "plain"},
        ]
    }
    assert secrets(container, store) == {"DB_PASSWORD": "s3cret", "PLAIN": "v"}
    with pytest.raises(StartFailure, match="ParameterNotFound"):
        secrets({"secrets": [{"name": "X", "valueFrom": "/missing"}]}, store)
    with pytest.raises(StartFailure, match="Secrets Manager"):
        secrets({"secrets": [{"name": "X", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:x"}]}, store)


def test_parameters_overwrite_only_when_asked_and_count_versions() -> None:
    store = Parameters("us-east-1", "123456789012")
    assert store.put("p", "1", "String", False, None) == 1
    with pytest.raises(AwsError) as err:
        store.put("p", "2", None, False, None)
    assert err.value.code == "ParameterAlreadyExists"
    assert store.put("p", "2", None, True, None) == 2
    assert (store.get("p").value, store.get("p").type) == ("2", "String")
