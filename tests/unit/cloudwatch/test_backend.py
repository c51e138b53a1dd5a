"""Backend semantics with a controlled clock: alarm lifecycle, reasons, history, composites."""

import json

import pytest

from chaoslab.errors import AwsError

DIMS = [{"Name": "TargetGroup", "Value": "targetgroup/prod-payment-tg/a1b2c3d4e5f6"}]


def seed_alarm(cw, **over):
    params = {
        "AlarmName": "AutomatedAppResilienceStopCondition",
        "MetricName": "HTTPCode_Target_5XX_Count",
        "Namespace": "AWS/ApplicationELB",
        "Statistic": "Sum",
        "Period": 60,
        "Threshold": 5.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "EvaluationPeriods": 1,
        "Dimensions": DIMS,
        "TreatMissingData": "notBreaching",
    }
    params.update(over)
    return cw.put_metric_alarm(params)


def put_5xx(cw, n, ts):
    cw.put_metric(
        "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {DIMS[0]["Name"]: DIMS[0]["Value"]}, [1.0] * n, "Count", ts
    )


def test_new_alarm_starts_insufficient_data(cw):
    a = seed_alarm(cw)
    d = a.describe()
    assert d["StateValue"] == "INSUFFICIENT_DATA"
    assert d["StateReason"] == "Unchecked: Initial alarm creation"
    assert d["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:AutomatedAppResilienceStopCondition"
    assert d["DatapointsToAlarm"] == 1 and d["TreatMissingData"] == "notBreaching"


def test_seed_002_alarm_lifecycle(cw, clock, lab):
    seen = []
    cw.add_alarm_listener(lambda arn, old, new, reason: seen.append((old, new)))
    seed_alarm(cw)
    cw.evaluate_due(clock.t + 1)  # not due: a new alarm is first evaluated one cadence (60 s) later
    assert cw.get_alarm_state("AutomatedAppResilienceStopCondition") == "INSUFFICIENT_DATA"
    cw.evaluate_due(clock.t + 60)
    assert cw.get_alarm_state("AutomatedAppResilienceStopCondition") == "OK"
    put_5xx(cw, 6, clock.t + 70)  # the minute 00:11:00-00:12:00
    clock.t += 125
    cw.evaluate_due(clock.t)
    alarm = cw.find_alarm("AutomatedAppResilienceStopCondition")
    assert alarm.state == "ALARM"
    assert alarm.reason == (
        "Threshold Crossed: 1 datapoint [6.0 (22/11/26 00:11:00)] was greater than the threshold (5.0)."
    )
    data = json.loads(alarm.reason_data)
    assert data["statistic"] == "Sum" and data["period"] == 60 and data["threshold"] == 5.0
    assert data["evaluatedDatapoints"] == [
        {"timestamp": "2026-11-22T00:11:00.000+0000", "sampleCount": 6.0, "value": 6.0}
    ]
    # AWS rule: while the range (3 periods for N=1) still holds a real point, the most recent
    # real point decides and TreatMissingData is not used; the alarm clears when it leaves.
    for _ in range(2):
        clock.t += 60
        cw.evaluate_due(clock.t)
        assert alarm.state == "ALARM"
    clock.t += 60
    cw.evaluate_due(clock.t)
    assert alarm.state == "OK"
    assert "treated as [NonBreaching]" in alarm.reason
    assert seen == [("INSUFFICIENT_DATA", "OK"), ("OK", "ALARM"), ("ALARM", "OK")]
    events = [(e["old"], e["new"]) for e in lab.events.since(0, {"alarm.state"})]
    assert events == seen
    kinds = [
        (h.item_type, h.summary) for h in cw.alarm_history("AutomatedAppResilienceStopCondition", newest_first=False)
    ]
    assert kinds[0] == ("ConfigurationUpdate", 'Alarm "AutomatedAppResilienceStopCondition" created')
    assert kinds[1:] == [
        ("StateUpdate", "Alarm updated from INSUFFICIENT_DATA to OK"),
        ("StateUpdate", "Alarm updated from OK to ALARM"),
        ("StateUpdate", "Alarm updated from ALARM to OK"),
    ]
    hist = json.loads(cw.alarm_history(item_type="StateUpdate")[0].data)
    assert hist["oldState"]["stateValue"] == "ALARM" and hist["newState"]["stateValue"] == "OK"


def test_cadence_every_minute_for_60s_periods(cw, clock):
    seed_alarm(cw, TreatMissingData="missing")
    assert cw.evaluate_due(clock.t + 0.2) == 0
    assert cw.evaluate_due(clock.t + 60.2) == 1
    assert cw.evaluate_due(clock.t + 90) == 0
    assert cw.evaluate_due(clock.t + 120.2) == 1


@pytest.mark.parametrize("period,step", [(1, 1), (10, 10), (30, 10), (60, 60), (300, 60)])
def test_a_new_alarm_is_first_evaluated_one_cadence_after_creation(cw, clock, period, step):
    """Created just before a cadence boundary, it is not evaluated at that boundary's tick."""
    clock.t += step - 0.1
    a = seed_alarm(cw, Period=period)  # notBreaching, no data: OK once evaluated
    assert cw.evaluate_due(clock.t + 0.3) == 0
    assert cw.evaluate_due(clock.t + step - 0.01) == 0
    assert a.state == "INSUFFICIENT_DATA" and a.reason == "Unchecked: Initial alarm creation"
    assert cw.evaluate_due(clock.t + step) == 1
    assert a.state == "OK"


def test_set_alarm_state_is_temporary(cw, clock):
    seed_alarm(cw)
    cw.evaluate_due(clock.t)
    cw.set_alarm_state("AutomatedAppResilienceStopCondition", "ALARM", "testing")
    assert cw.get_alarm_state("AutomatedAppResilienceStopCondition") == "ALARM"
    cw.evaluate_due(clock.t + 30)  # not yet due: the forced state holds until the next evaluation
    assert cw.get_alarm_state("AutomatedAppResilienceStopCondition") == "ALARM"
    cw.evaluate_due(clock.t + 60)
    assert cw.get_alarm_state("AutomatedAppResilienceStopCondition") == "OK"
    with pytest.raises(AwsError) as e:
        cw.set_alarm_state("nope", "ALARM", "x")
    assert e.value.code == "ResourceNotFound" and e.value.status == 404
    with pytest.raises(AwsError) as e:
        cw.set_alarm_state("AutomatedAppResilienceStopCondition", "ALARM", "x", "{not json")
    assert e.value.code == "InvalidFormat"


def test_percentile_alarm_and_low_sample_count(cw, clock):
    common = dict(
        MetricName="TargetResponseTime",
        Statistic=None,
        ExtendedStatistic="p99",
        Threshold=0.5,
        Dimensions=[],
        Period=1,
        TreatMissingData="missing",
    )
    seed_alarm(cw, AlarmName="eval", **common)
    seed_alarm(cw, AlarmName="ignore", EvaluateLowSampleCountPercentile="ignore", **common)
    cw.put_metric("AWS/ApplicationELB", "TargetResponseTime", {}, [0.01] * 98 + [0.9, 0.9], "Seconds", clock.t + 0.5)
    cw.evaluate_due(clock.t + 1)
    assert cw.get_alarm_state("eval") == "ALARM"  # nearest-rank p99 of 100 samples is the 99th = 0.9
    assert cw.get_alarm_state("ignore") == "INSUFFICIENT_DATA"  # 100 < 10/(1-0.99) samples


@pytest.mark.parametrize(
    "over,code,needle",
    [
        ({"Period": 45}, "InvalidParameterValue", "Period"),
        ({"Period": 0}, "InvalidParameterValue", "Period"),
        ({"ExtendedStatistic": "p90"}, "InvalidParameterCombination", "Statistic"),
        ({"Statistic": "Median"}, "InvalidParameterValue", "SampleCount"),
        ({"EvaluationPeriods": 0}, "InvalidParameterValue", "EvaluationPeriods"),
        ({"DatapointsToAlarm": 2}, "InvalidParameterValue", "DatapointsToAlarm"),
        ({"ComparisonOperator": "Bigger"}, "InvalidParameterValue", "GreaterThanThreshold"),
        ({"TreatMissingData": "zero"}, "InvalidParameterValue", "notBreaching"),
        ({"Threshold": None}, "MissingParameter", "Threshold"),
    ],
)
def test_validation_names_parameter_and_allowed_values(cw, over, code, needle):
    with pytest.raises(AwsError) as e:
        seed_alarm(cw, **over)
    assert e.value.code == code and needle in e.value.message


def test_local_short_periods_accepted(cw):
    for p in (1, 5, 9, 10, 20, 30, 60, 120):
        seed_alarm(cw, AlarmName=f"p{p}", Period=p)


def test_composite_follows_children(cw, clock):
    seed_alarm(cw, AlarmName="a")
    seed_alarm(cw, AlarmName="b")
    arn_b = cw.alarm_arn("b")
    comp = cw.put_composite_alarm({"AlarmName": "both", "AlarmRule": f'ALARM(a) AND ALARM("{arn_b}")'})
    assert comp.state == "OK"
    cw.set_alarm_state("a", "ALARM", "x")
    assert comp.state == "OK"
    cw.set_alarm_state("b", "ALARM", "x")
    assert comp.state == "ALARM"
    data = json.loads(comp.reason_data)
    assert data["triggeringAlarms"][0]["arn"] == arn_b
    assert comp.reason.startswith(f"{arn_b} transitioned to ALARM at Sunday 22 November, 2026 00:10:00")
    cw.set_alarm_state("both", "OK", "manual")  # composites keep a forced state until a child changes
    assert comp.state == "OK"
    cw.set_alarm_state("a", "OK", "x")
    cw.set_alarm_state("a", "ALARM", "x")
    assert comp.state == "ALARM"
    assert [a.name for a in cw.describe_alarms(children_of="both")] == ["a", "b"]
    assert [a.name for a in cw.describe_alarms(parents_of="a")] == ["both"]
    with pytest.raises(AwsError) as e:
        cw.delete_alarms(["a"])
    assert e.value.code == "InvalidParameterValue"
    cw.delete_alarms(["both", "a"])
    assert sorted(cw.alarms) == ["b"]


@pytest.mark.parametrize("rule", ["ALARM(a) AND", "ALARM(ghost)", "ALARM(self)"])
def test_composite_rule_errors(cw, rule):
    seed_alarm(cw, AlarmName="a")
    with pytest.raises(AwsError) as e:
        cw.put_composite_alarm({"AlarmName": "self", "AlarmRule": rule})
    assert e.value.code == "ValidationError"


def test_describe_filters_and_tags(cw):
    seed_alarm(cw, AlarmName="web-5xx", Tags=[{"Key": "team", "Value": "pay"}])
    seed_alarm(cw, AlarmName="web-latency", MetricName="TargetResponseTime")
    seed_alarm(cw, AlarmName="db-cpu", Namespace="AWS/RDS", MetricName="CPUUtilization")
    cw.set_alarm_state("db-cpu", "ALARM", "x")
    assert [a.name for a in cw.describe_alarms(prefix="web-")] == ["web-5xx", "web-latency"]
    assert [a.name for a in cw.describe_alarms(state="ALARM")] == ["db-cpu"]
    assert [a.name for a in cw.describe_alarms(types=["CompositeAlarm"])] == []
    found = cw.describe_alarms_for_metric("AWS/ApplicationELB", "TargetResponseTime")
    assert [a.name for a in found] == ["web-latency"]
    arn = cw.alarm_arn("web-5xx")
    assert cw.list_tags(arn) == {"team": "pay"}
    cw.tag_resource(arn, [{"Key": "env", "Value": "prod"}])
    cw.untag_resource(arn, ["team"])
    assert cw.list_tags(arn) == {"env": "prod"}
    with pytest.raises(AwsError) as e:
        cw.list_tags(cw.alarm_arn("ghost"))
    assert e.value.code == "ResourceNotFoundException"


def test_update_keeps_state(cw, clock):
    seed_alarm(cw)
    cw.set_alarm_state("AutomatedAppResilienceStopCondition", "ALARM", "x")
    a = seed_alarm(cw, Threshold=10.0)
    assert a.state == "ALARM" and a.threshold == 10.0
    assert cw.evaluate_due(clock.t + 59) == 0  # and its schedule: still first due 60 s after creation
    assert cw.evaluate_due(clock.t + 60) == 1


def test_forced_state_confirmed_by_evaluation_is_not_reannounced(cw, clock, lab):
    seed_alarm(cw)
    cw.evaluate_due(clock.t)
    cw.set_alarm_state("AutomatedAppResilienceStopCondition", "OK", "manual")
    before = len(lab.events.since(0, {"alarm.state"}))
    cw.evaluate_due(clock.t + 60)
    alarm = cw.find_alarm("AutomatedAppResilienceStopCondition")
    assert alarm.state == "OK" and alarm.reason != "manual"
    assert len(lab.events.since(0, {"alarm.state"})) == before


def test_composite_cycles_are_refused(cw):
    seed_alarm(cw, AlarmName="a")
    cw.put_composite_alarm({"AlarmName": "c1", "AlarmRule": "ALARM(a)"})
    cw.put_composite_alarm({"AlarmName": "c2", "AlarmRule": "ALARM(c1)"})
    with pytest.raises(AwsError) as e:
        cw.put_composite_alarm({"AlarmName": "c1", "AlarmRule": "ALARM(c2) OR ALARM(a)"})
    assert e.value.code == "ValidationError" and "cycle" in e.value.message
    cw.set_alarm_state("a", "ALARM", "x")
    assert cw.get_alarm_state("c2") == "ALARM"  # composites of composites follow too


def test_a_failing_listener_does_not_stop_the_others(cw, clock):
    seen = []

    def broken(*args):
        raise RuntimeError("boom")

    cw.add_alarm_listener(broken)
    remove = cw.add_alarm_listener(lambda arn, old, new, reason: seen.append(new))
    seed_alarm(cw)
    cw.evaluate_due(clock.t + 60)
    remove()
    cw.set_alarm_state("AutomatedAppResilienceStopCondition", "ALARM", "x")
    assert seen == ["OK"]


def test_metric_math_error_rate_alarm(cw, clock):
    stat = lambda name: {
        "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": name, "Dimensions": DIMS},
        "Period": 1,
        "Stat": "Sum",
    }
    alarm = cw.put_metric_alarm(
        {
            "AlarmName": "error-rate",
            "EvaluationPeriods": 2,
            "DatapointsToAlarm": 2,
            "Threshold": 10.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "Metrics": [
                {"Id": "e", "MetricStat": stat("HTTPCode_Target_5XX_Count"), "ReturnData": False},
                {"Id": "r", "MetricStat": stat("RequestCount"), "ReturnData": False},
                {"Id": "rate", "Expression": "100 * FILL(e, 0) / r", "ReturnData": True},
            ],
        }
    )
    dims = {DIMS[0]["Name"]: DIMS[0]["Value"]}
    for sec in (-1, 0):
        cw.put_metric("AWS/ApplicationELB", "RequestCount", dims, [1.0] * 10, "Count", clock.t + sec)
        cw.put_metric("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", dims, [1.0] * 2, "Count", clock.t + sec)
    cw.evaluate_due(clock.t + 1)
    assert alarm.state == "ALARM"
    assert "[20.0 (22/11/26 00:10:00), 20.0 (22/11/26 00:09:59)]" in alarm.reason
    assert "sampleCount" not in alarm.reason_data
    assert cw.describe_alarms(names=["error-rate"])[0].describe()["Metrics"][2]["Expression"] == "100 * FILL(e, 0) / r"


