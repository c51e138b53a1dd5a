"""Hand-made hostile HTTP that botocore would never send: compression bombs, quadratic form keys,
deep JSON, bad UTF-8, broken request lines, oversized heads and bodies, unknown services, control
characters stored and echoed. Each case says what protocol its answer must be in and how fast it
must come back."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from fuzz_checks import response_problem

JSON11 = "application/x-amz-json-1.1"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


@dataclass
class RawCase:
    name: str
    request: Callable[[str, int], bytes]  # (host, port) -> the bytes to send
    protocol: str  # the protocol the answer must be in (query covers the generic XML error)
    statuses: tuple[int, ...]
    max_seconds: float = 5.0


def http_bytes(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    if body and "Content-Length" not in headers and "Transfer-Encoding" not in headers:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode("latin-1") + b"\r\n" + body


def signed(service: str, method: str, path: str, headers: dict[str, str], body: bytes) -> Callable[[str, int], bytes]:
    """A request SigV4-signed with the lab's default key, as botocore signs."""

    def build(host: str, port: int) -> bytes:
        req = AWSRequest(
            method=method, url=f"http://{host}:{port}{path}", data=body, headers={"Host": f"{host}:{port}", **headers}
        )
        SigV4Auth(Credentials("test", "test"), service, "us-east-1").add_auth(req)
        return http_bytes(method, path, dict(req.headers.items()), body)

    return build


