"""Lab-state families: unit states, alarm states, FIS experiments and actions, and the faults
in effect now (the undo journal's pending entries: applied, not yet reverted)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from chaoslab.faults.registry import REGISTRY
from chaoslab.services.fis.models import ACTIVE, TERMINAL
from chaoslab.types import LabLike

ALARM_STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")


def families(lab: LabLike) -> Iterator[Metric]:
    yield _units(lab)
    yield _alarms(lab)
    yield from _experiments(lab)
    yield _faults(lab)


def _units(lab: LabLike) -> Metric:
    units = GaugeMetricFamily(
        "chaoslab_unit_state",
        "1 per compute unit, labelled with its state now: EC2 instance state or ECS task lastStatus.",
        labels=["kind", "unit", "az", "state"],
    )
    for instance in list(lab.ec2.instances.values()):
        units.add_metric(["instance", instance.instance_id, instance.az or "", instance.state], 1.0)
    for task in list(lab.ecs.tasks.values()):
        units.add_metric(["task", task.task_id, task.az or "", task.last_status], 1.0)
    return units


def _alarms(lab: LabLike) -> Metric:
    alarms = GaugeMetricFamily(
        "chaoslab_alarm_state",
        "1 for the CloudWatch alarm's current state, 0 for the others.",
        labels=["alarm", "state"],
    )
    for alarm in lab.cloudwatch.describe_alarms(types=["MetricAlarm", "CompositeAlarm"]):
        for state in ALARM_STATES:
            alarms.add_metric([alarm.name, state], 1.0 if alarm.state == state else 0.0)
    return alarms


def _experiments(lab: LabLike) -> Iterator[Metric]:
    counts = GaugeMetricFamily(
        "chaoslab_fis_experiments", "FIS experiments by state (this lab's store).", labels=["state"]
    )
    actions = GaugeMetricFamily(
        "chaoslab_fis_action_state",
        "1 per action of each experiment not yet ended, labelled with the action's state.",
        labels=["experiment", "template", "action", "action_id", "state"],
    )
    summaries, token = lab.fis.list_experiments()
    while token:
        page, token = lab.fis.list_experiments(next_token=token)
        summaries += page
    by_state = Counter(e["state"]["status"] for e in summaries)
    for state in (*ACTIVE, *TERMINAL):
        counts.add_metric([state], by_state.get(state, 0))
    for summary in summaries:
        if summary["state"]["status"] not in ACTIVE:
            continue
        experiment = lab.fis.get_experiment(summary["id"])
        for name, action in experiment.get("actions", {}).items():
            labels = [experiment["id"], experiment["experimentTemplateId"], name, action["actionId"]]
            actions.add_metric([*labels, action["state"]["status"]], 1.0)
    yield counts
    yield actions


def _faults(lab: LabLike) -> Metric:
    faults = GaugeMetricFamily(
        "chaoslab_active_faults",
        "Faults in effect now by kind: undo records written and not yet reverted.",
        labels=["fault"],
    )
    pending = Counter(entry["fault"] for entry in lab.store.journal_pending())
    for fault in sorted(set(REGISTRY) | set(pending)):
        faults.add_metric([fault], pending.get(fault, 0))
    return faults
