"""The ARNs a template names (role, alarms, log group, targets): shape checks that say which part is
wrong, in every AWS partition, and spot the placeholders copied templates still carry."""

from __future__ import annotations

import re

from chaoslab.services.fis.params import PARTITION, PARTITIONS

ALARM_ARN_FORM = "arn:aws:cloudwatch:<region>:<12-digit account>:alarm:<name>"
ROLE_ARN_FORM = "arn:aws:iam::<12-digit account>:role/<name>"
LOG_GROUP_ARN_FORM = "arn:aws:logs:<region>:<account>:log-group:<name>"

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_ROLE_ARN = re.compile(rf"^arn:{PARTITION}:iam::\d{{12}}:role/[\w+=,.@/-]+$")
_LOG_GROUP_ARN = re.compile(rf"^arn:{PARTITION}:logs:[a-z0-9-]+:\d{{12}}:log-group:[^:*]+(:\*)?$")
# <YOUR AWS ACCOUNT>, {{account}}, ${AccountId}, YOUR_ACCOUNT_ID, 111122223333-style is real enough.
_PLACEHOLDER = re.compile(r"<[^<>]*>|\{\{[^{}]*\}\}|\$\{[^{}]*\}|\b(?:YOUR|your)[_-][A-Za-z0-9_-]+")


def placeholder(value: str) -> str | None:
    """The first placeholder in `value` (`<YOUR AWS ACCOUNT>`, `{{account}}`, `your_region`…), if any."""
    match = _PLACEHOLDER.search(value)
    return match.group(0) if match else None


def placeholder_hint(value: str) -> str | None:
    found = placeholder(value)
    return f'"{found}" is a placeholder: replace it with the real value' if found else None


def check_role_arn(value: str) -> tuple[str, str] | None:
    """(message, hint) when `value` is not an IAM role ARN."""
    if _ROLE_ARN.match(value):
        return None
    return f'"{value}" is not an IAM role ARN', placeholder_hint(value) or f"write it as {ROLE_ARN_FORM}"


def check_log_group_arn(value: str) -> tuple[str, str] | None:
    if _LOG_GROUP_ARN.match(value):
        return None
    return f'"{value}" is not a log group ARN', placeholder_hint(value) or LOG_GROUP_ARN_FORM


def check_alarm_arn(value: str) -> tuple[str, str] | None:
    """(message, hint) when `value` is not a CloudWatch alarm ARN; names the bad part."""
    parts = value.split(":", 6)
    names = ("prefix", "partition", "service", "region", "account", "resource type", "alarm name")
    expected = {0: "arn", 2: "cloudwatch", 5: "alarm"}
    if len(parts) < 7:
        return (
            f'"{value}" is not an alarm ARN: it has {len(parts)} colon-separated parts, an alarm ARN has 7',
            placeholder_hint(value) or f"write it as {ALARM_ARN_FORM}",
        )
    problems = []
    for i, part in enumerate(parts):
        if not part.isascii():
            bad = "".join(c for c in part if not c.isascii())
            problems.append(f'the {names[i]} part "{part}" contains non-ASCII characters ({bad!r})')
        elif i in expected and part != expected[i]:
            problems.append(f'the {names[i]} part is "{part}", expected "{expected[i]}"')
        elif i == 1 and part not in PARTITIONS:
            problems.append(f'the partition part "{part}" is not a partition ({", ".join(PARTITIONS[:3])}, …)')
        elif i == 3 and not _REGION.match(part):
            problems.append(f'the region part "{part}" is not a region such as us-east-1')
        elif i == 4 and not re.fullmatch(r"\d{12}", part):
            problems.append(f'the account part "{part}" is not 12 digits')
        elif i == 6 and not part:
            problems.append("the alarm name is empty")
    if not problems:
        return None
    fixed = list(parts)
    for i, want in expected.items():
        fixed[i] = want
    if fixed[1] not in PARTITIONS:
        fixed[1] = "aws"
    suggestion = ":".join(fixed) if all(p.isascii() for p in fixed) else ALARM_ARN_FORM
    hint = placeholder_hint(value) or f"use {suggestion}"
    return f'"{value}" is not a CloudWatch alarm ARN: ' + "; ".join(problems), hint
