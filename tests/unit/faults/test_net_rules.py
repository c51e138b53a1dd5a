"""Pure logic of the network faults: rule sets, sources, the proxy's delay filter, API errors."""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace

import pytest

from chaoslab.faults import api_errors
from chaoslab.faults import network as net
from chaoslab.faults import network_rules as rules
from chaoslab.faults.base import NetworkFaultError
from chaoslab.faults.network_delayproxy import Delay
from chaoslab.faults.network_iptables import SINK_MARK, RuleSet
from chaoslab.net.tcpproxy import Direction


def flat(rule_set: RuleSet) -> list[str]:
    return [" ".join([c.table, c.hook, c.name, *c.jump_match, "|", *r]) for c in rule_set.chains for r in c.rules]


def test_blackhole_drops_arrivals_and_sinks_departures() -> None:
    ingress = rules.blackhole("ns", "t", 80, "tcp", "ingress")
    assert flat(ingress) == ["filter INPUT CLBH-t | -p tcp --dport 80 -j DROP"]
    egress = rules.blackhole("ns", "t", 53, "udp", "egress")
    assert flat(egress) == [f"mangle OUTPUT CLBH-t | -p udp --dport 53 -j MARK --set-xmark {SINK_MARK}"]
    assert egress.uses_sink and not ingress.uses_sink


def test_packet_loss_all_flows_has_no_flow_picking() -> None:
    lines = flat(rules.packet_loss("ns", "t", 7, 100, None))
    assert "filter  CLPL-t-in | -m statistic --mode random --probability 0.070000 -j DROP" in lines
    assert not any("CONNMARK" in line for line in lines)
    assert "filter INPUT CLPL-t-I -i eth0 | -j CLPL-t-in" in lines
    assert "mangle OUTPUT CLPL-t-O -o eth0 | -j CLPL-t-out" in lines


def test_packet_loss_picks_flows_once_and_filters_sources() -> None:
    rule_set = rules.packet_loss("ns", "t", 100, 25, ["10.0.0.2/32", "10.0.11.0/24"])
    lines = flat(rule_set)
    assert (
        sum("--ctstate NEW -m statistic --mode random --probability 0.250000 -j CONNMARK" in item for item in lines)
        == 2
    )
    assert any(item.endswith(f"-j MARK --set-xmark {SINK_MARK}") and "statistic" not in item for item in lines)  # 100 %
    assert "filter INPUT CLPL-t-I -i eth0 | -s 10.0.11.0/24 -j CLPL-t-in" in lines
    assert "mangle OUTPUT CLPL-t-O -o eth0 | -d 10.0.0.2/32 -j CLPL-t-out" in lines
    assert RuleSet.from_record(json.loads(json.dumps(rule_set.to_record()))) == rule_set


def test_latency_redirect_excludes_the_proxy_and_picks_flows_in_nat() -> None:
    lines = flat(rules.latency_redirect("ns", "t", 50, ["10.0.0.2/32"], [80, 8080], 15101, 15102))
    assert (
        f"nat OUTPUT CLLT-t-O -p tcp ! -o lo -m mark ! --mark {rules.PROXY_MARK} | -p tcp --syn -d 10.0.0.2/32 "
        "-m statistic --mode random --probability 0.500000 -j REDIRECT --to-ports 15101"
    ) in lines
    assert sum("REDIRECT --to-ports 15102" in item and "-s 10.0.0.2/32" in item for item in lines) == 2
    # a flow open before the fault, picked up mid-stream by conntrack, is never redirected
    assert all("--syn" in item for item in lines if "REDIRECT" in item)
    no_ingress = rules.latency_redirect("ns", "t", 100, None, [], 15101, 15102)
    assert [c.hook for c in no_ingress.chains] == ["OUTPUT"]


def fake_lab() -> SimpleNamespace:
    subnets = [
        {"CidrBlock": "10.5.10.0/24", "AvailabilityZone": "us-east-1a", "AvailabilityZoneId": "use1-az1"},
        {"CidrBlock": "10.5.11.0/24", "AvailabilityZone": "us-east-1b", "AvailabilityZoneId": "use1-az2"},
    ]
    return SimpleNamespace(
        ec2=SimpleNamespace(
            describe_subnet_records=lambda: subnets, extra_hosts={"db.cluster-x.rds.amazonaws.com": "10.5.0.2"}
        )
    )


def test_sources() -> None:
    lab = fake_lab()
    assert net.resolve_sources(lab, None) is None and net.resolve_sources(lab, "ALL") is None
    assert net.resolve_sources(lab, "10.5.0.2,us-east-1b,use1-az1,db.cluster-x.rds.amazonaws.com") == [
        "10.5.0.2/32",
        "10.5.11.0/24",
        "10.5.10.0/24",
        "10.5.0.2/32",
    ]
    for bad in ("S3", "example.com"):
        with pytest.raises(NetworkFaultError):
            net.resolve_sources(lab, bad)


def test_delay_holds_its_direction_only_within_the_jitter_bounds() -> None:
    d = Delay(100, 30, "upstream")
    assert all(0.07 <= d.hold() <= 0.13 for _ in range(500))
    assert Delay(0, 0, "upstream").hold() == 0.0

    async def held(direction: Direction, read_ago: float) -> tuple[bytes, float]:
        t0 = time.monotonic()
        out = await d(None, direction, b"x", t0 - read_ago)
        return out, time.monotonic() - t0

    data, waited = asyncio.run(held("upstream", 0.0))
    assert data == b"x" and 0.07 <= waited < 0.3
    assert asyncio.run(held("downstream", 0.0))[1] < 0.02  # the other direction passes at once
    assert asyncio.run(held("upstream", 1.0))[1] < 0.02  # held in the queue long enough already


def test_api_errors_per_protocol() -> None:
    assert (api_errors.error_for("internal", "ec2").code, api_errors.error_for("internal", "ec2").status) == (
        "InternalError",
        500,
    )
    assert api_errors.error_for("throttle", "ec2").code == "RequestLimitExceeded"
    assert (api_errors.error_for("throttle", "query").code, api_errors.error_for("throttle", "query").status) == (
        "Throttling",
        400,
    )
    assert api_errors.error_for("throttle", "json").code == "ThrottlingException"
    assert api_errors.error_for("unavailable", "json").status == 503


def test_api_fault_matches_only_the_role_service_and_operations() -> None:
    fault = api_errors.ApiErrorRule(
        "internal", "ec2", frozenset({"DescribeInstances"}), 100, frozenset({"app"}), "123456789012"
    )
    session = "arn:aws:sts::123456789012:assumed-role/app/s1"
    assert fault.matches(session, "ec2", "DescribeInstances")
    assert not fault.matches(session, "ec2", "DescribeVpcs")
    assert not fault.matches(session, "ecs", "DescribeInstances")
    assert not fault.matches("arn:aws:sts::123456789012:assumed-role/other/s1", "ec2", "DescribeInstances")
    assert not fault.matches("arn:aws:iam::123456789012:user/app", "ec2", "DescribeInstances")
    assert not fault.matches("arn:aws:sts::999999999999:assumed-role/app/s1", "ec2", "DescribeInstances")
    assert api_errors.role_name("arn:aws:iam::123456789012:role/path/app") == "app"
