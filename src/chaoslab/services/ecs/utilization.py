"""A task definition's reserved CPU and memory, the limits they become, and CloudWatch's
ECS utilization formulas (docs/cloudwatch.md, "How CPU and memory utilization are computed").

AWS counts CPU in CPU units (1024 = one vCPU) and memory in MiB. A service's CPUUtilization is
the CPU its running tasks use over what they reserve, in percent:
    100 × Σ CPU units used by the tasks / Σ CPU units reserved by the tasks
and MemoryUtilization likewise with memory. A task reserves its task-level `cpu`/`memory`, or
else the sum of its containers' (`memory` or `memoryReservation`).
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from chaoslab.runtime.cgroups import CPU_UNITS_PER_VCPU, Limits

# What the lab assumes a task reserves when its definition says nothing (EC2 launch type).
DEFAULT_CPU_UNITS = 256
DEFAULT_MEMORY_MIB = 512


def cpu_units(value: Any) -> float | None:
    """A task definition's `cpu`: "256", 256 or "0.25 vCPU" (RegisterTaskDefinition takes both)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    match = re.fullmatch(r"([\d.]+)\s*vcpus?", text, re.IGNORECASE)
    return float(match.group(1)) * CPU_UNITS_PER_VCPU if match else float(text)


def memory_mib(value: Any) -> int | None:
    """A task definition's `memory`: "512", 512 or "2 GB" (GB meaning GiB, as ECS reads it)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    match = re.fullmatch(r"([\d.]+)\s*gb", text, re.IGNORECASE)
    return round(float(match.group(1)) * 1024) if match else int(float(text))


def task_limits(td: Mapping[str, Any]) -> Limits:
    """The task's hard limits: its task-level `cpu` (a CPU quota) and `memory`."""
    return Limits(cpu_units=cpu_units(td.get("cpu")), memory_mib=memory_mib(td.get("memory")))


def container_limits(container: Mapping[str, Any]) -> Limits:
    """A container's own: `cpu` is a relative weight (CPU shares), `memory` a hard limit;
    `memoryReservation` is a soft one, which the lab does not enforce."""
    cpu = container.get("cpu")
    return Limits(cpu_shares=int(cpu) if cpu else None, memory_mib=memory_mib(container.get("memory")))


def reserved_cpu_units(td: Mapping[str, Any]) -> float:
    """CPU units one task reserves: task-level, else its containers' sum, else the default."""
    task = cpu_units(td.get("cpu"))
    if task:
        return task
    containers = sum(float(c.get("cpu") or 0) for c in td.get("containerDefinitions", []))
    return containers or DEFAULT_CPU_UNITS


def reserved_memory_mib(td: Mapping[str, Any]) -> int:
    """MiB one task reserves: task-level, else its containers' hard (or soft) limits' sum."""
    task = memory_mib(td.get("memory"))
    if task:
        return task
    containers = sum(
        memory_mib(c.get("memory") or c.get("memoryReservation")) or 0 for c in td.get("containerDefinitions", [])
    )
    return containers or DEFAULT_MEMORY_MIB


def used_cpu_units(cpu_percent: float) -> float:
    """CPU a task used, in CPU units, from percent of one core (100 % = 1024 units)."""
    return cpu_percent / 100.0 * CPU_UNITS_PER_VCPU


def utilization(used: Iterable[float], reserved: Iterable[float]) -> float:
    """100 × Σ used / Σ reserved: a service's (or cluster's) CPU or memory utilization."""
    total = sum(reserved)
    return 100.0 * sum(used) / total if total > 0 else 0.0
