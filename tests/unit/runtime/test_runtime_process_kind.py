"""The process runtime turns a spec into a command line: the unit's bind address and port go
into HOST and PORT (the loopback address and a moved privileged port, or every address of the
unit's own namespace), a spec's own environment wins, an image becomes its app's command."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from chaoslab.errors import ChaoslabError
from chaoslab.runtime.kinds.base import ProcessSpec
from chaoslab.runtime.kinds.process import ProcessRuntime, command_line, environment
from chaoslab.runtime.ports import LOOPBACK_PORT_OFFSET, unprivileged_port_start
from chaoslab.runtime.sandbox import Sandbox
from chaoslab.store import Store


def sandbox(tmp_path: Path, ip: str, netns: str | None = None) -> Sandbox:
    return Sandbox(store=Store(tmp_path / "lab.db"), lab_run="r", ip=ip, az="us-east-1a", netns=netns)


def test_a_namespaced_unit_binds_every_address_on_its_own_port(tmp_path: Path) -> None:
    env = environment(sandbox(tmp_path, "10.0.10.5", "ns1"), ProcessSpec(env={"A": "1"}, port=80))
    assert env == {"HOST": "0.0.0.0", "PORT": "80", "A": "1"}


def test_a_loopback_unit_binds_its_address_and_moves_privileged_ports(tmp_path: Path) -> None:
    env = environment(sandbox(tmp_path, "127.0.1.4"), ProcessSpec(env={}, port=80))
    moved = 80 + LOOPBACK_PORT_OFFSET if unprivileged_port_start() > 80 else 80
    assert env == {"HOST": "127.0.1.4", "PORT": str(moved)}


def test_the_specs_environment_wins_and_helpers_inherit(tmp_path: Path) -> None:
    box = sandbox(tmp_path, "10.0.10.5", "ns1")
    assert environment(box, ProcessSpec(env={"PORT": "9000"}, port=80)) == {"HOST": "0.0.0.0", "PORT": "9000"}
    assert environment(box, ProcessSpec(command=["sleep", "1"])) is None


def test_a_command_wins_over_the_image_and_one_string_is_split() -> None:
    assert command_line(ProcessSpec(image="chaoslab/static", command=["python -m app --x"]), {}) == [
        "python",
        "-m",
        "app",
        "--x",
    ]
    assert command_line(ProcessSpec(command=["sh", "-c", "echo a b"]), None) == ["sh", "-c", "echo a b"]


def test_an_image_runs_its_app_where_the_unit_binds() -> None:
    argv = command_line(ProcessSpec(image="chaoslab/static"), {"HOST": "127.0.1.4", "PORT": "10080"})
    assert argv[argv.index("--bind") + 1] == "127.0.1.4:10080"
    with pytest.raises(ChaoslabError):
        command_line(ProcessSpec(image="nginx:latest"), {})


def test_serving_is_true_only_while_something_listens(tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    box = sandbox(tmp_path, "127.0.0.1")
    assert asyncio.run(ProcessRuntime().serving(box, port)) is True
    listener.close()
    assert asyncio.run(ProcessRuntime().serving(box, port)) is False
