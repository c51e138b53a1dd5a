"""The wire layer's bounds, piece by piece: each refuses hostile input fast and with a
ValueError/AwsError the gateway turns into the service's error, never a 500 or a stall."""

from __future__ import annotations

import gzip
import time
import xml.etree.ElementTree as ET

import pytest

from chaoslab.aws import limits, models, safejson
from chaoslab.aws.body import inflate
from chaoslab.aws.offload import is_heavy_output
from chaoslab.aws.protocols.base import parse_form, scalar_from_text, to_datetime
from chaoslab.aws.protocols.json import from_json
from chaoslab.aws.protocols.xmltext import xml_text
from chaoslab.errors import AwsError


def _shape(service: str, operation: str, *path: str):
    shape = models.service(service).operation(operation).input_shape
    for name in path:
        shape = shape.members[name]
    return shape


def test_a_gzip_bomb_stops_at_the_inflated_limit_without_inflating_the_rest() -> None:
    member = gzip.compress(b"\0" * (64 * 1024 * 1024))
    bomb = member * 16  # 1 GiB of zeros in about 1 MiB
    start = time.perf_counter()
    with pytest.raises(AwsError) as err:
        inflate(bomb)
    assert err.value.status == 413 and err.value.code == "RequestEntityTooLarge"
    assert time.perf_counter() - start < 1.0


def test_gzip_members_concatenate_and_broken_gzip_is_a_value_error() -> None:
    assert inflate(gzip.compress(b"ab") + gzip.compress(b"cd")) == b"abcd"
    with pytest.raises(ValueError, match="not valid gzip"):
        inflate(b"not gzip at all")
    with pytest.raises(ValueError, match="truncated"):
        inflate(gzip.compress(b"x" * 1000)[:-12])


def test_inflating_exactly_the_limit_is_fine() -> None:
    assert len(inflate(gzip.compress(b"z" * limits.MAX_INFLATED))) == limits.MAX_INFLATED


def test_form_limits_refuse_before_per_key_work() -> None:
    start = time.perf_counter()
    with pytest.raises(ValueError, match="parts"):
        parse_form(".".join(["a"] * 32_000) + "=1")
    with pytest.raises(ValueError, match="more than"):
        parse_form("&".join(f"k{i}=v" for i in range(limits.MAX_QUERY_KEYS + 1)))
    assert time.perf_counter() - start < 1.0
    with pytest.raises(ValueError, match="not UTF-8"):
        parse_form("Filter.1.Name=%ED%A0%80")
    assert parse_form("A.member.1=x&B=") == [("A.member.1", "x"), ("B", "")]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("[" * 1000 + "]" * 1000, "nested"),
        ("[" * 65 + "]" * 65, "nested"),
        ('{"v": NaN}', "NaN"),
        ('{"v": -Infinity}', "Infinity"),
        ('{"v": 1e400}', "finite"),
    ],
)
def test_client_json_is_bounded_and_finite(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        safejson.loads(text)


def test_json_at_the_depth_limit_parses() -> None:
    depth = limits.MAX_JSON_DEPTH
    assert safejson.loads("[" * depth + "]" * depth) is not None


@pytest.mark.parametrize("value", [1e20, -1e20, float("nan"), "1e20", "99999-01-01"])
def test_timestamps_outside_a_datetime_are_value_errors(value: object) -> None:
    with pytest.raises(ValueError):
        to_datetime(value)


def test_integers_fit_their_java_type_and_floats_are_finite() -> None:
    port = _shape("elbv2", "CreateListener", "Port")
    assert scalar_from_text("443", port) == 443
    for bad in ("2147483648", "1_000", " 5", "0x10", "9" * 5000):
        with pytest.raises(ValueError):
            scalar_from_text(bad, port)
    value = _shape("cloudwatch", "PutMetricAlarm", "Threshold")
    for bad in ("nan", "inf", "-Infinity"):
        with pytest.raises(ValueError):
            scalar_from_text(bad, value)
    with pytest.raises(ValueError):
        from_json(_shape("logs", "DescribeLogGroups"), {"limit": 2**40})


def test_xml_text_is_always_well_formed() -> None:
    text = "a\x1bb\x00c\ud800d\ufffe<&>\r\n\tok"
    doc = ET.fromstring(f"<m>{xml_text(text)}</m>".encode())
    assert doc.text == "a\ufffdb\ufffdc\ufffdd\ufffd<&>\r\n\tok"


def test_heavy_output_is_detected_within_its_budget() -> None:
    assert not is_heavy_output({"Items": [{"a": 1}] * 10})
    assert is_heavy_output({"Items": [{"a": 1}] * 1000})
    assert is_heavy_output({"Items": list(range(10**6))})
