"""Model-driven calls against a lab: every implemented operation of every emulated service, with
inputs from `InputFuzzer`, sent by botocore clients with client-side validation off, and each raw
response checked by `response_problem` before botocore parses it."""

from __future__ import annotations

import importlib
import random
import re
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from fuzz_checks import response_problem
from fuzz_values import InputFuzzer

from chaoslab.aws import limits

# The lab's service packages, each with the name botocore gives its model.
SERVICES = {
    "ec2": "ec2",
    "autoscaling": "autoscaling",
    "ecs": "ecs",
    "elbv2": "elbv2",
    "cloudwatch": "cloudwatch",
    "logs": "logs",
    "rds": "rds",
    "iam": "iam",
    "sts": "sts",
    "ssm": "ssm",
    "fis": "fis",
    "servicediscovery": "servicediscovery",
    "applicationautoscaling": "application-autoscaling",
}
# Valid calls of these start real processes (PostgreSQL servers, tasks, instances): fuzzed with
# inputs that always break a constraint.
COSTLY = {
    ("rds", "CreateDBCluster"),
    ("rds", "CreateDBInstance"),
    ("ecs", "RunTask"),
    ("ecs", "CreateService"),
    ("ecs", "UpdateService"),
    ("autoscaling", "CreateAutoScalingGroup"),
    ("autoscaling", "SetDesiredCapacity"),
    ("autoscaling", "UpdateAutoScalingGroup"),
    ("fis", "StartExperiment"),
    ("ssm", "SendCommand"),
}
_HARVEST = re.compile(r"^(arn:aws:[^\s]{10,200}|[a-z]{1,4}-[0-9a-f]{8,17})$")


def implemented() -> list[tuple[str, str]]:
    """(service, operation) for every operation the lab implements."""
    out = []
    for package, service in SERVICES.items():
        ops = importlib.import_module(f"chaoslab.services.{package}.api").OPERATIONS
        out += [(service, op) for op in sorted(ops)]
    return out


@dataclass
class Outcome:
    service: str
    operation: str
    sent: bool
    status: int = 0
    code: str = ""
    problem: str | None = None


@dataclass
class ModelFuzzer:
    endpoint: str
    rng: random.Random
    harvested: list[str] = field(default_factory=list)
    _clients: dict[str, Any] = field(default_factory=dict)
    _last: dict[str, Any] = field(default_factory=dict)
    _sent_bytes: int = 0

    def client(self, service: str) -> Any:
        if service not in self._clients:
            session = botocore.session.get_session()
            client = session.create_client(
                service,
                endpoint_url=self.endpoint,
                region_name="us-east-1",
                aws_access_key_id="test",
                aws_secret_access_key="test",
                config=Config(
                    parameter_validation=False,
                    retries={"total_max_attempts": 1},
                    connect_timeout=5,
                    read_timeout=60,
                    request_min_compression_size_bytes=10_240,
                    inject_host_prefix=False,  # DiscoverInstances: the lab answers on its one address
                ),
            )
            client.meta.events.register("before-parse", self._capture)
            client.meta.events.register("before-send", self._measure)
            self._clients[service] = client
        return self._clients[service]

    def _capture(self, operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        self._last = {
            "protocol": operation_model.service_model.resolved_protocol,
            "status": response_dict["status_code"],
            "headers": dict(response_dict["headers"]),
            "body": response_dict["body"],
            "shape": operation_model.output_shape,
        }

    def _measure(self, request: Any, **_: Any) -> None:
        body = request.body
        self._sent_bytes = len(body) if isinstance(body, (bytes, str)) else 0

    def call(self, service: str, operation: str) -> Outcome:
        client = self.client(service)
        op_model = client.meta.service_model.operation_model(operation)
        params = InputFuzzer(self.rng, self.harvested).operation_input(
            op_model.input_shape, broken=(service, operation) in COSTLY
        )
        self._last = {}
        self._sent_bytes = 0
        outcome = Outcome(service, operation, sent=False)
        try:
            result = getattr(client, xform_name(operation))(**params)
        except ClientError as exc:
            outcome.code = exc.response.get("Error", {}).get("Code", "")
        except (ReadTimeoutError, ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError) as exc:
            outcome.sent = True
            if self._sent_bytes <= limits.MAX_BODY:  # a bigger body may be cut off after its 413
                outcome.problem = f"no answer: {exc}"
            return outcome
        except Exception as exc:  # botocore's serialiser refuses some wrong-typed params
            if not self._last:
                return outcome  # nothing was sent
            outcome.problem = f"botocore failed on the response: {exc!r}"
        else:
            if operation.startswith(("Create", "Register")):
                self._harvest(result)
        if not self._last:
            return outcome
        outcome.sent, outcome.status = True, self._last["status"]
        outcome.problem = outcome.problem or response_problem(
            self._last["protocol"], self._last["status"], self._last["headers"], self._last["body"], self._last["shape"]
        )
        return outcome

    def _harvest(self, value: Any) -> None:
        """Ids and ARNs of resources the fuzzer made, so later calls reach real handler paths
        (never the fuzz stack's own resources, which the ALB measurement needs)."""
        stack = [value]
        while stack and len(self.harvested) < 500:
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, str) and _HARVEST.match(item) and "fuzz" not in item:
                self.harvested.append(item)
