"""Pure IAM policy evaluation: which statement (if any) decides whether an action on a resource is
allowed. Kept free of storage and I/O so the FIS engine's permission checks are testable as tables.

Semantics follow AWS's identity-policy logic: an explicit Deny wins, then any Allow, else the
request is implicitly denied. Permission boundaries, SCPs and resource policies are out of scope.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

Context = dict[str, "str | list[str]"]

# Operators whose result is the negation of a positive match ("no policy value matches").
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
}
_QUALIFIERS = ("ForAnyValue:", "ForAllValues:")
_VAR = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Decision:
    """The outcome of one authorization question and why, for error messages and reports."""

    allowed: bool
    reason: str
    matched_statement: dict[str, Any] | None = None


# -- pattern matching --------------------------------------------------------------------------
def _substitute(value: str, ctx: Context | None) -> str | None:
    """Replace `${key}` policy variables from the context; None if one is missing (no match).
    `ctx` None means the document predates variables (Version 2008-10-17): text stays literal."""
    if ctx is None:
        return value
    missing = False

    def repl(m: re.Match[str]) -> str:
        nonlocal missing
        inner = m.group(1)
        if inner in ("*", "?", "$"):
            return "\x00" + inner  # a literal character, protected from globbing
        key, _, default = inner.partition(",")
        found = _lookup(ctx, key.strip())
        if isinstance(found, str):
            return found
        if default.strip().startswith("'") and default.strip().endswith("'") and len(default.strip()) >= 2:
            return default.strip()[1:-1]
        missing = True
        return ""

    out = _VAR.sub(repl, value)
    return None if missing else out


@lru_cache(maxsize=4096)
def _glob_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """Compiled once per pattern: FIS asks about every target of every action."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\x00" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM wildcard match: `*` any run of characters, `?` exactly one."""
    return _glob_regex(pattern, ignore_case).fullmatch(value) is not None


def _literal(value: str) -> str:
    return value.replace("\x00", "")


def arn_match(pattern: str, arn: str) -> bool:
    """ARN match component by component (partition, service, region, account, resource), as
    ArnLike does, so a wildcard in the region cannot swallow the account."""
    if pattern == "*":
        return True
    p_parts, a_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(p_parts) != 6 or len(a_parts) != 6:
        return glob_match(pattern, arn)
    return all(glob_match(p, a) for p, a in zip(p_parts, a_parts, strict=False))


def action_matches(pattern: str, action: str) -> bool:
    """Actions are case-insensitive; `*` alone matches every action of every service."""
    return glob_match(pattern, action, ignore_case=True)


def resource_matches(pattern: str, resource: str, variables: Context | None) -> bool:
    substituted = _substitute(pattern, variables)
    if substituted is None:
        return False
    if substituted == "*":
        return True
    if substituted.startswith("arn:"):
        return arn_match(substituted, resource)
    return glob_match(substituted, resource)


# -- conditions --------------------------------------------------------------------------------
def as_list(value: Any) -> list[Any]:
    """IAM lets any list-valued element be written as a single value."""
    return value if isinstance(value, list) else [value]


def _lookup(ctx: Context, key: str) -> str | list[str] | None:
    """Condition keys are case-insensitive."""
    lowered = key.lower()
    for k, v in ctx.items():
        if k.lower() == lowered:
            return v
    return None


def _number(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _numeric(test: Callable[[float, float], bool]) -> Callable[[str, str, Context | None], bool]:
    def compare(policy_value: str, ctx_value: str, _ctx: Context | None) -> bool:
        p, c = _number(policy_value), _number(ctx_value)
        return p is not None and c is not None and test(c, p)

    return compare


def _epoch(value: str) -> float | None:
    """Dates in conditions are ISO 8601 or epoch seconds; naive ISO times are UTC."""
    number = _number(value)
    if number is not None:
        return number
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _date(test: Callable[[float, float], bool]) -> Callable[[str, str, Context | None], bool]:
    def compare(policy_value: str, ctx_value: str, _ctx: Context | None) -> bool:
        p, c = _epoch(policy_value), _epoch(ctx_value)
        return p is not None and c is not None and test(c, p)

    return compare


def _string_equals(policy_value: str, ctx_value: str, ctx: Context | None) -> bool:
    p = _substitute(policy_value, ctx)
    return p is not None and _literal(p) == ctx_value


def _string_equals_ic(policy_value: str, ctx_value: str, ctx: Context | None) -> bool:
    p = _substitute(policy_value, ctx)
    return p is not None and _literal(p).casefold() == ctx_value.casefold()


def _string_like(policy_value: str, ctx_value: str, ctx: Context | None) -> bool:
    p = _substitute(policy_value, ctx)
    return p is not None and glob_match(p, ctx_value)


def _arn_like(policy_value: str, ctx_value: str, ctx: Context | None) -> bool:
    p = _substitute(policy_value, ctx)
    return p is not None and arn_match(p, ctx_value)


def _bool(policy_value: str, ctx_value: str, _ctx: Context | None) -> bool:
    return policy_value.lower() == ctx_value.lower()


def _ip_address(policy_value: str, ctx_value: str, _ctx: Context | None) -> bool:
    try:
        return ipaddress.ip_address(ctx_value) in ipaddress.ip_network(policy_value, strict=False)
    except ValueError:
        return False


# Positive comparators: (policy value, context value, context for ${variables} or None) -> match.
_COMPARATORS: dict[str, Callable[[str, str, Context | None], bool]] = {
    "StringEquals": _string_equals,
    "StringEqualsIgnoreCase": _string_equals_ic,
    "StringLike": _string_like,
    "ArnEquals": _arn_like,  # AWS documents ArnEquals and ArnLike as the same wildcard match
    "ArnLike": _arn_like,
    "NumericEquals": _numeric(lambda c, p: c == p),
    "NumericLessThan": _numeric(lambda c, p: c < p),
    "NumericLessThanEquals": _numeric(lambda c, p: c <= p),
    "NumericGreaterThan": _numeric(lambda c, p: c > p),
    "NumericGreaterThanEquals": _numeric(lambda c, p: c >= p),
    "DateEquals": _date(lambda c, p: c == p),
    "DateLessThan": _date(lambda c, p: c < p),
    "DateLessThanEquals": _date(lambda c, p: c <= p),
    "DateGreaterThan": _date(lambda c, p: c > p),
    "DateGreaterThanEquals": _date(lambda c, p: c >= p),
    "Bool": _bool,
    "BinaryEquals": lambda p, c, _ctx: p == c,  # base64 text on both sides
    "IpAddress": _ip_address,
}

CONDITION_OPERATORS = frozenset(_COMPARATORS) | frozenset(_NEGATED) | {"Null"}


def parse_operator(name: str) -> tuple[str | None, str, bool] | None:
    """Split `ForAllValues:StringLikeIfExists` into (qualifier, base, if_exists); None if unknown."""
    qualifier = None
    for q in _QUALIFIERS:
        if name.startswith(q):
            qualifier, name = q[:-1], name[len(q) :]
    if_exists = name.endswith("IfExists") and name != "IfExists"
    base = name[: -len("IfExists")] if if_exists else name
    if base not in CONDITION_OPERATORS or (base == "Null" and (if_exists or qualifier)):
        return None
    return qualifier, base, if_exists


def _text(value: Any) -> str:
    """Policy values may be JSON booleans or numbers; IAM compares their text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def condition_key_holds(operator: str, key: str, policy_values: Any, ctx: Context, variables: bool = True) -> bool:
    """One key under one operator: values OR together; set qualifiers decide multi-valued keys."""
    parsed = parse_operator(operator)
    if parsed is None:
        return False
    qualifier, base, if_exists = parsed
    wanted = [_text(v) for v in as_list(policy_values)]
    found = _lookup(ctx, key)
    if base == "Null":
        return any((w.lower() == "true") == (found is None) for w in wanted)
    if found is None:
        if if_exists or qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return base in _NEGATED
    negated = base in _NEGATED
    compare = _COMPARATORS[_NEGATED.get(base, base)]

    def satisfied(value: str) -> bool:
        hit = any(compare(w, value, ctx if variables else None) for w in wanted)
        return not hit if negated else hit

    values = as_list(found)
    if qualifier == "ForAllValues":
        return all(satisfied(v) for v in values)
    if qualifier == "ForAnyValue" or not negated:
        return any(satisfied(v) for v in values)
    return all(satisfied(v) for v in values)  # plain negated operator: no value may match


