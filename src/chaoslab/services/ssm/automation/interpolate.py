"""`{{ name }}` references in runbook inputs, resolved as Automation resolves them.

A string that is nothing but one reference takes the referenced value as it is (a StringList
stays a list, an Integer a number); a reference inside longer text is replaced by its text.
Names are parameters (`InstanceId`), step outputs (`describe.InstanceId`) and the built-ins
(`automation:EXECUTION_ID`, `global:REGION`, `global:ACCOUNT_ID`).
"""

from __future__ import annotations

import json
import re
from typing import Any

_REF = re.compile(r"\{\{\s*([A-Za-z0-9_:.\-]+)\s*\}\}")


class InterpolationError(ValueError):
    """A reference to a name the execution does not have (yet)."""


def resolve(value: Any, variables: dict[str, Any]) -> Any:
    """`value` (a string, list or mapping, nested) with every reference replaced."""
    if isinstance(value, str):
        return _string(value, variables)
    if isinstance(value, list):
        return [resolve(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, variables) for k, v in value.items()}
    return value


def _string(text: str, variables: dict[str, Any]) -> Any:
    whole = _REF.fullmatch(text.strip())
    if whole:
        return _lookup(whole.group(1), variables)
    return _REF.sub(lambda m: _text(_lookup(m.group(1), variables)), text)


def _lookup(name: str, variables: dict[str, Any]) -> Any:
    if name not in variables:
        raise InterpolationError(f"{{{{ {name} }}}} does not name a parameter or an earlier step's output")
    return variables[name]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)
