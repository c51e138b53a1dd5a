"""Executor keys (the catalogue's `executor` field) → implementations, one per action. The faults
they journal are reverted through `chaoslab.faults.registry`, the table of fault families."""

from __future__ import annotations

from chaoslab.services.fis import (
    exec_automation,
    exec_capacity,
    exec_network,
    exec_stress,
    exec_volume,
    exec_zonal_shift,
)
from chaoslab.services.fis import executors as ex
from chaoslab.services.fis.api_faults import inject_api_error

REGISTRY: dict[str, ex.Executor] = {
    "fis.wait": ex.fis_wait,
    "fis.inject_api_internal_error": inject_api_error("internal"),
    "fis.inject_api_throttle_error": inject_api_error("throttle"),
    "fis.inject_api_unavailable_error": inject_api_error("unavailable"),
    "cloudwatch.assert_alarm_state": ex.assert_alarm_state,
    "ec2.stop_instances": ex.ec2_stop_instances,
    "ec2.reboot_instances": ex.ec2_reboot_instances,
    "ec2.terminate_instances": ex.ec2_terminate_instances,
    "ec2.send_spot_instance_interruptions": ex.ec2_send_spot_instance_interruptions,
    "ecs.stop_task": ex.ecs_stop_task,
    "ecs.fargate_spot_interruption": ex.ecs_fargate_spot_interruption,
    "rds.failover_db_cluster": ex.rds_failover_db_cluster,
    "rds.reboot_db_instances": ex.rds_reboot_db_instances,
    **exec_stress.EXECUTORS,
    **exec_network.EXECUTORS,
    **exec_capacity.EXECUTORS,
    **exec_zonal_shift.EXECUTORS,
    **exec_automation.EXECUTORS,
    **exec_volume.EXECUTORS,
}
