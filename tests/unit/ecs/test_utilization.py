"""CloudWatch's ECS utilization as AWS computes it: CPU units used over CPU units reserved,
summed over a service's tasks; what a task reserves; what its limits are.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html"""

from __future__ import annotations

from chaoslab.runtime.cgroups import Limits
from chaoslab.services.ec2 import instance_types
from chaoslab.services.ecs import utilization as u


def test_task_level_cpu_and_memory_in_both_notations() -> None:
    assert u.cpu_units("256") == 256 and u.cpu_units("0.25 vCPU") == 256 and u.cpu_units("1 vcpu") == 1024
    assert u.memory_mib("512") == 512 and u.memory_mib("2 GB") == 2048 and u.memory_mib(None) is None


def test_reserved_is_task_level_else_the_containers_sum_else_the_default() -> None:
    containers = [{"cpu": 128, "memoryReservation": 100}, {"cpu": 64, "memory": 50}]
    assert u.reserved_cpu_units({"cpu": "512", "containerDefinitions": containers}) == 512
    assert u.reserved_cpu_units({"containerDefinitions": containers}) == 192
    assert u.reserved_memory_mib({"containerDefinitions": containers}) == 150
    assert u.reserved_cpu_units({"containerDefinitions": [{}]}) == u.DEFAULT_CPU_UNITS
    assert u.reserved_memory_mib({"containerDefinitions": [{}]}) == u.DEFAULT_MEMORY_MIB


def test_limits_task_hard_container_weight_and_hard_memory() -> None:
    assert u.task_limits({"cpu": "256", "memory": "512"}) == Limits(cpu_units=256, memory_mib=512)
    assert u.task_limits({}) == Limits()
    assert u.container_limits({"cpu": 128, "memory": 64, "memoryReservation": 32}) == Limits(
        cpu_shares=128, memory_mib=64
    )


def test_service_cpu_utilization_is_used_units_over_reserved_units() -> None:
    # Two 256-unit tasks: one at a quarter core (its whole quota), one idle -> 50 %.
    used = [u.used_cpu_units(25.0), u.used_cpu_units(0.0)]
    assert u.utilization(used, [256, 256]) == 50.0
    assert u.utilization([u.used_cpu_units(25.0)], [256]) == 100.0
    assert u.utilization([], []) == 0.0


def test_ec2_cpu_utilization_is_of_all_the_instance_vcpus() -> None:
    assert instance_types.cpu_utilization(100.0, "t3.micro") == 50.0  # one busy core of two vCPUs
    assert instance_types.cpu_utilization(100.0, "m1.small") == 100.0
    assert instance_types.cpu_utilization(300.0, "unknown.type") == 100.0  # one core assumed, capped
    assert instance_types.limits("t3.micro") == Limits(cpu_units=2048, memory_mib=1024)
    assert instance_types.limits("unknown.type") == Limits()
