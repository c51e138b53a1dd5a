"""Reading a file the way its consumer does, and where each part of it is.

A `.json` file is strict JSON, as the AWS CLI (`file://`) and CloudFormation read it: a trailing
comma or a comment is a syntax error with its line and column, never re-read as YAML. `.yaml` /
`.yml` files are YAML with CloudFormation's short-form tags (`!Ref`, `!Sub` …) read as their
`Fn::` forms. Other names are read by content (JSON if it starts with `{` or `[`). `positions`
maps every path (`actions.Stop.targets.Instances`, `targets.T.resourceArns[0]`) to its line and
column, so an issue found in the data can point into the text.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Position = tuple[int, int]  # 1-based line and column

_WS = re.compile(r"[ \t\n\r]*")


class SourceError(Exception):
    """The file cannot be read as what it is; `line`/`column` point at the problem when known."""

    def __init__(
        self, message: str, line: int | None = None, column: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.message, self.line, self.column, self.hint = message, line, column, hint


@dataclass
class Source:
    """A parsed file: its data, its syntax ("json" or "yaml") and where every path sits in it."""

    data: Any
    syntax: str
    positions: dict[str, Position] = field(default_factory=dict)

    def locate(self, path: str) -> Position | None:
        """The position of `path`, or of its nearest enclosing part that has one."""
        while True:
            if path in self.positions:
                return self.positions[path]
            cut = max(path.rfind("."), path.rfind("["))
            if cut <= 0:
                return self.positions.get("")
            path = path[:cut]


def join(path: str, key: str | int) -> str:
    """How issue paths are written: `a.b`, `a[0]`; the root is the empty path."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def read_source(name: str, text: str) -> Source:
    """Parse `text` (named `name`) as JSON or YAML, by extension or else by content."""
    lowered = name.lower()
    if lowered.endswith((".yaml", ".yml")):
        return _yaml(text)
    if lowered.endswith(".json") or text.lstrip()[:1] in ("{", "["):
        return _json(text)
    return _yaml(text)


# JSON ---------------------------------------------------------------------------------------
def _json(text: str) -> Source:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        before = text[: exc.pos].rstrip()
        if before.endswith(",") and text[exc.pos : exc.pos + 1] in ("}", "]"):
            line, column = _JsonPositions(text).at(len(before) - 1)  # point at the comma itself
            raise SourceError(
                "not valid JSON: a trailing comma",
                line,
                column,
                "remove the comma: JSON allows none (the AWS CLI and CloudFormation refuse it)",
            ) from None
        hint = (
            "JSON has no comments; remove it (or write the file as YAML)"
            if text[exc.pos : exc.pos + 2] in ("//", "/*") or text[exc.pos : exc.pos + 1] == "#"
            else "fix the JSON syntax at this line and column"
        )
        raise SourceError(f"not valid JSON: {exc.msg}", exc.lineno, exc.colno, hint) from None
    return Source(data, "json", _JsonPositions(text).run())


class _JsonPositions:
    """Walks text json.loads accepted, recording where each member's key and each element starts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = [0] + [m.end() for m in re.finditer("\n", text)]
        self.positions: dict[str, Position] = {}
        self.decoder = json.JSONDecoder()

    def run(self) -> dict[str, Position]:
        start = self._ws(0)
        self.positions[""] = self.at(start)
        self._value(start, "")
        return self.positions

    def at(self, offset: int) -> Position:
        line = bisect.bisect_right(self.lines, offset) - 1
        return line + 1, offset - self.lines[line] + 1

    def _ws(self, i: int) -> int:
        match = _WS.match(self.text, i)
        return match.end() if match else i

    def _value(self, i: int, path: str) -> int:
        char = self.text[i]
        if char == "{":
            return self._members(self._ws(i + 1), path)
        if char == "[":
            return self._elements(self._ws(i + 1), path)
        return self.decoder.raw_decode(self.text, i)[1]

    def _members(self, i: int, path: str) -> int:
        if self.text[i] == "}":
            return i + 1
        while True:
            key, after = self.decoder.raw_decode(self.text, i)
            here = join(path, key)
            self.positions[here] = self.at(i)
            i = self._ws(self._value(self._ws(self._ws(after) + 1), here))
            if self.text[i] == "}":
                return i + 1
            i = self._ws(i + 1)  # past the comma

    def _elements(self, i: int, path: str) -> int:
        index = 0
        if self.text[i] == "]":
            return i + 1
        while True:
            here = join(path, index)
            self.positions[here] = self.at(i)
            i = self._ws(self._value(i, here))
            if self.text[i] == "]":
                return i + 1
            i, index = self._ws(i + 1), index + 1


# YAML ---------------------------------------------------------------------------------------
class CloudFormationLoader(yaml.SafeLoader):
    """Safe YAML that reads CloudFormation's short forms: `!Sub x` is `{"Fn::Sub": x}`, `!Ref x` is
    `{"Ref": x}`, `!GetAtt a.b` is `{"Fn::GetAtt": ["a", "b"]}`."""


def _short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)  # YAML has no fourth kind of node
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _short_form)


def _yaml(text: str) -> Source:
    try:
        data = yaml.load(text, Loader=CloudFormationLoader)  # a SafeLoader subclass
        node = yaml.compose(text, Loader=CloudFormationLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise SourceError(
            f"not valid YAML: {exc.problem or exc}", line, column, "fix the YAML syntax at this line and column"
        ) from None
    except yaml.YAMLError as exc:
        raise SourceError(f"not valid YAML: {exc}") from None
    positions: dict[str, Position] = {}
    if node is not None:
        positions[""] = (node.start_mark.line + 1, node.start_mark.column + 1)
        _yaml_positions(node, "", positions)
    return Source(data, "yaml", positions)


def _yaml_positions(node: yaml.Node, path: str, out: dict[str, Position]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = join(path, str(key.value))
            out[here] = (key.start_mark.line + 1, key.start_mark.column + 1)
            _yaml_positions(value, here, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            here = join(path, index)
            out[here] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _yaml_positions(item, here, out)
