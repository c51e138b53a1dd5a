"""Composite-alarm rules: parse `ALARM(a) AND NOT (OK("b") OR TRUE)` into a small tree and
evaluate it against the children's states.

Grammar (AWS AlarmRule): expr := term (OR term)*; term := factor (AND factor)*;
factor := NOT factor | '(' expr ')' | TRUE | FALSE | STATE '(' name ')', where STATE is
ALARM, OK or INSUFFICIENT_DATA and name is an alarm name or ARN, optionally in double quotes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

STATE_FUNCS = ("ALARM", "OK", "INSUFFICIENT_DATA")


class RuleError(ValueError):
    """The rule does not parse; the message says where."""


@dataclass(frozen=True)
class Const:
    value: bool


@dataclass(frozen=True)
class StateIs:
    state: str
    alarm: str  # name or ARN, as written


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    operands: tuple[Node, ...]


Node = Const | StateIs | Not | BoolOp
_TOKEN = re.compile(r'\s*(?:(\()|(\))|("(?:[^"\\]|\\.)*")|([^\s()"]+))')


def _tokens(rule: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(rule):
        if rule[pos:].strip() == "":
            break
        m = _TOKEN.match(rule, pos)
        if not m:
            raise RuleError(f"unexpected character at position {pos}")
        out.append(next(g for g in m.groups() if g is not None))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, rule: str) -> None:
        self.toks = _tokens(rule)
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None:
            raise RuleError(f"unexpected end of rule{f', expected {expected!r}' if expected else ''}")
        if expected is not None and tok != expected:
            raise RuleError(f"expected {expected!r} but found {tok!r}")
        self.i += 1
        return tok

    def expr(self) -> Node:
        parts = [self.term()]
        while self.peek() == "OR":
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else BoolOp("OR", tuple(parts))

    def term(self) -> Node:
        parts = [self.factor()]
        while self.peek() == "AND":
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else BoolOp("AND", tuple(parts))

    def factor(self) -> Node:
        tok = self.take()
        if tok == "NOT":
            return Not(self.factor())
        if tok == "(":
            node = self.expr()
            self.take(")")
            return node
        if tok in ("TRUE", "FALSE"):
            return Const(tok == "TRUE")
        if tok in STATE_FUNCS:
            self.take("(")
            name = self.take()
            if name in ("(", ")"):
                raise RuleError(f"{tok}() needs an alarm name or ARN")
            if name.startswith('"'):
                name = name[1:-1].replace('\\"', '"')
            self.take(")")
            return StateIs(tok, name)
        raise RuleError(f"unexpected {tok!r}")


def parse_rule(rule: str) -> Node:
    """Parse an AlarmRule; raises RuleError if it is not well formed."""
    if not rule or not rule.strip():
        raise RuleError("the rule is empty")
    p = _Parser(rule)
    node = p.expr()
    if p.peek() is not None:
        raise RuleError(f"unexpected {p.peek()!r} after a complete expression")
    return node


def children(node: Node) -> list[str]:
    """Every alarm name/ARN the rule mentions, in order of first appearance."""
    return list(dict.fromkeys(c.alarm for c in state_checks(node)))


def state_checks(node: Node) -> list[StateIs]:
    """Every `STATE(alarm)` test in the rule, in order."""
    if isinstance(node, StateIs):
        return [node]
    if isinstance(node, Not):
        return state_checks(node.operand)
    if isinstance(node, BoolOp):
        return [c for o in node.operands for c in state_checks(o)]
    return []


def evaluate_rule(node: Node, state_of: Callable[[str], str]) -> bool:
    """True when the rule holds, given `state_of(name_or_arn)` for each child."""
    if isinstance(node, Const):
        return node.value
    if isinstance(node, StateIs):
        return state_of(node.alarm) == node.state
    if isinstance(node, Not):
        return not evaluate_rule(node.operand, state_of)
    results = (evaluate_rule(o, state_of) for o in node.operands)
    return all(results) if node.op == "AND" else any(results)
