"""Filter patterns for FilterLogEvents, the unstructured-text subset.

Supported: plain terms (all must appear: `ERROR db`), quoted phrases (`"connection reset"`),
`-term` (must not appear) and `?term` (at least one of the `?` terms must appear). Matching is
case-sensitive substring matching. JSON (`{ $.x = 1 }`), space-delimited (`[a, b]`) and regular
expression (`%ERROR|WARN%`) patterns are refused with a clear error rather than silently matching
everything (or, taken as a literal term, nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r'([-?]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))')


class PatternError(ValueError):
    """The pattern is malformed or uses a syntax chaoslab does not implement."""


@dataclass
class Pattern:
    required: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    any_of: list[str] = field(default_factory=list)

    def matches(self, message: str) -> bool:
        if any(t not in message for t in self.required):
            return False
        if any(t in message for t in self.excluded):
            return False
        return not self.any_of or any(t in message for t in self.any_of)


def parse_pattern(text: str | None) -> Pattern:
    """Parse a filter pattern; an empty pattern matches every event."""
    pattern = Pattern()
    text = (text or "").strip()
    if not text:
        return pattern
    if text[0] in "{[%":
        raise PatternError(
            "JSON, space-delimited and %regex% filter patterns are not supported by chaoslab; "
            'use terms, "quoted phrases", -exclusions or ?alternatives.'
        )
    if text.count('"') % 2:
        raise PatternError("Invalid filter pattern: unbalanced double quote.")
    for m in _TOKEN.finditer(text):
        prefix, quoted, bare = m.groups()
        term = quoted.replace('\\"', '"') if quoted is not None else bare
        if not term:
            continue
        {"": pattern.required, "-": pattern.excluded, "?": pattern.any_of}[prefix].append(term)
    return pattern
