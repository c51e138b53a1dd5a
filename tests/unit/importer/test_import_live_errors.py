"""`chaoslab import aws` refusals that need no account: each is exit 1 with a hint, before any
resource is read (the reading itself is tested against a lab, tests/integration/importer)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from chaoslab.cli import main


@pytest.fixture
def no_aws_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.usefixtures("no_aws_config")
def test_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    out = ["-o", str(tmp_path / "out")]
    assert main(["import", "aws", "--profile", "nope", "--region", "us-east-1", *out]) == 1
    assert "no AWS profile named 'nope'" in capsys.readouterr().err
    assert main(["import", "aws", "--region", "us-east-1", *out]) == 1
    assert "no AWS credentials" in capsys.readouterr().err
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    url = f"http://127.0.0.1:{_closed_port()}"
    assert main(["import", "aws", "--region", "us-east-1", "--endpoint-url", url, *out]) == 1
    assert f"cannot reach {url}" in capsys.readouterr().err
    assert main(["import", "aws", "--tag", "Project", *out]) == 1
    assert "--tag 'Project': expected KEY=VALUE" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
