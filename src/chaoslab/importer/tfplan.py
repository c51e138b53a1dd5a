"""A Terraform plan's references, filled in from its `configuration`.

In a plan of resources that do not exist yet, ids and ARNs are unknown until apply and missing
from `planned_values`. The configuration still says what each attribute refers to
(`aws_lb_target_group.main.arn`), so a missing reference gets the referenced attribute when the
plan knows it, else the referenced resource's address, which is also that resource's id here.
What cannot be filled this way (a reference inside a map, such as alarm dimensions) is recorded
in the resource's `_unknown` list for the reader to note."""

from __future__ import annotations

import re
from typing import Any

_LISTS = {
    "vpc_zone_identifier",
    "target_group_arns",
    "subnets",
    "security_groups",
    "vpc_security_group_ids",
    "cidr_blocks",
    "resource_arns",
}
_NOT_RESOURCES = ("var.", "local.", "each.", "count.", "path.", "module.", "terraform.", "self.")
_INDEX = re.compile(r"\[[^\]]*\]$")


def fill(planned_root: dict[str, Any], configuration: dict[str, Any]) -> None:
    """Complete `planned_root`'s resources in place."""
    instances: dict[str, dict[str, Any]] = {}
    _index(planned_root, instances)
    for res in instances.values():
        values = res.setdefault("values", {})
        if values.get("id") is None and res.get("mode") != "data":
            values["id"] = res["address"]
    _walk_config(configuration.get("root_module") or {}, "", instances)


def _index(module: dict[str, Any], out: dict[str, dict[str, Any]]) -> None:
    for res in module.get("resources", []):
        out[res["address"]] = res
    for child in module.get("child_modules", []):
        _index(child, out)


def _walk_config(module: dict[str, Any], prefix: str, instances: dict[str, dict[str, Any]]) -> None:
    for res in module.get("resources", []):
        base = prefix + res["address"]
        for inst in _matching(base, instances):
            values = inst.setdefault("values", {})
            _fill(values, res.get("expressions") or {}, prefix, instances, values)
    for name, call in (module.get("module_calls") or {}).items():
        _walk_config(call.get("module") or {}, f"{prefix}module.{name}.", instances)


def _matching(base: str, instances: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for a, r in instances.items() if a == base or (a.startswith(base + "[") and "." not in a[len(base) :])]


def _fill(
    values: dict[str, Any],
    expressions: dict[str, Any],
    prefix: str,
    instances: dict[str, dict[str, Any]],
    top: dict[str, Any],
) -> None:
    for key, expr in expressions.items():
        current = values.get(key)
        if isinstance(expr, dict) and expr.get("references"):
            if current not in (None, "", [], {}):
                continue
            found = _resolve(expr["references"], prefix, instances)
            if not found or isinstance(current, dict) or key in ("dimensions", "tags"):
                top.setdefault("_unknown", []).append(key)
            else:
                values[key] = found if key in _LISTS else found[0]
        elif isinstance(expr, list) and expr and all(isinstance(e, dict) for e in expr):
            blocks = values.get(key)
            if not isinstance(blocks, list) or len(blocks) != len(expr):
                blocks = values[key] = [{} for _ in expr]
            for block, sub in zip(blocks, expr, strict=True):
                _fill(block, sub, prefix, instances, top)


def _resolve(references: list[str], prefix: str, instances: dict[str, dict[str, Any]]) -> list[Any]:
    """The values the references stand for: known attributes, else the instances' addresses."""
    wanted: dict[str, str] = {}  # resource address -> attribute ("" for a bare reference)
    for ref in references:
        if ref.startswith(_NOT_RESOURCES):
            continue
        parts = ref.split(".")
        size = 3 if parts[0] == "data" else 2
        base, attr = ".".join(parts[:size]), ".".join(parts[size:])
        if not wanted.get(base):
            wanted[base] = attr
    out: list[Any] = []
    for base, attr in wanted.items():
        address = prefix + base
        matches = [instances[address]] if address in instances else _matching(_INDEX.sub("", address), instances)
        for inst in matches:
            known = (inst.get("values") or {}).get(attr) if attr else None
            value = known if known not in (None, "") else inst["address"]
            if value not in out:
                out.append(value)
    return out
