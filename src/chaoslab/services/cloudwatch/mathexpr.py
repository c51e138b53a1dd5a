"""A small subset of CloudWatch metric math, enough for the usual error-rate style alarms and
queries: `100 * errors / requests`, `SUM(METRICS())`, `FILL(m1, 0)`.

Supported: numbers, query ids, + - * / and unary minus, parentheses, and the functions
ABS(x), FILL(x, value), SUM/AVG/MIN/MAX(x) where x is a series or an array
(`[m1, m2]` or `METRICS()` / `METRICS("prefix")`). A series is {period start: value}; a
binary operation between two series keeps the timestamps both have (a missing operand makes
the result missing, as CloudWatch does), and a division by zero or an overflow yields no point.
Anything else raises MathError, which callers turn into a clear ValidationError.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

Series = dict[float, float]
Value = float | Series | list


class MathError(ValueError):
    """The expression is malformed or uses something this subset does not implement."""


MAX_NESTING = (
    50  # parentheses, brackets and function calls inside one another (deeper: MathError, not a stack overflow)
)
_TOKEN = re.compile(r'\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|("[^"]*")|(.))')
_FUNCS = ("ABS", "FILL", "SUM", "AVG", "MIN", "MAX", "METRICS")


@dataclass
class _Tok:
    kind: str  # num | name | str | op | end
    text: str


def _tokens(text: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(text):
        num, name, string, op = m.groups()
        if num is not None:
            out.append(_Tok("num", num))
        elif name is not None:
            out.append(_Tok("name", name))
        elif string is not None:
            out.append(_Tok("str", string[1:-1]))
        elif op is not None and not op.isspace():
            if op not in "+-*/(),[]":
                raise MathError(f"unexpected character {op!r}")
            out.append(_Tok("op", op))
    out.append(_Tok("end", ""))
    return out


def references(expression: str) -> set[str]:
    """Query ids the expression names (METRICS() is resolved by the caller)."""
    toks = _tokens(expression)
    return {t.text for t, nxt in itertools.pairwise(toks) if t.kind == "name" and nxt.text != "("}


class _Evaluator:
    def __init__(self, text: str, lookup: Callable[[str], Series], metric_ids: list[str]) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.lookup = lookup
        self.metric_ids = metric_ids
        self.depth = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self, text: str | None = None) -> _Tok:
        tok = self.toks[self.i]
        if text is not None and tok.text != text:
            raise MathError(f"expected {text!r} but found {tok.text or 'the end'!r}")
        self.i += 1
        return tok

    def run(self) -> Value:
        value = self.expr()
        if self.peek().kind != "end":
            raise MathError(f"unexpected {self.peek().text!r}")
        return value

    def expr(self) -> Value:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise MathError(f"the expression nests more than {MAX_NESTING} levels deep")
        value = self.term()
        while self.peek().text in ("+", "-"):
            op = self.take().text
            value = _binary(op, value, self.term())
        self.depth -= 1
        return value

    def term(self) -> Value:
        value = self.unary()
        while self.peek().text in ("*", "/"):
            op = self.take().text
            value = _binary(op, value, self.unary())
        return value

    def unary(self) -> Value:
        negations = 0
        while self.peek().text == "-":  # a loop, not recursion: `------1` cannot exhaust the stack
            self.take()
            negations += 1
        value = self.atom()
        return _binary("*", -1.0, value) if negations % 2 else value

    def atom(self) -> Value:
        tok = self.take()
        if tok.kind == "num":
            number = float(tok.text)
            if number in (float("inf"), float("-inf")):
                raise MathError(f"the number {tok.text} is too large")
            return number
        if tok.text == "(":
            value = self.expr()
            self.take(")")
            return value
        if tok.text == "[":
            items = [self.expr()]
            while self.peek().text == ",":
                self.take()
                items.append(self.expr())
            self.take("]")
            return items
        if tok.kind == "name" and self.peek().text == "(":
            return self.call(tok.text)
        if tok.kind == "name":
            return self.lookup(tok.text)
        raise MathError(f"unexpected {tok.text or 'end of expression'!r}")

    def call(self, name: str) -> Value:
        if name not in _FUNCS:
            raise MathError(f"function {name} is not supported (supported: {', '.join(_FUNCS)})")
        self.take("(")
        if name == "METRICS":
            prefix = self.take().text if self.peek().kind == "str" else ""
            self.take(")")
            return [self.lookup(i) for i in self.metric_ids if i.startswith(prefix)]
        args: list[Value] = []
        if self.peek().text != ")":
            args.append(self.expr())
            while self.peek().text == ",":
                self.take()
                args.append(self.expr())
        self.take(")")
        if name == "ABS" and len(args) == 1:
            return _map(args[0], abs)
        if name == "FILL" and len(args) == 2 and isinstance(args[1], float):
            return _fill(args[0], args[1], self.all_stamps())
        if name in ("SUM", "AVG", "MIN", "MAX") and len(args) == 1:
            return _reduce(name, args[0])
        raise MathError(f"wrong arguments for {name}")

    def all_stamps(self) -> list[float]:
        stamps: set[float] = set()
        for i in self.metric_ids:
            stamps.update(self.lookup(i))
        return sorted(stamps)


def _map(v: Value, fn: Callable[[float], float]) -> Value:
    if isinstance(v, float):
        return fn(v)
    if isinstance(v, dict):
        return {t: fn(x) for t, x in v.items()}
    return [_map(x, fn) for x in v]


def _apply(op: str, a: float, b: float) -> float | None:
    """One point of a binary operation; None (no point) for a division by zero or an overflow."""
    if op == "+":
        value = a + b
    elif op == "-":
        value = a - b
    elif op == "*":
        value = a * b
    else:
        value = a / b if b != 0 else math.inf
    return value if math.isfinite(value) else None


def _binary(op: str, left: Value, right: Value) -> Value:
    if isinstance(left, list) or isinstance(right, list):
        if isinstance(left, list) and isinstance(right, list):
            raise MathError("arithmetic between two arrays is not supported")
        if isinstance(left, list):
            return [_binary(op, x, right) for x in left]
        assert isinstance(right, list)
        return [_binary(op, left, x) for x in right]
    if isinstance(left, float) and isinstance(right, float):
        r = _apply(op, left, right)
        if r is None:
            raise MathError("division by zero or a result too large")
        return r
    if isinstance(left, float):
        assert isinstance(right, dict)
        return {t: r for t, x in right.items() if (r := _apply(op, left, x)) is not None}
    if isinstance(right, float):
        return {t: r for t, x in left.items() if (r := _apply(op, x, right)) is not None}
    return {t: r for t, x in left.items() if t in right and (r := _apply(op, x, right[t])) is not None}


def _fill(v: Value, value: float, stamps: list[float]) -> Value:
    if isinstance(v, dict):
        return {t: v.get(t, value) for t in stamps}
    if isinstance(v, list):
        return [_fill(x, value, stamps) for x in v]
    return v


def _reduce(name: str, v: Value) -> Value:
    if isinstance(v, float):
        return v
    if isinstance(v, dict):  # a single series reduces to itself per timestamp
        return dict(v)
    stamps = sorted({t for s in v if isinstance(s, dict) for t in s})
    reducers: dict[str, Callable[[list[float]], float]] = {
        "SUM": sum,
        "MIN": min,
        "MAX": max,
        "AVG": lambda xs: sum(xs) / len(xs),
    }
    fn = reducers[name]
    out: Series = {}
    for t in stamps:
        xs = [s[t] if isinstance(s, dict) else s for s in v if not isinstance(s, dict) or t in s]
        if xs:
            out[t] = fn(xs)
    return out


def evaluate(expression: str, lookup: Callable[[str], Series], metric_ids: list[str]) -> Series:
    """Evaluate to one series. `lookup(id)` returns another query's series; `metric_ids` are
    the MetricStat query ids that METRICS() stands for."""
    result = _Evaluator(expression, lookup, metric_ids).run()
    if isinstance(result, list):
        raise MathError("the expression returns an array; reduce it, e.g. with SUM(...)")
    if isinstance(result, float):
        raise MathError("the expression returns a constant, not a time series")
    return result
