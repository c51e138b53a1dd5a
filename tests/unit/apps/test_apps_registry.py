"""Image names -> gunicorn command lines."""

from __future__ import annotations

import sys

import pytest

from chaoslab.apps.registry import known_images, repository_name, resolve_image


@pytest.mark.parametrize(
    "image,target",
    [
        ("chaoslab/chaos-shop", "chaoslab.apps.chaos_shop.app:create_app()"),
        ("chaos-shop", "chaoslab.apps.chaos_shop.app:create_app()"),
        ("chaos-shop:latest", "chaoslab.apps.chaos_shop.app:create_app()"),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/chaos-shop:v1", "chaoslab.apps.chaos_shop.app:create_app()"),
        ("localhost:5000/team/Chaos-Shop@sha256:abc", "chaoslab.apps.chaos_shop.app:create_app()"),
        ("chaoslab/pet-payment", "chaoslab.apps.pet_payment.app:create_app()"),
        ("public.ecr.aws/x/static:1.2", "chaoslab.apps.static.app:create_app()"),
    ],
)
def test_known_images_resolve(image: str, target: str) -> None:
    command = resolve_image(image, {})
    assert command is not None
    assert command[:3] == [sys.executable, "-m", "gunicorn"] and command[-1] == target


def test_unknown_images_are_none() -> None:
    assert resolve_image("nginx:latest", {}) is None
    assert resolve_image("chaos-shopping", {}) is None
    assert resolve_image("", {}) is None


def test_defaults_and_env_overrides() -> None:
    command = resolve_image("chaos-shop", {})
    assert command is not None
    assert command[command.index("--workers") + 1] == "2"
    assert command[command.index("--bind") + 1] == "0.0.0.0:80"
    assert "--preload" in command and "--graceful-timeout" in command
    command = resolve_image("chaos-shop", {"WORKERS": "3", "HOST": "127.0.1.4", "PORT": "8081"})
    assert command is not None
    assert command[command.index("--workers") + 1] == "3"
    assert command[command.index("--bind") + 1] == "127.0.1.4:8081"


def test_known_images_all_resolve() -> None:
    assert known_images() == ["chaoslab/chaos-shop", "chaoslab/pet-payment", "chaoslab/static"]
    assert all(resolve_image(name, {}) for name in known_images())
    assert repository_name("a.b/c/d:e") == "d"