@pytest.mark.parametrize(
    "metrics,code",
    [
        ([{"Id": "x", "Expression": "NOPE(1)"}], "ValidationError"),
        (
            [
                {
                    "Id": "m",
                    "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "a"}, "Period": 1, "Stat": "Sum"},
                },
                {
                    "Id": "n",
                    "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "b"}, "Period": 1, "Stat": "Sum"},
                },
            ],
            "InvalidParameterValue",
        ),
        (
            [
                {
                    "Id": "m",
                    "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "a"}, "Period": 1, "Stat": "Sum"},
                    "ReturnData": False,
                },
                {
                    "Id": "n",
                    "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "b"}, "Period": 60, "Stat": "Sum"},
                },
            ],
            "InvalidParameterValue",
        ),
    ],
)
def test_metric_math_alarm_validation(cw, metrics, code):
    with pytest.raises(AwsError) as e:
        cw.put_metric_alarm(
            {
                "AlarmName": "m",
                "EvaluationPeriods": 1,
                "Threshold": 1.0,
                "ComparisonOperator": "GreaterThanThreshold",
                "Metrics": metrics,
            }
        )
    assert e.value.code == code


@pytest.mark.parametrize("period,step", [(1, 1), (5, 1), (9, 1), (10, 10), (30, 10), (60, 60), (300, 60)])
def test_cadence_follows_aws_with_local_short_periods(period, step):
    from chaoslab.services.cloudwatch.evaluator import cadence

    assert cadence(period) == step


def test_ten_second_alarm_evaluates_every_ten_seconds_on_complete_periods(cw, clock):
    a = seed_alarm(cw, Period=10, TreatMissingData="missing")
    dims = {DIMS[0]["Name"]: DIMS[0]["Value"]}
    cw.put_metric("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", dims, [9.0], "Count", clock.t + 3)
    assert cw.evaluate_due(clock.t + 5.2) == 0  # first evaluated one cadence (10 s) after creation
    assert cw.evaluate_due(clock.t + 9.2) == 0  # [t, t+10) is not complete yet either
    assert a.state == "INSUFFICIENT_DATA"
    assert cw.evaluate_due(clock.t + 10.2) == 1
    assert a.state == "ALARM"
    assert cw.evaluate_due(clock.t + 19.2) == 0
    assert cw.evaluate_due(clock.t + 20.2) == 1
