"""The vCPUs and memory of the instance types the lab knows, which become an instance's limits
(its unit's CPU quota and memory limit) and the denominator of its CPUUtilization: AWS reports
an instance's CPU in percent of all its vCPUs, so one busy core of a 2-vCPU type is 50 %.
https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html
"""

from __future__ import annotations

from chaoslab.runtime.cgroups import CPU_UNITS_PER_VCPU, Limits

MiB_PER_GiB = 1024

# type: (vCPUs, memory in MiB)
INSTANCE_TYPES: dict[str, tuple[int, int]] = {
    "m1.small": (1, 1740),
    "t2.nano": (1, 512),
    "t2.micro": (1, 1024),
    "t2.small": (1, 2048),
    "t2.medium": (2, 4096),
    "t2.large": (2, 8192),
    **{
        f"{family}.{size}": spec
        for family in ("t3", "t3a", "t4g")
        for size, spec in {
            "nano": (2, 512),
            "micro": (2, 1024),
            "small": (2, 2048),
            "medium": (2, 4096),
            "large": (2, 8192),
            "xlarge": (4, 16384),
            "2xlarge": (8, 32768),
        }.items()
    },
    **{
        f"{family}.{size}": (vcpus, vcpus * per_vcpu * MiB_PER_GiB)
        for family, per_vcpu in (
            ("c5", 2),
            ("c6i", 2),
            ("c7g", 2),
            ("m5", 4),
            ("m6i", 4),
            ("m7g", 4),
            ("r5", 8),
            ("r6i", 8),
        )
        for size, vcpus in (("large", 2), ("xlarge", 4), ("2xlarge", 8), ("4xlarge", 16))
    },
}


def vcpus(instance_type: str) -> int | None:
    spec = INSTANCE_TYPES.get(instance_type)
    return spec[0] if spec else None


def memory_mib(instance_type: str) -> int | None:
    spec = INSTANCE_TYPES.get(instance_type)
    return spec[1] if spec else None


def limits(instance_type: str) -> Limits:
    """An instance's unit limits: its vCPUs as a CPU quota, its memory; unknown types none."""
    spec = INSTANCE_TYPES.get(instance_type)
    if spec is None:
        return Limits()
    return Limits(cpu_units=spec[0] * CPU_UNITS_PER_VCPU, memory_mib=spec[1])


def cpu_utilization(cpu_percent_of_one_core: float, instance_type: str) -> float:
    """CloudWatch's CPUUtilization: CPU used in percent of all the instance's vCPUs (one core
    for a type the lab does not know), at most 100."""
    return min(100.0, cpu_percent_of_one_core / (vcpus(instance_type) or 1))
