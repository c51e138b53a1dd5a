"""Cloud Map's DNS rules (services/servicediscovery/records.py): the record sets a service may
ask for, the attributes an instance needs for them, and Route 53's answers.
https://docs.aws.amazon.com/cloud-map/latest/api/API_DnsConfig.html
https://docs.aws.amazon.com/cloud-map/latest/api/API_RegisterInstance.html"""

from __future__ import annotations

import random

import pytest

from chaoslab.errors import AwsError
from chaoslab.services.servicediscovery import records
from chaoslab.services.servicediscovery.records import Answer, Endpoint

A_SRV = [{"Type": "A", "TTL": 10}, {"Type": "SRV", "TTL": 20}]


def _ep(n: int, healthy: bool = True) -> Endpoint:
    return Endpoint(f"task{n}", {"AWS_INSTANCE_IPV4": f"10.0.10.{n}", "AWS_INSTANCE_PORT": "8080"}, healthy)


@pytest.mark.parametrize(
    "dns_records, policy, problem",
    [
        ([], "MULTIVALUE", "at least one"),
        ([{"Type": "A", "TTL": 5}, {"Type": "A", "TTL": 6}], "MULTIVALUE", "more than once"),
        ([{"Type": "CNAME", "TTL": 5}], "MULTIVALUE", "WEIGHTED"),
        ([{"Type": "CNAME", "TTL": 5}, {"Type": "A", "TTL": 5}], "WEIGHTED", "only record"),
        ([{"Type": "A", "TTL": 5}], "LATENCY", "not valid"),
    ],
)
def test_dns_configs_cloud_map_refuses(dns_records: list[dict], policy: str, problem: str) -> None:
    with pytest.raises(AwsError, match=problem) as err:
        records.check_dns_config(dns_records, policy)
    assert err.value.code == "InvalidInput"


def test_dns_configs_cloud_map_accepts() -> None:
    records.check_dns_config(A_SRV, "MULTIVALUE")
    records.check_dns_config([{"Type": "CNAME", "TTL": 5}], "WEIGHTED")


@pytest.mark.parametrize(
    "types, attributes, missing",
    [
        (["A"], {"AWS_INSTANCE_PORT": "80"}, "AWS_INSTANCE_IPV4"),
        (["A", "SRV"], {"AWS_INSTANCE_IPV4": "10.0.0.9"}, "AWS_INSTANCE_PORT"),
        (["A", "SRV"], {"AWS_INSTANCE_IPV4": "10.0.0.9", "AWS_INSTANCE_PORT": "http"}, "port number"),
        (["A"], {"AWS_INSTANCE_IPV4": "10.0.0.9", "AWS_INIT_HEALTH_STATUS": "MAYBE"}, "HEALTHY or UNHEALTHY"),
    ],
)
def test_an_instance_needs_the_attributes_of_its_records(types: list[str], attributes: dict, missing: str) -> None:
    with pytest.raises(AwsError, match=missing):
        records.check_attributes(types, attributes)


def test_a_and_srv_answers_name_every_healthy_instance_with_the_record_ttl() -> None:
    eps = [_ep(1), _ep(2), _ep(3, healthy=False)]
    a = records.answers("web.lab.local", "A", "web.lab.local", A_SRV, "MULTIVALUE", eps)
    assert a == [Answer("A", 10, "10.0.10.1"), Answer("A", 10, "10.0.10.2")]
    srv = records.answers("web.lab.local", "SRV", "web.lab.local", A_SRV, "MULTIVALUE", eps)
    assert srv == [Answer("SRV", 20, "1 1 8080 task1.web.lab.local"), Answer("SRV", 20, "1 1 8080 task2.web.lab.local")]


def test_an_srv_target_resolves_to_its_instance() -> None:
    found = records.answers("task2.web.lab.local", "A", "web.lab.local", A_SRV, "MULTIVALUE", [_ep(1), _ep(2)])
    assert found == [Answer("A", 10, "10.0.10.2")]
    assert records.answers("task9.web.lab.local", "A", "web.lab.local", A_SRV, "MULTIVALUE", [_ep(1)]) is None


def test_a_type_the_service_lacks_is_an_empty_answer_and_another_name_none() -> None:
    only_a = [{"Type": "A", "TTL": 10}]
    assert records.answers("web.lab.local", "SRV", "web.lab.local", only_a, "MULTIVALUE", [_ep(1)]) == []
    assert records.answers("db.lab.local", "A", "web.lab.local", only_a, "MULTIVALUE", [_ep(1)]) is None


def test_multivalue_answers_at_most_eight_and_unhealthy_ones_only_when_none_is_healthy() -> None:
    many = [_ep(n) for n in range(1, 12)]
    assert len(records.chosen(many, "MULTIVALUE")) == 8
    sick = [_ep(1, healthy=False), _ep(2, healthy=False)]
    assert [e.instance_id for e in records.chosen(sick, "MULTIVALUE")] == ["task1", "task2"]
    assert records.chosen([], "MULTIVALUE") == []


def test_weighted_answers_one_healthy_instance() -> None:
    eps = [_ep(1), _ep(2, healthy=False), _ep(3)]
    picks = {records.chosen(eps, "WEIGHTED", random.Random(seed))[0].instance_id for seed in range(20)}
    assert picks == {"task1", "task3"}
