"""CloudWatchBackend (`lab.cloudwatch`): the metric store, metric and composite alarms, their
evaluation, history and listeners. Knows CloudWatch semantics, nothing about HTTP."""

from __future__ import annotations

import copy
import json
import logging
import math
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from chaoslab.aws import safejson
from chaoslab.errors import AwsError
from chaoslab.ids import arn as make_arn
from chaoslab.services.cloudwatch import alarms as ev
from chaoslab.services.cloudwatch.arrivals import Arrivals, Store
from chaoslab.services.cloudwatch.evaluator import Evaluator, cadence
from chaoslab.services.cloudwatch.history import HistoryItem, config_update, state_update
from chaoslab.services.cloudwatch.metrics import MetricStore, Series
from chaoslab.services.cloudwatch.models import Alarm, CompositeAlarm, MetricAlarm, utc
from chaoslab.services.cloudwatch.queries import check_queries, query_period, run_queries
from chaoslab.services.cloudwatch.rule import RuleError, children, evaluate_rule, parse_rule, state_checks
from chaoslab.services.cloudwatch.statistics import Aggregate, percentile_of
from chaoslab.services.cloudwatch.validation import (
    check_alarm_numbers,
    check_period,
    check_statistic,
    dimensions_dict,
    invalid,
    missing,
)

AlarmListener = Callable[[str, str, str, str], None]
log = logging.getLogger(__name__)
HISTORY_KEEP = 10_000


def not_found(what: str) -> AwsError:
    return AwsError("ResourceNotFound", what, 404)