def conditions_hold(condition: dict[str, Any] | None, ctx: Context, variables: bool = True) -> bool:
    """Every operator and every key must hold (AND)."""
    for operator, keys in (condition or {}).items():
        for key, values in keys.items():
            if not condition_key_holds(operator, key, values, ctx, variables):
                return False
    return True


# -- statements --------------------------------------------------------------------------------
def statements(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A document's statements, whether written as one object or a list."""
    yield from as_list(document.get("Statement", []))


def statement_applies(stmt: dict[str, Any], action: str, resource: str, ctx: Context, variables: bool = True) -> bool:
    """Does this statement speak about this request (action, resource and conditions all match)?
    `variables`: substitute `${…}` policy variables (only Version 2012-10-17 documents have them)."""
    var_ctx = ctx if variables else None
    if "Action" in stmt:
        if not any(action_matches(p, action) for p in as_list(stmt["Action"])):
            return False
    elif "NotAction" in stmt:
        if any(action_matches(p, action) for p in as_list(stmt["NotAction"])):
            return False
    else:
        return False
    if "Resource" in stmt:
        if not any(resource_matches(p, resource, var_ctx) for p in as_list(stmt["Resource"])):
            return False
    elif "NotResource" in stmt:
        if any(resource_matches(p, resource, var_ctx) for p in as_list(stmt["NotResource"])):
            return False
    return conditions_hold(stmt.get("Condition"), ctx, variables)


def _label(stmt: dict[str, Any]) -> str:
    return f'statement "{stmt["Sid"]}"' if stmt.get("Sid") else "a statement"


def evaluate(policies: list[dict[str, Any]], action: str, resource: str, context: Context | None = None) -> Decision:
    """Explicit Deny wins over any Allow; with neither, the request is implicitly denied."""
    ctx = context or {}
    allow: dict[str, Any] | None = None
    for document in policies:
        variables = document.get("Version") == "2012-10-17"
        for stmt in statements(document):
            if not statement_applies(stmt, action, resource, ctx, variables):
                continue
            if stmt.get("Effect") == "Deny":
                return Decision(False, f"{action} on {resource} is explicitly denied by {_label(stmt)}", stmt)
            if stmt.get("Effect") == "Allow" and allow is None:
                allow = stmt
    if allow is not None:
        return Decision(True, f"{action} on {resource} is allowed by {_label(allow)}", allow)
    return Decision(False, f"no statement allows {action} on {resource}", None)


# -- principals (trust policies) ---------------------------------------------------------------
def principal_matches(principal: Any, kind: str, value: str) -> bool:
    """Does a Principal element name this principal (`{"Service": "fis.amazonaws.com"}`, `"*"`)?"""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return any(p == "*" or p == value for p in as_list(principal.get(kind, [])))


def for_principal(document: dict[str, Any], kind: str, value: str) -> dict[str, Any]:
    """The statements of a trust policy that apply to this principal, Principal elements removed,
    so `evaluate` can decide the rest (action, conditions) with the usual precedence."""
    kept = []
    for stmt in statements(document):
        if "Principal" in stmt:
            applies = principal_matches(stmt["Principal"], kind, value)
        elif "NotPrincipal" in stmt:
            applies = not principal_matches(stmt["NotPrincipal"], kind, value)
        else:
            applies = False
        if applies:
            kept.append({k: v for k, v in stmt.items() if k not in ("Principal", "NotPrincipal")})
    return {"Version": document.get("Version", "2012-10-17"), "Statement": kept}
