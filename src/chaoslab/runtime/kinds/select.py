"""`SelectingRuntime`: the lab's runtime, choosing per program between a container and a process.

A task definition's container runs in its image when the lab has a container engine and the image
is present locally, as on ECS. Otherwise it runs as a process of this host: a bundled app by its
image name, or the container's command. An image that is neither, with no command to fall back
on, cannot run: `ImageUnavailable`, with the command that would get it. EC2 units (an AMI is no
container image) and fault helpers are always processes; helpers of a container unit join the
container's cgroups, so a stress fault uses the container's CPU and memory, not the host's.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from chaoslab.apps.registry import is_bundled, known_images
from chaoslab.runtime.kinds.base import HandleExitCallback, ImageUnavailable, OutputCallback, ProcessSpec, UnitHandle
from chaoslab.runtime.kinds.container import ContainerRuntime
from chaoslab.runtime.kinds.engine import Engine
from chaoslab.runtime.kinds.process import ProcessRuntime
from chaoslab.runtime.sandbox import Sandbox
from chaoslab.store import Store

log = logging.getLogger(__name__)


class SelectingRuntime:
    """Containers where an engine has the image, processes everywhere else."""

    def __init__(self, engine: Engine | None, store: Store, lab_run: str, no_engine_reason: str | None = None) -> None:
        self.processes = ProcessRuntime()
        self.containers = ContainerRuntime(engine, store, lab_run) if engine is not None else None
        self.no_engine_reason = no_engine_reason
        self._said_no_engine = False

    def describe(self, mode: str = "netns") -> str:
        """One line for `chaoslab status`: what a container image runs as in this lab (in a
        network `mode` other than netns, units have no namespace for a container to join)."""
        if self.containers is not None and mode != "netns":
            return f"container images run as their command: units have no network namespace in {mode} mode"
        if self.containers is None:
            return f"container images run as their command: {self.no_engine_reason or 'no container engine'}"
        runtime = self.containers.engine.oci_runtime
        return "container images run as containers (podman" + (f", {runtime})" if runtime else ")")

    async def kind_for(self, sandbox: Sandbox, spec: ProcessSpec) -> str:
        image = spec.image or ""
        if spec.in_image is None or not image or is_bundled(image):
            return await self.processes.kind_for(sandbox, spec)
        containers = self.containers if sandbox.netns is not None else None  # nothing to join
        if containers is not None and await containers.engine.has_image(image):
            return "container"
        why = self.describe("netns" if sandbox.netns is not None else "loopback")
        if spec.command:
            if containers is None and not self._said_no_engine:
                self._said_no_engine = True
                log.warning("%s; containers run their command on this host", why)
            return "process"
        if containers is not None:
            raise ImageUnavailable(
                f"{image}: image not found in local storage and no registry is reachable from the lab; "
                f"`podman pull {image}` or `podman build -t {image} <dir>` first"
            )
        raise ImageUnavailable(
            f"{image} is not a chaoslab app and the container has no command ({why}); "
            f"known images: {', '.join(known_images())}"
        )

    async def start(
        self,
        sandbox: Sandbox,
        name: str,
        spec: ProcessSpec,
        *,
        on_output: OutputCallback | None = None,
        on_exit: HandleExitCallback | None = None,
    ) -> UnitHandle:
        if self.containers is not None and await self.kind_for(sandbox, spec) == "container":
            return await self.containers.start(sandbox, name, spec, on_output=on_output, on_exit=on_exit)
        return await self.processes.start(sandbox, name, spec, on_output=on_output, on_exit=on_exit)

    async def exec(self, sandbox: Sandbox, name: str, spec: ProcessSpec) -> UnitHandle:
        """A helper process; in a container unit it joins the container's cgroups at once."""
        container = self.containers.in_sandbox(name.split("/")[0] + "/") if self.containers else None
        if container is not None:  # it joins them before it starts (moved after, it raced its own join)
            spec = replace(spec, cgroup=tuple(str(procs) for procs in container.cgroup_procs()))
        return await self.processes.exec(sandbox, name, spec)

    async def run(
        self, sandbox: Sandbox, argv: list[str], timeout: float, program: str | None = None
    ) -> tuple[int, str]:
        if self.containers is not None and program is not None:
            container = self.containers.handle(program)
            if container is not None and container.running:
                return await self.containers.exec_in(container, argv, timeout)
        return await self.processes.run(sandbox, argv, timeout, program)

    async def serving(self, sandbox: Sandbox, port: int) -> bool:
        return await self.processes.serving(sandbox, port)