def unsigned(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Callable[[str, int], bytes]:
    return lambda host, port: http_bytes(method, path, {"Host": f"{host}:{port}", **headers}, body)


def _bomb() -> bytes:
    """About 1 MiB of gzip that inflates to 1 GiB of zeros."""
    out = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    return out * 16  # 16 concatenated members: 1 GiB


def _json(target: str) -> dict[str, str]:
    return {"Content-Type": JSON11, "X-Amz-Target": target}


def cases() -> list[RawCase]:
    bomb = _bomb()
    deep_json = b'{"clusters": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    deep_policy = "[" * 1000 + "]" * 1000
    dots = ".".join(["a"] * 32_000)
    many_keys = "&".join(f"k{i}=v" for i in range(25_000))
    form = {"Content-Type": FORM}
    return [
        RawCase(
            "unsigned gzip bomb", unsigned("POST", "/", {**form, "Content-Encoding": "gzip"}, bomb), "query", (403,)
        ),
        RawCase(
            "signed gzip bomb",
            signed("monitoring", "POST", "/", {**form, "Content-Encoding": "gzip"}, bomb),
            "query",
            (413,),
        ),
        RawCase(
            "signed invalid gzip",
            signed(
                "ecs",
                "POST",
                "/",
                {**_json("AmazonEC2ContainerServiceV20141113.ListClusters"), "Content-Encoding": "gzip"},
                b"not gzip",
            ),
            "json",
            (400,),
        ),
        RawCase(
            "32,000-part form key",
            signed(
                "elasticloadbalancing",
                "POST",
                "/",
                form,
                f"Action=DescribeLoadBalancers&Version=2015-12-01&{dots}=1".encode(),
            ),
            "query",
            (400,),
        ),
        RawCase(
            "25,000 form keys",
            signed(
                "elasticloadbalancing",
                "POST",
                "/",
                form,
                f"Action=DescribeLoadBalancers&Version=2015-12-01&{many_keys}".encode(),
            ),
            "query",
            (400,),
        ),
        RawCase(
            "unsigned invalid UTF-8 form",
            unsigned("POST", "/", form, b"Action=DescribeVpcs&Version=2016-11-15&x=\xff\xfe"),
            "ec2",
            (403,),
        ),
        RawCase(
            "signed invalid UTF-8 form",
            signed("ec2", "POST", "/", form, b"Action=DescribeVpcs&Version=2016-11-15&x=\xff\xfe"),
            "ec2",
            (400,),
        ),
        RawCase(
            "signed percent-encoded invalid UTF-8",
            signed("ec2", "POST", "/", form, b"Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=%ED%A0%80"),
            "ec2",
            (400,),
        ),
        RawCase(
            "JSON 1,000 deep",
            signed("ecs", "POST", "/", _json("AmazonEC2ContainerServiceV20141113.DescribeClusters"), deep_json),
            "json",
            (400,),
        ),
        RawCase(
            "JSON NaN",
            signed(
                "monitoring",
                "POST",
                "/",
                {
                    "Content-Type": "application/x-amz-json-1.0",
                    "X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData",
                },
                b'{"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": NaN}]}',
            ),
            "json",
            (400,),
        ),
        RawCase(
            "IAM policy 1,000 deep",
            signed(
                "iam",
                "POST",
                "/",
                form,
                ("Action=CreatePolicy&Version=2010-05-08&PolicyName=deep&PolicyDocument=" + deep_policy).encode(),
            ),
            "query",
            (400,),
        ),
        RawCase(
            "metric math 5,000 parentheses",
            signed(
                "monitoring",
                "POST",
                "/",
                {
                    "Content-Type": "application/x-amz-json-1.0",
                    "X-Amz-Target": "GraniteServiceVersion20100801.GetMetricData",
                },
                json.dumps(
                    {
                        "StartTime": time.time() - 600,
                        "EndTime": time.time(),
                        "MetricDataQueries": [{"Id": "e1", "Expression": "(" * 5000 + "1" + ")" * 5000}],
                    }
                ).encode(),
            ),
            "json",
            (400,),
        ),
        RawCase(
            "metric math 600 parentheses",
            signed(
                "monitoring",
                "POST",
                "/",
                {
                    "Content-Type": "application/x-amz-json-1.0",
                    "X-Amz-Target": "GraniteServiceVersion20100801.GetMetricData",
                },
                json.dumps(
                    {
                        "StartTime": time.time() - 600,
                        "EndTime": time.time(),
                        "MetricDataQueries": [{"Id": "e1", "Expression": "(" * 600 + "1" + ")" * 600}],
                    }
                ).encode(),
            ),
            "json",
            (400,),
        ),
        RawCase(
            "PutMetricData of 120,000 values (valid, the largest AWS allows is 150,000)",
            signed(
                "monitoring",
                "POST",
                "/",
                {
                    "Content-Type": "application/x-amz-json-1.0",
                    "X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData",
                },
                json.dumps(
                    {
                        "Namespace": "fuzz/bulk",
                        "MetricData": [
                            {"MetricName": f"m{i}", "Values": [float(j) for j in range(150)], "Counts": [1.0] * 150}
                            for i in range(800)
                        ],
                    }
                ).encode(),
            ),
            "json",
            (200,),
            max_seconds=15.0,
        ),
        RawCase(
            "timestamp 1e20",
            signed(
                "monitoring",
                "POST",
                "/",
                {
                    "Content-Type": "application/x-amz-json-1.0",
                    "X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData",
                },
                b'{"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": 1, "Timestamp": 1e20}]}',
            ),
            "json",
            (400,),
        ),
        RawCase(
            "8 KB id in a FIS path",
            signed("fis", "GET", "/experimentTemplates/" + "a" * 8192, {}, b""),
            "rest-json",
            (400,),
        ),
        RawCase("200 KB URL", unsigned("GET", "/?" + "a" * 200_000, {}), "query", (400,)),
        RawCase("20 KB header", unsigned("GET", "/", {"X-Big": "b" * 20_000}), "query", (400,)),
        RawCase("200 headers", unsigned("GET", "/", {f"X-H{i}": "v" for i in range(200)}), "query", (400,)),
        RawCase(
            "10 GB Content-Length",
            signed(
                "ecs",
                "POST",
                "/",
                {**_json("AmazonEC2ContainerServiceV20141113.ListClusters"), "Content-Length": str(10**10)},
                b"{}",
            ),
            "json",
            (413,),
        ),
        RawCase("garbage request line", lambda host, port: b"\x16\x03\x01GARBAGE\r\n\r\n", "query", (400,)),
        RawCase("bad method", lambda host, port: b"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n", "query", (400,)),
        RawCase("unknown service", signed("s3", "GET", "/", {}, b""), "query", (404,)),
        RawCase("unsigned, no service", unsigned("GET", "/nothing", {}), "query", (403,)),
        RawCase(
            "classic ELB",
            signed("elasticloadbalancing", "POST", "/", form, b"Action=DescribeLoadBalancers&Version=2012-06-01"),
            "query",
            (404,),
        ),
    ]


def send(host: str, port: int, data: bytes, timeout: float = 30.0) -> tuple[int, dict[str, str], bytes, float]:
    """Send `data` on a fresh connection; (status, headers, body, seconds)."""
    start = time.perf_counter()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early and closed; read what it said
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        body = resp.read()
        return resp.status, dict(resp.getheaders()), body, time.perf_counter() - start


def run_case(case: RawCase, host: str, port: int) -> str | None:
    """Why the lab's answer to `case` is wrong, or None."""
    try:
        status, headers, body, seconds = send(host, port, case.request(host, port))
    except (OSError, http.client.HTTPException) as exc:
        return f"{case.name}: no HTTP answer ({exc!r})"
    if status not in case.statuses:
        return f"{case.name}: HTTP {status}, expected {case.statuses}: {body[:300]!r}"
    if seconds > case.max_seconds:
        return f"{case.name}: answered in {seconds:.1f} s (bound {case.max_seconds} s)"
    problem = response_problem(case.protocol, status, headers, body)
    return f"{case.name}: {problem}" if problem else None


def stored_control_character(ec2_client: object) -> str | None:
    """A tag value with ESC must be refused, and DescribeInstances must stay parseable."""
    from botocore.exceptions import ClientError

    vpc = ec2_client.describe_vpcs()["Vpcs"][0]["VpcId"]
    try:
        ec2_client.create_tags(Resources=[vpc], Tags=[{"Key": "k", "Value": "a\x1bb"}])
        return "CreateTags accepted a control character"
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "InvalidParameterValue":
            return f"CreateTags with ESC answered {exc.response['Error']['Code']}"
    ec2_client.describe_instances()
    return None


def half_sent_is_closed(host: str, port: int, within: float) -> str | None:
    """A request head that never completes is closed by the lab within `within` seconds."""
    start = time.monotonic()
    with socket.create_connection((host, port), timeout=within + 10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Ty")
        try:
            data = sock.recv(1024)
        except OSError:
            data = b""
        elapsed = time.monotonic() - start
    if elapsed > within:
        return f"a half-sent request head was still open after {elapsed:.0f} s (bound {within:.0f} s)"
    return (
        None if not data or data.startswith(b"HTTP/1.1 4") else f"unexpected answer to a half-sent head: {data[:100]!r}"
    )