class CloudWatchBackend:
    """One region's CloudWatch. Needs only `lab.config` (region, account, timing), `lab.events`
    and `lab.clock`: datapoints, alarm periods and the evaluation cadence are in scenario time
    (docs/timing.md); `clock` replaces the lab clock's `now` in tests. A datapoint is readable
    only once the timing profile's availability delay has passed (`arrivals`)."""

    def __init__(self, lab: Any, clock: Callable[[], float] | None = None) -> None:
        self.lab = lab
        self.region: str = lab.config.region
        self.account_id: str = lab.config.account_id
        self.clock = clock or lab.clock.now
        self.metrics = MetricStore(clock=self.clock)
        self.arrivals = Arrivals()
        self.alarms: dict[str, Alarm] = {}
        self.history: list[HistoryItem] = []
        self._listeners: list[AlarmListener] = []
        self._evaluator = Evaluator(self, lab.clock.cadence)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._evaluator.start()

    async def stop(self) -> None:
        await self._evaluator.stop()

    # -- metrics -----------------------------------------------------------------------------

    def put_metric(
        self,
        namespace: str,
        name: str,
        dimensions: dict[str, str],
        values: list[float],
        unit: str,
        timestamp: float | None = None,
        storage_resolution: int = 1,
    ) -> None:
        """The producers' fast path (ALB, ECS, RDS): raw values, no validation beyond types.
        Their datapoints are a service's, so they take the service metrics' availability delay."""
        stamp = self.clock() if timestamp is None else timestamp
        store = partial(
            self.metrics.put, namespace, name, dict(dimensions), list(values), unit, stamp, storage_resolution
        )
        self.deliver(self.lab.config.timing.draw("cloudwatch_metric_delay_s"), store)

    def deliver(self, wait: float, store: Store) -> None:
        """Store a put now, or hold it for `wait` scenario seconds (a draw of the timing profile's
        availability delay: 0 before the lab is ready and under `fast`)."""
        if wait <= 0:
            store()
        else:
            self.arrivals.hold(self.clock() + wait, store)

    def _arrive(self) -> None:
        """Store what has arrived by now: every read and evaluation sees exactly that."""
        if self.arrivals:
            self.arrivals.release(self.clock())

    def series_for(self, namespace: str, name: str, dimensions: dict[str, str]) -> Series | None:
        self._arrive()
        return self.metrics.find(namespace, name, dimensions)

    def statistics(
        self,
        namespace: str,
        name: str,
        dimensions: dict[str, str],
        start: float,
        end: float,
        period: int,
        unit: str | None = None,
    ) -> list[tuple[float, Aggregate]]:
        """Per-period samples over [start, end); periods with no data are left out."""
        self._arrive()
        series = self.metrics.find(namespace, name, dimensions)
        if series is None:
            return []
        rows = self.metrics.periods(series, start, end, period, unit)
        return [(t, agg) for t, agg in rows if agg.count > 0 and t + period > start]

    def list_metrics(
        self,
        namespace: str | None = None,
        name: str | None = None,
        dimension_filters: list[dict[str, str]] | None = None,
    ) -> list[Series]:
        self._arrive()
        out = []
        for s in self.metrics.all_series():
            if namespace is not None and s.namespace != namespace:
                continue
            if name is not None and s.name != name:
                continue
            if not all(
                f["Name"] in s.dimensions and ("Value" not in f or s.dimensions[f["Name"]] == f["Value"])
                for f in dimension_filters or []
            ):
                continue
            out.append(s)
        return sorted(out, key=lambda s: (s.namespace, s.name, sorted(s.dimensions.items())))

    # -- alarms: configuration -----------------------------------------------------------------

    def alarm_arn(self, name: str) -> str:
        return make_arn("cloudwatch", self.region, self.account_id, f"alarm:{name}")

    def find_alarm(self, name_or_arn: str) -> Alarm | None:
        if name_or_arn.startswith("arn:"):
            name = name_or_arn.split(":alarm:", 1)[-1]
            alarm = self.alarms.get(name)
            return alarm if alarm is not None and alarm.arn == name_or_arn else None
        return self.alarms.get(name_or_arn)

    def get_alarm_state(self, name_or_arn: str) -> str:
        """The alarm's current StateValue (the FIS engine polls this for stop conditions)."""
        alarm = self.find_alarm(name_or_arn)
        if alarm is None:
            raise not_found(f"Alarm {name_or_arn} does not exist.")
        return alarm.state

    def put_metric_alarm(self, params: dict[str, Any]) -> MetricAlarm:
        """Create or replace a metric alarm from PutMetricAlarm's input."""
        name = _alarm_name(params)
        n, m, op, treat = check_alarm_numbers(params)
        spec = _metric_spec(params)
        config = {k: copy.deepcopy(v) for k, v in params.items() if k != "Tags"}
        if "Metrics" not in params:
            config.setdefault("DatapointsToAlarm", m)
        now = self.clock()
        old = self.alarms.get(name)
        if old is not None and not isinstance(old, MetricAlarm):
            raise invalid(f"The alarm {name} exists and is a composite alarm.")
        alarm = MetricAlarm(
            name=name,
            arn=self.alarm_arn(name),
            config=config,
            created=old.created if old else now,
            namespace=spec["namespace"],
            metric_name=spec["name"],
            dimensions=spec["dimensions"],
            statistic=spec["statistic"],
            period=spec["period"],
            unit=spec["unit"],
            evaluation_periods=n,
            datapoints_to_alarm=m,
            threshold=float(params["Threshold"]),
            comparison=op,
            treat_missing=treat,
            queries=spec["queries"],
            return_id=spec["return_id"],
        )
        if n * alarm.period > 7 * 86400 or (alarm.period < 3600 and n * alarm.period > 86400):
            raise invalid("Period * EvaluationPeriods must not exceed one day (Period < 1 h) or seven days.")
        alarm.next_evaluation = old.next_evaluation if isinstance(old, MetricAlarm) else now + cadence(alarm.period)
        self._install(alarm, old, params.get("Tags"), now)
        return alarm

    def put_composite_alarm(self, params: dict[str, Any]) -> CompositeAlarm:
        """Create or replace a composite alarm; its rule must parse and name existing alarms."""
        name = _alarm_name(params)
        rule_text = params.get("AlarmRule")
        if not rule_text:
            raise missing("AlarmRule")
        if len(rule_text) > 10240:
            raise invalid("The parameter AlarmRule must be at most 10240 characters.")
        try:
            node = parse_rule(rule_text)
        except RuleError as e:
            raise AwsError("ValidationError", f"Error in AlarmRule [{rule_text}]: {e}.", 400) from None
        kids = children(node)
        if len(kids) > 100:
            raise AwsError("LimitExceeded", "An AlarmRule can reference at most 100 alarms.", 400)
        for kid in kids:
            if kid in (name, self.alarm_arn(name)):
                raise AwsError("ValidationError", "An alarm rule cannot reference the alarm itself.", 400)
            child = self.find_alarm(kid)
            if child is None:
                raise AwsError("ValidationError", f"Could not find alarm {kid} referenced in AlarmRule.", 400)
            if self._depends_on(child, name):
                raise AwsError("ValidationError", f"AlarmRule would make a cycle through alarm {child.name}.", 400)
        now = self.clock()
        old = self.alarms.get(name)
        if old is not None and not isinstance(old, CompositeAlarm):
            raise invalid(f"The alarm {name} exists and is a metric alarm.")
        config = {k: copy.deepcopy(v) for k, v in params.items() if k != "Tags"}
        alarm = CompositeAlarm(
            name=name, arn=self.alarm_arn(name), config=config, created=old.created if old else now, rule=node
        )
        self._install(alarm, old, params.get("Tags"), now)
        self._evaluate_composite(alarm, now, changed=None)
        return alarm

    def _depends_on(self, alarm: Alarm, name: str) -> bool:
        """Does `alarm`'s rule reach the alarm called `name`? (chaoslab refuses composite cycles.)"""
        seen: set[str] = set()
        stack = [alarm]
        while stack:
            a = stack.pop()
            if a.name == name:
                return True
            if a.name in seen or not isinstance(a, CompositeAlarm):
                continue
            seen.add(a.name)
            stack.extend(c for ref in children(a.rule) if (c := self.find_alarm(ref)) is not None)
        return False

    def _install(self, alarm: Alarm, old: Alarm | None, tags: list[dict[str, str]] | None, now: float) -> None:
        """New alarms start INSUFFICIENT_DATA; updating one keeps its state and tags."""
        if old is not None:
            alarm.state, alarm.reason, alarm.reason_data = old.state, old.reason, old.reason_data
            alarm.state_updated, alarm.state_transitioned = old.state_updated, old.state_transitioned
            alarm.tags = dict(old.tags)
        else:
            alarm.state_updated = alarm.state_transitioned = now
        alarm.config_updated = now
        for t in tags or []:
            alarm.tags[t["Key"]] = t["Value"]
        self.alarms[alarm.name] = alarm
        self._record(config_update(alarm.name, alarm.kind, now, "Update" if old else "Create", alarm.config))

    def delete_alarms(self, names: list[str]) -> None:
        """Delete the named alarms; the existing ones go even if some names are unknown."""
        unknown = [n for n in names if n not in self.alarms]
        for name in names:
            if name in self.alarms:
                alarm = self.alarms[name]
                parents = [
                    a.name
                    for a in self.alarms.values()
                    if isinstance(a, CompositeAlarm)
                    and a.name not in names
                    and {name, alarm.arn} & set(children(a.rule))
                ]
                if parents:
                    raise invalid(f"Alarm {name} is referenced by composite alarm(s) {', '.join(parents)}.")
        for name in names:
            removed = self.alarms.pop(name, None)
            if removed is not None:
                self._record(config_update(name, removed.kind, self.clock(), "Delete", removed.config))
        if unknown:
            raise not_found(f"Alarm(s) {', '.join(unknown)} do not exist.")

    def set_actions_enabled(self, names: list[str], enabled: bool) -> None:
        for name in names:
            if name in self.alarms:
                self.alarms[name].config["ActionsEnabled"] = enabled

    # -- alarms: queries -----------------------------------------------------------------------

    def describe_alarms(
        self,
        names: list[str] | None = None,
        prefix: str | None = None,
        state: str | None = None,
        types: list[str] | None = None,
        children_of: str | None = None,
        parents_of: str | None = None,
        action_prefix: str | None = None,
    ) -> list[Alarm]:
        """Alarms matching every given filter, sorted by name (types default to metric alarms)."""
        if names and prefix:
            raise AwsError(
                "InvalidParameterCombination", "AlarmNames and AlarmNamePrefix cannot be used together.", 400
            )
        kinds = set(types or ["MetricAlarm"])
        picked: Iterable[Alarm] = self.alarms.values()
        if children_of or parents_of:
            picked = self._relatives(children_of, parents_of)
            if types is None:
                kinds = {"MetricAlarm", "CompositeAlarm"}
        out = []
        for a in picked:
            if a.kind not in kinds:
                continue
            if names and a.name not in names:
                continue
            if prefix and not a.name.startswith(prefix):
                continue
            if state and a.state != state:
                continue
            if action_prefix and not any(
                x.startswith(action_prefix)
                for key in ("AlarmActions", "OKActions", "InsufficientDataActions")
                for x in a.config.get(key, [])
            ):
                continue
            out.append(a)
        return sorted(out, key=lambda a: a.name)

    def _relatives(self, children_of: str | None, parents_of: str | None) -> list[Alarm]:
        if children_of:
            parent = self.alarms.get(children_of)
            if not isinstance(parent, CompositeAlarm):
                return []
            return [a for k in children(parent.rule) if (a := self.find_alarm(k)) is not None]
        child = self.alarms.get(parents_of or "")
        if child is None:
            return []
        return [
            a
            for a in self.alarms.values()
            if isinstance(a, CompositeAlarm) and {child.name, child.arn} & set(children(a.rule))
        ]

    def describe_alarms_for_metric(
        self,
        namespace: str,
        name: str,
        dimensions: dict[str, str] | None = None,
        statistic: str | None = None,
        period: int | None = None,
        unit: str | None = None,
    ) -> list[MetricAlarm]:
        out = []
        for a in self.alarms.values():
            if not isinstance(a, MetricAlarm) or a.namespace != namespace or a.metric_name != name:
                continue
            if dimensions is not None and a.dimensions != dimensions:
                continue
            if (statistic and a.statistic != statistic) or (period and a.period != period) or (unit and a.unit != unit):
                continue
            out.append(a)
        return sorted(out, key=lambda a: a.name)

    def alarm_history(
        self,
        name: str | None = None,
        types: list[str] | None = None,
        item_type: str | None = None,
        start: float | None = None,
        end: float | None = None,
        newest_first: bool = True,
    ) -> list[HistoryItem]:
        items = [
            h
            for h in self.history
            if (name is None or h.alarm_name == name)
            and (not types or h.alarm_type in types)
            and (item_type is None or h.item_type == item_type)
            and (start is None or h.timestamp >= start)
            and (end is None or h.timestamp <= end)
        ]
        return list(reversed(items)) if newest_first else items

    # -- tags --------------------------------------------------------------------------------

    def _by_arn(self, resource_arn: str) -> Alarm:
        alarm = self.find_alarm(resource_arn) if resource_arn.startswith("arn:") else None
        if alarm is None:
            raise AwsError("ResourceNotFoundException", f"Resource {resource_arn} does not exist.", 404)
        return alarm

    def tag_resource(self, resource_arn: str, tags: list[dict[str, str]]) -> None:
        alarm = self._by_arn(resource_arn)
        for t in tags:
            alarm.tags[t["Key"]] = t["Value"]

    def untag_resource(self, resource_arn: str, keys: list[str]) -> None:
        alarm = self._by_arn(resource_arn)
        for k in keys:
            alarm.tags.pop(k, None)

    def list_tags(self, resource_arn: str) -> dict[str, str]:
        return dict(self._by_arn(resource_arn).tags)

    # -- state changes -----------------------------------------------------------------------

    def add_alarm_listener(self, cb: AlarmListener) -> Callable[[], None]:
        """Call `cb(alarm_arn, old, new, reason)` on every state change; returns the remover."""
        self._listeners.append(cb)
        return lambda: self._listeners.remove(cb) if cb in self._listeners else None

    def set_alarm_state(self, name: str, value: str, reason: str, reason_data: str | None = None) -> None:
        """Force a state until the next evaluation (metric) or the next child change (composite)."""
        alarm = self.alarms.get(name)
        if alarm is None:
            raise not_found(f"Alarm {name} does not exist.")
        if value not in ev.STATES:
            raise invalid(f"The parameter StateValue must be one of {', '.join(ev.STATES)}; got {value!r}.")
        if reason_data is not None:
            try:
                safejson.loads(reason_data)
            except ValueError:
                raise AwsError("InvalidFormat", "StateReasonData must be valid JSON.", 400) from None
        if isinstance(alarm, MetricAlarm):
            alarm.forced = True  # holds until the alarm's next scheduled evaluation, as in AWS
        self._transition(alarm, value, reason, reason_data, self.clock(), always=True)

    def _transition(
        self, alarm: Alarm, new: str, reason: str, data: str | None, now: float, always: bool = False
    ) -> None:
        old = alarm.state
        if old == new and not always:
            return
        self._record(
            state_update(alarm.name, alarm.kind, now, (old, alarm.reason, alarm.reason_data), (new, reason, data))
        )
        alarm.state, alarm.reason, alarm.reason_data = new, reason, data
        alarm.state_updated = now
        if old == new:  # SetAlarmState to the current state: history only, nothing changed
            return
        alarm.state_transitioned = now
        self.lab.events.emit("alarm.state", alarm=alarm.name, arn=alarm.arn, old=old, new=new, reason=reason)
        for cb in list(self._listeners):
            try:
                cb(alarm.arn, old, new, reason)
            except Exception:  # a failing listener must not hide the change from the others
                log.exception("alarm listener failed for %s", alarm.name)
        for parent in list(self.alarms.values()):
            if isinstance(parent, CompositeAlarm) and {alarm.name, alarm.arn} & set(children(parent.rule)):
                self._evaluate_composite(parent, now, changed=alarm)

    def _record(self, item: HistoryItem) -> None:
        self.history.append(item)
        if len(self.history) > HISTORY_KEEP:
            del self.history[: len(self.history) - HISTORY_KEEP]

    # -- evaluation --------------------------------------------------------------------------

    def evaluate_due(self, now: float) -> int:
        """Evaluate every metric alarm whose cadence has come round; returns how many ran.

        A new alarm is first due one cadence after its creation (PutMetricAlarm never evaluates,
        so it reads INSUFFICIENT_DATA at first, as on AWS); after that, on the cadence boundaries."""
        self._arrive()
        ran = 0
        for alarm in list(self.alarms.values()):
            if isinstance(alarm, MetricAlarm) and now >= alarm.next_evaluation:
                step = cadence(alarm.period)
                alarm.next_evaluation = (math.floor(now / step) + 1) * step
                try:
                    self.evaluate_alarm(alarm, now)
                except Exception:  # one broken alarm must not stop the others' evaluation
                    log.exception("evaluating alarm %s failed", alarm.name)
                ran += 1
        return ran

    def evaluate_alarm(self, alarm: MetricAlarm, now: float) -> str:
        """Evaluate over complete periods only: the range ends at the last period boundary."""
        period, n = alarm.period, alarm.evaluation_periods
        end = math.floor(now / period) * period
        start = end - ev.evaluation_range(n) * period
        stamps, values, counts = self._alarm_datapoints(alarm, start, end)
        if self._low_sample_count(alarm, values[-n:], counts[-n:]):
            return alarm.state
        outcome = ev.assess(
            values, n, alarm.datapoints_to_alarm, alarm.treat_missing, alarm.state, alarm.threshold, alarm.comparison
        )
        forced, alarm.forced = alarm.forced, False
        if outcome.retained or (outcome.state == alarm.state and not forced):
            return alarm.state
        reason = ev.reason_text(
            outcome,
            values,
            stamps,
            n,
            alarm.datapoints_to_alarm,
            alarm.treat_missing,
            alarm.threshold,
            alarm.comparison,
            alarm.state,
        )
        data = ev.reason_data(
            outcome, values, stamps, counts, now, period, alarm.statistic, alarm.threshold, alarm.unit
        )
        if outcome.state == alarm.state:  # a forced state confirmed: refresh the reason quietly
            alarm.reason, alarm.reason_data, alarm.state_updated = reason, data, now
        else:
            self._transition(alarm, outcome.state, reason, data, now)
        return alarm.state

    def latest_value(self, alarm: MetricAlarm, now: float | None = None) -> float | None:
        """The newest complete period's value of what a metric alarm watches, or None if its
        evaluation range has none: a scaling policy sizes its change from it."""
        now = self.clock() if now is None else now
        end = math.floor(now / alarm.period) * alarm.period
        start = end - ev.evaluation_range(alarm.evaluation_periods) * alarm.period
        _, values, _ = self._alarm_datapoints(alarm, start, end)
        return next((v for v in reversed(values) if v is not None), None)

    def _alarm_datapoints(
        self,
        alarm: MetricAlarm,
        start: float,
        end: float,
    ) -> tuple[list[float], list[float | None], list[float | None]]:
        """(period starts, values, sample counts) of the evaluation range; counts are None for
        metric-math alarms, whose points have no single sample count."""
        self._arrive()
        period = alarm.period
        if alarm.queries:
            assert alarm.return_id is not None  # PutMetricAlarm rejects Metrics without one ReturnData
            series = run_queries(alarm.queries, start, end, self.statistics)[alarm.return_id]
            stamps = [float(t) for t in range(int(start), int(end), period)]
            return stamps, [series.get(t) for t in stamps], [None] * len(stamps)
        found = self.metrics.find(alarm.namespace, alarm.metric_name, alarm.dimensions)
        rows = self.metrics.periods(
            found, start, end, period, alarm.unit, raw=percentile_of(alarm.statistic) is not None
        )
        return [t for t, _ in rows], [agg.statistic(alarm.statistic) for _, agg in rows], [agg.count for _, agg in rows]

    @staticmethod
    def _low_sample_count(alarm: MetricAlarm, values: list[float | None], counts: list[float | None]) -> bool:
        """EvaluateLowSampleCountPercentile=ignore: keep the state while a percentile rests on fewer
        than 10/(1-p) samples (p in [0.5, 1))."""
        p = percentile_of(alarm.statistic)
        if p is None or alarm.config.get("EvaluateLowSampleCountPercentile") != "ignore" or not 50 <= p < 100:
            return False
        need = 10.0 / (1.0 - p / 100.0)
        return any(v is not None and c is not None and c < need for v, c in zip(values, counts, strict=True))

    def _evaluate_composite(self, alarm: CompositeAlarm, now: float, changed: Alarm | None) -> None:
        """ALARM when the rule holds, else OK; the reason names the child that triggered it."""

        def state_of(ref: str) -> str:
            child = self.find_alarm(ref)
            return child.state if child is not None else ev.INSUFFICIENT_DATA

        new = ev.ALARM if evaluate_rule(alarm.rule, state_of) else ev.OK
        if new == alarm.state:
            return
        triggering = (
            [changed]
            if changed is not None
            else [
                c
                for check in state_checks(alarm.rule)
                if (c := self.find_alarm(check.alarm)) is not None and c.state == check.state
            ]
        )
        if triggering:
            t = triggering[0]
            when = utc(t.state_transitioned)
            reason = f"{t.arn} transitioned to {t.state} at {when.strftime('%A %d %B, %Y %H:%M:%S')} UTC"
        else:
            reason = f"Alarm rule evaluated to {'TRUE' if new == ev.ALARM else 'FALSE'}"
        data = json.dumps(
            {
                "triggeringAlarms": [
                    {"arn": t.arn, "state": {"value": t.state, "timestamp": ev.iso_millis(t.state_transitioned)}}
                    for t in triggering
                ]
            },
            separators=(",", ":"),
        )
        self._transition(alarm, new, reason, data, now)


