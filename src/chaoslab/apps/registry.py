"""Image names -> command lines: how a task definition's `image` becomes a real process.

A unit's `image` (ECS container image or the launch template's app) names a bundled sample app;
any registry prefix and tag are accepted, so an ECR URI from a real task definition works as is.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

# Repository name (after the last '/', before ':' or '@') -> gunicorn app target.
APPS: dict[str, str] = {
    "chaos-shop": "chaoslab.apps.chaos_shop.app:create_app()",
    "pet-payment": "chaoslab.apps.pet_payment.app:create_app()",
    "static": "chaoslab.apps.static.app:create_app()",
}

DEFAULT_WORKERS = 2
# Seconds a worker may take per request before the arbiter kills it; above the apps' DB_TIMEOUT
# so a slow database surfaces as a 500 from the app rather than a killed worker.
WORKER_TIMEOUT = 30
# SIGTERM -> in-flight requests get this long; well inside ECS's default 30 s stopTimeout.
GRACEFUL_TIMEOUT = 10


def repository_name(image: str) -> str:
    """`123456789012.dkr.ecr.us-east-1.amazonaws.com/chaos-shop:v1` -> `chaos-shop`."""
    name = image.strip().split("@", 1)[0].rsplit("/", 1)[-1]
    return name.split(":", 1)[0].lower()


def is_bundled(image: str) -> bool:
    """Whether `image` names a bundled app (any registry prefix and tag)."""
    return repository_name(image) in APPS


def known_images() -> list[str]:
    """The image names a task definition can use for a bundled app."""
    return [f"chaoslab/{name}" for name in APPS]


def resolve_image(image: str, env: Mapping[str, str] | None = None) -> list[str] | None:
    """The command line that runs `image`, or None when it is not a bundled app.

    `env` is the unit's environment (default: this process's); WORKERS, HOST and PORT come from
    it. Gunicorn pre-forks: the app (and its schema init) loads once in the arbiter
    (--preload), then each sync worker serves one request at a time on its own DB connection.
    Two workers per unit suit a 2-core box that runs several units at once. The heartbeat file
    lives in /dev/shm so disk-I/O stress on the unit cannot stall it into killing workers.
    """
    target = APPS.get(repository_name(image))
    if target is None:
        return None
    env = os.environ if env is None else env
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        env.get("WORKERS", str(DEFAULT_WORKERS)),
        "--bind",
        f"{env.get('HOST', '0.0.0.0')}:{env.get('PORT', '80')}",
        "--graceful-timeout",
        str(GRACEFUL_TIMEOUT),
        "--timeout",
        str(WORKER_TIMEOUT),
        "--preload",
    ]
    if os.path.isdir("/dev/shm"):
        command += ["--worker-tmp-dir", "/dev/shm"]
    return command + [target]
