"""Real boto3 clients against a real gateway: each protocol's parsing, serialising and errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from chaoslab.errors import AwsError
from conftest import make_client, serve

UTC = dt.UTC
ARN = "arn:aws:fis:us-east-1:123456789012:experiment-template/EXT123abc"


class Recorder:
    """Handlers that remember what they were called with."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []

    def record(self, name: str, ctx: Any, params: dict[str, Any]) -> None:
        self.calls.append((name, ctx, params))

    def last(self, name: str) -> tuple[Any, dict[str, Any]]:
        for op, ctx, params in reversed(self.calls):
            if op == name:
                return ctx, params
        raise AssertionError(f"{name} was never called")


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def ecs_ops(rec: Recorder) -> dict[str, Any]:
    def list_clusters(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        rec.record("ListClusters", ctx, params)
        return {"clusterArns": ["arn:aws:ecs:us-east-1:123456789012:cluster/shop"], "nextToken": None}

    async def describe_clusters(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        rec.record("DescribeClusters", ctx, params)
        if "missing" in params.get("clusters", []):
            raise AwsError("ClusterNotFoundException", "Cluster not found.")
        return {
            "clusters": [
                {
                    "clusterName": c,
                    "status": "ACTIVE",
                    "runningTasksCount": 2,
                    "tags": [{"key": "team", "value": "shop"}],
                    "bogus": "dropped",
                }
                for c in params["clusters"]
            ],
            "failures": [],
        }

    def describe_services(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        rec.record("DescribeServices", ctx, params)
        return {"services": []}

    return {"ListClusters": list_clusters, "DescribeClusters": describe_clusters, "DescribeServices": describe_services}


def elbv2_ops(rec: Recorder) -> dict[str, Any]:
    def describe_load_balancers(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        rec.record("DescribeLoadBalancers", ctx, params)
        if "nope" in params.get("Names", []):
            raise AwsError("LoadBalancerNotFound", "One or more load balancers not found")
        return {
            "LoadBalancers": [
                {
                    "LoadBalancerName": "shop-alb",
                    "DNSName": "shop-alb.local",
                    "Scheme": "internet-facing",
                    "CreatedTime": dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
                    "State": {"Code": "active"},
                    "AvailabilityZones": [
                        {"ZoneName": "us-east-1a", "SubnetId": "subnet-a"},
                        {"ZoneName": "us-east-1b", "SubnetId": "subnet-b"},
                    ],
                    "SecurityGroups": ["sg-1", "sg-2"],
                }
            ],
            "NextMarker": "m2",
        }

    def add_tags(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        rec.record("AddTags", ctx, params)
        return {}

    return {"DescribeLoadBalancers": describe_load_balancers, "AddTags": add_tags}


def test_ecs_json_11_parse_serialise_and_modeled_error(lab: Any, rec: Recorder) -> None:
    with serve(lab, {"ecs": ecs_ops(rec)}) as gw:
        ecs = make_client(gw, "ecs")
        assert ecs.list_clusters(maxResults=5)["clusterArns"] == ["arn:aws:ecs:us-east-1:123456789012:cluster/shop"]
        ctx, params = rec.last("ListClusters")
        assert params == {"maxResults": 5}
        assert (ctx.service, ctx.operation, ctx.region, ctx.account_id) == (
            "ecs",
            "ListClusters",
            "us-east-1",
            "123456789012",
        )
        assert ctx.principal_arn == "arn:aws:iam::123456789012:root" and ctx.access_key == "test"
        assert len(ctx.request_id) == 36

        out = ecs.describe_clusters(clusters=["a", "b"], include=["TAGS"])
        assert [c["clusterName"] for c in out["clusters"]] == ["a", "b"]
        assert out["clusters"][0]["tags"] == [{"key": "team", "value": "shop"}]
        assert "bogus" not in out["clusters"][0]
        assert rec.last("DescribeClusters")[1] == {"clusters": ["a", "b"], "include": ["TAGS"]}

        with pytest.raises(ecs.exceptions.ClusterNotFoundException) as err:
            ecs.describe_clusters(clusters=["missing"])
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert err.value.response["Error"]["Message"] == "Cluster not found."


def test_elbv2_query_lists_nested_members_timestamps_and_error(lab: Any, rec: Recorder) -> None:
    with serve(lab, {"elbv2": elbv2_ops(rec)}) as gw:
        elb = make_client(gw, "elbv2")
        out = elb.describe_load_balancers(Names=["shop-alb", "other"], PageSize=10)
        assert rec.last("DescribeLoadBalancers")[1] == {"Names": ["shop-alb", "other"], "PageSize": 10}
        lb = out["LoadBalancers"][0]
        assert [z["SubnetId"] for z in lb["AvailabilityZones"]] == ["subnet-a", "subnet-b"]
        assert lb["SecurityGroups"] == ["sg-1", "sg-2"] and lb["State"] == {"Code": "active"}
        assert lb["CreatedTime"] == dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
        assert out["NextMarker"] == "m2"

        elb.add_tags(ResourceArns=["arn:1"], Tags=[{"Key": "a", "Value": "1"}, {"Key": "b"}])
        assert rec.last("AddTags")[1] == {"ResourceArns": ["arn:1"], "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b"}]}

        with pytest.raises(elb.exceptions.LoadBalancerNotFoundException) as err:
            elb.describe_load_balancers(Names=["nope"])
        assert err.value.response["Error"]["Type"] == "Sender"


def cloudwatch_ops(rec: Recorder) -> dict[str, Any]:
    def put_metric_data(ctx: Any, params: dict[str, Any]) -> None:
        rec.record("PutMetricData", ctx, params)

    def describe_alarms(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        rec.record("DescribeAlarms", ctx, params)
        return {
            "MetricAlarms": [
                {
                    "AlarmName": name,
                    "StateValue": "ALARM",
                    "Threshold": 5.0,
                    "EvaluationPeriods": 3,
                    "StateUpdatedTimestamp": 1767323045.5,
                    "Dimensions": [{"Name": "LoadBalancer", "Value": "app/x/1"}],
                    "ActionsEnabled": True,
                }
                for name in params.get("AlarmNames", [])
            ]
        }

    def set_alarm_state(ctx: Any, params: dict[str, Any]) -> None:
        raise AwsError("ResourceNotFound", f"Alarm {params['AlarmName']} does not exist", 404)

    return {"PutMetricData": put_metric_data, "DescribeAlarms": describe_alarms, "SetAlarmState": set_alarm_state}


def test_cloudwatch_json_10_with_query_compatible_errors(lab: Any, rec: Recorder) -> None:
    with serve(lab, {"cloudwatch": cloudwatch_ops(rec)}) as gw:
        cw = make_client(gw, "cloudwatch")
        when = dt.datetime(2026, 11, 22, 0, 0, 1, tzinfo=UTC)
        cw.put_metric_data(
            Namespace="AWS/ApplicationELB",
            MetricData=[
                {
                    "MetricName": "HTTPCode_Target_5XX_Count",
                    "Value": 3.0,
                    "Unit": "Count",
                    "Timestamp": when,
                    "Dimensions": [{"Name": "LoadBalancer", "Value": "app/x/1"}],
                    "StorageResolution": 1,
                }
            ],
        )
        ctx, params = rec.last("PutMetricData")
        assert ctx.request.headers["Content-Type"] == "application/x-amz-json-1.0"
        datum = params["MetricData"][0]
        assert datum["Timestamp"] == when and datum["Value"] == 3.0 and datum["Dimensions"][0]["Value"] == "app/x/1"

        alarms = cw.describe_alarms(AlarmNames=["a1"])["MetricAlarms"]
        assert alarms[0]["StateUpdatedTimestamp"] == dt.datetime.fromtimestamp(1767323045.5, UTC)
        assert alarms[0]["ActionsEnabled"] is True and alarms[0]["Threshold"] == 5.0

        with pytest.raises(cw.exceptions.ResourceNotFound) as err:
            cw.set_alarm_state(AlarmName="gone", StateValue="OK", StateReason="x")
        assert err.value.response["Error"]["Type"] == "Sender"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_cloudwatch_gzip_body_over_10kb(lab: Any, rec: Recorder) -> None:
    with serve(lab, {"cloudwatch": cloudwatch_ops(rec)}) as gw:
        cw = make_client(gw, "cloudwatch")
        data = [
            {
                "MetricName": f"metric-with-a-long-name-{i:04d}",
                "Value": float(i),
                "Dimensions": [{"Name": "Service", "Value": f"service-{i}"}],
            }
            for i in range(300)
        ]
        cw.put_metric_data(Namespace="Lab", MetricData=data)
        ctx, params = rec.last("PutMetricData")
        assert ctx.request.headers.get("Content-Encoding") == "gzip"
        assert int(ctx.request.headers["Content-Length"]) < len(str(data))
        assert [d["Value"] for d in params["MetricData"]] == [float(i) for i in range(300)]


def fis_ops(rec: Recorder) -> dict[str, Any]:
    template = {
        "id": "EXT123abc",
        "arn": ARN,
        "description": "stop one task",
        "creationTime": dt.datetime(2026, 1, 1, tzinfo=UTC),
        "tags": {"a": "1"},
        "stopConditions": [{"source": "none"}],
    }

    def list_templates(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        rec.record("ListExperimentTemplates", ctx, params)
        return {"experimentTemplates": [template], "nextToken": "t2"}

    def get_template(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        rec.record("GetExperimentTemplate", ctx, params)
        if params["id"] != "EXT123abc":
            raise AwsError("ResourceNotFoundException", f"Experiment template {params['id']} not found")
        return {"experimentTemplate": template}

    def tag(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        rec.record("TagResource", ctx, params)
        return {}

    def untag(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        rec.record("UntagResource", ctx, params)
        return {}

    def list_tags(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        rec.record("ListTagsForResource", ctx, params)
        return {"tags": {"a": "1"}}

    return {
        "ListExperimentTemplates": list_templates,
        "GetExperimentTemplate": get_template,
        "TagResource": tag,
        "UntagResource": untag,
        "ListTagsForResource": list_tags,
    }


def test_fis_rest_json_routes_path_params_query_and_errors(lab: Any, rec: Recorder) -> None:
    with serve(lab, {"fis": fis_ops(rec)}) as gw:
        fis = make_client(gw, "fis")
        out = fis.list_experiment_templates(maxResults=5, nextToken="a+b/c=&d")
        assert rec.last("ListExperimentTemplates")[1] == {"maxResults": 5, "nextToken": "a+b/c=&d"}
        assert out["experimentTemplates"][0]["creationTime"] == dt.datetime(2026, 1, 1, tzinfo=UTC)
        assert out["nextToken"] == "t2"

        got = fis.get_experiment_template(id="EXT123abc")["experimentTemplate"]
        assert got["stopConditions"] == [{"source": "none"}] and got["tags"] == {"a": "1"}

        fis.tag_resource(resourceArn=ARN, tags={"team": "shop", "env": "lab"})
        assert rec.last("TagResource")[1] == {"resourceArn": ARN, "tags": {"team": "shop", "env": "lab"}}
        assert "%2F" in rec.last("TagResource")[0].request.raw_path
        fis.untag_resource(resourceArn=ARN, tagKeys=["team", "env"])
        assert rec.last("UntagResource")[1] == {"resourceArn": ARN, "tagKeys": ["team", "env"]}
        assert fis.list_tags_for_resource(resourceArn=ARN)["tags"] == {"a": "1"}

        with pytest.raises(fis.exceptions.ResourceNotFoundException) as err:
            fis.get_experiment_template(id="EXTnope")
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_rds_query_member_names_and_fault_status(lab: Any, rec: Recorder) -> None:
    def describe_db_clusters(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        rec.record("DescribeDBClusters", ctx, params)
        if params.get("DBClusterIdentifier") == "gone":
            raise AwsError("DBClusterNotFoundFault", "DBCluster gone not found.")
        return {
            "DBClusters": [
                {
                    "DBClusterIdentifier": "shop-db",
                    "Status": "available",
                    "MultiAZ": True,
                    "DBClusterMembers": [
                        {"DBInstanceIdentifier": "w", "IsClusterWriter": True},
                        {"DBInstanceIdentifier": "r", "IsClusterWriter": False},
                    ],
                }
            ]
        }

    with serve(lab, {"rds": {"DescribeDBClusters": describe_db_clusters}}) as gw:
        rds = make_client(gw, "rds")
        out = rds.describe_db_clusters(Filters=[{"Name": "engine", "Values": ["aurora-postgresql"]}])
        assert rec.last("DescribeDBClusters")[1] == {"Filters": [{"Name": "engine", "Values": ["aurora-postgresql"]}]}
        members = out["DBClusters"][0]["DBClusterMembers"]
        assert [m["IsClusterWriter"] for m in members] == [True, False] and out["DBClusters"][0]["MultiAZ"] is True
        with pytest.raises(rds.exceptions.DBClusterNotFoundFault) as err:
            rds.describe_db_clusters(DBClusterIdentifier="gone")
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_ec2_protocol_input_lists_and_output_without_result_wrapper(lab: Any, rec: Recorder) -> None:
    def describe_instances(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        rec.record("DescribeInstances", ctx, params)
        if params.get("InstanceIds") == ["i-gone"]:
            raise AwsError("InvalidInstanceID.NotFound", "The instance ID 'i-gone' does not exist")
        return {
            "Reservations": [
                {
                    "ReservationId": "r-1",
                    "Instances": [
                        {
                            "InstanceId": "i-0123456789abcdef0",
                            "State": {"Code": 16, "Name": "running"},
                            "LaunchTime": dt.datetime(2026, 1, 1, tzinfo=UTC),
                            "Tags": [{"Key": "Name", "Value": "web"}],
                        }
                    ],
                }
            ]
        }

    with serve(lab, {"ec2": {"DescribeInstances": describe_instances}}) as gw:
        ec2 = make_client(gw, "ec2")
        out = ec2.describe_instances(
            InstanceIds=["i-1", "i-2"], Filters=[{"Name": "tag:Name", "Values": ["web", "api"]}]
        )
        assert rec.last("DescribeInstances")[1] == {
            "InstanceIds": ["i-1", "i-2"],
            "Filters": [{"Name": "tag:Name", "Values": ["web", "api"]}],
        }
        inst = out["Reservations"][0]["Instances"][0]
        assert inst["State"] == {"Code": 16, "Name": "running"} and inst["Tags"] == [{"Key": "Name", "Value": "web"}]
        assert inst["LaunchTime"] == dt.datetime(2026, 1, 1, tzinfo=UTC)
        with pytest.raises(Exception) as err:
            ec2.describe_instances(InstanceIds=["i-gone"])
        assert err.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"


def test_unimplemented_operation_and_handler_crash(lab: Any, rec: Recorder, caplog: Any) -> None:
    def crash(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("secret internal detail")

    with serve(lab, {"ecs": {"ListClusters": crash}, "elbv2": {}}) as gw:
        ecs = make_client(gw, "ecs")
        with pytest.raises(Exception) as err:
            ecs.list_services()
        assert err.value.response["Error"]["Code"] == "UnknownOperationException"
        assert "ListServices" in err.value.response["Error"]["Message"]
        assert "not implemented" in err.value.response["Error"]["Message"]

        elb = make_client(gw, "elbv2")
        with pytest.raises(Exception) as err:
            elb.describe_target_groups()
        assert err.value.response["Error"]["Code"] == "InvalidAction"

        with pytest.raises(Exception) as err:
            ecs.list_clusters()
        assert err.value.response["Error"]["Code"] == "InternalFailure"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert "secret internal detail" not in str(err.value.response)
    assert "secret internal detail" in caplog.text


def test_request_hooks_inject_errors_sync_and_async(lab: Any, rec: Recorder) -> None:
    with serve(lab, {"ecs": ecs_ops(rec)}) as gw:
        ecs = make_client(gw, "ecs")
        seen: list[tuple[str, str]] = []

        async def throttle(ctx: Any, service: str, operation: str) -> AwsError | None:
            seen.append((service, operation))
            return AwsError("ThrottlingException", "Rate exceeded") if operation == "ListClusters" else None

        remove = gw.add_request_hook(throttle)
        with pytest.raises(Exception) as err:
            ecs.list_clusters()
        assert err.value.response["Error"]["Code"] == "ThrottlingException"
        ecs.describe_clusters(clusters=["a"])
        assert ("ecs", "ListClusters") in seen and seen[-1] == ("ecs", "DescribeClusters")
        remove()
        gw.add_request_hook(lambda ctx, service, operation: None)
        assert ecs.list_clusters()["clusterArns"]