def _alarm_name(params: dict[str, Any]) -> str:
    name = params.get("AlarmName")
    if not name:
        raise missing("AlarmName")
    if len(name) > 255:
        raise invalid("The parameter AlarmName must be at most 255 characters.")
    return name


def _metric_spec(params: dict[str, Any]) -> dict[str, Any]:
    """The metric an alarm watches, from top-level fields or from a single MetricStat query."""
    queries = params.get("Metrics")
    if queries:
        direct = [
            k
            for k in ("MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Period", "Dimensions", "Unit")
            if params.get(k) is not None
        ]
        if direct:
            raise AwsError("InvalidParameterCombination", f"Metrics cannot be combined with {', '.join(direct)}.", 400)
        check_queries(queries, lambda p: check_period(p, "Metrics.MetricStat.Period"))
        returning = [q for q in queries if q.get("ReturnData", True)]
        if len(returning) != 1:
            raise invalid("Exactly one element of the Metrics array must have ReturnData set to true.")
        q = returning[0]
        stat = q.get("MetricStat") or {}
        metric = stat.get("Metric") or {}
        return {
            "namespace": metric.get("Namespace", ""),
            "name": metric.get("MetricName", ""),
            "dimensions": dimensions_dict(metric.get("Dimensions")),
            "statistic": stat.get("Stat", ""),
            "period": query_period(queries),
            "unit": stat.get("Unit"),
            "queries": copy.deepcopy(queries),
            "return_id": q["Id"],
        }
    for key in ("MetricName", "Namespace", "Period"):
        if params.get(key) is None:
            raise missing(key)
    return {
        "namespace": params["Namespace"],
        "name": params["MetricName"],
        "dimensions": dimensions_dict(params.get("Dimensions")),
        "statistic": check_statistic(params.get("Statistic"), params.get("ExtendedStatistic")),
        "period": check_period(params["Period"]),
        "unit": params.get("Unit"),
        "queries": None,
        "return_id": None,
    }
