"""Input EC2 documents but its model does not carry: a tag needs a key (1-128 characters, not
`aws:`) and a value of at most 256, a filter needs a name. Each was a 500 before."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.errors import AwsError
from chaoslab.events import EventLog
from chaoslab.runtime.kinds.fake import FakeRuntime
from chaoslab.services.ec2.api import OPERATIONS
from chaoslab.services.ec2.backend import Ec2Backend


@pytest.fixture
def ctx(tmp_path: Path) -> SimpleNamespace:
    lab = SimpleNamespace(clock=LabClock(), config=LabConfig(home=tmp_path), events=EventLog())
    lab.ec2 = Ec2Backend(lab, FakeRuntime())
    return SimpleNamespace(lab=lab, account_id="123456789012", region="us-east-1")


@pytest.mark.parametrize(
    "operation, params",
    [
        ("CreateTags", {"Resources": ["i-1"], "Tags": [{"Value": "v"}]}),
        ("CreateTags", {"Resources": ["i-1"], "Tags": [{"Key": "k" * 129, "Value": "v"}]}),
        ("CreateTags", {"Resources": ["i-1"], "Tags": [{"Key": "aws:owner", "Value": "v"}]}),
        ("CreateTags", {"Resources": ["i-1"], "Tags": [{"Key": "k", "Value": "v" * 257}]}),
        ("DeleteTags", {"Resources": ["i-1"], "Tags": [{"Value": "v"}]}),
        ("DescribeSubnets", {"Filters": [{"Values": ["x"]}]}),
    ],
)
def test_refused_as_invalid_parameter_value(ctx: SimpleNamespace, operation: str, params: dict) -> None:
    with pytest.raises(AwsError) as err:
        OPERATIONS[operation](ctx, params)
    assert err.value.code == "InvalidParameterValue"
