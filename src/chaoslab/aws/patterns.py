"""botocore's `pattern` constraints are Java regular expressions; this turns them into Python ones.

Translated (docs/reliability.md, "Validation"):
* `\\p{L}` and `\\p{N}` become Python's Unicode `\\w` (letters, digits and numbers, plus `_`,
  which every model class using them allows anyway); `\\p{Z}` becomes the Unicode separators.
* The surrogate-pair range `\\uD800\\uDC00-\\uDBFF\\uDFFF` and the 5-digit `\\u10000-\\u10FFFF`
  become `\\U00010000-\\U0010FFFF` (the supplementary planes they mean).
* Java's `\\w \\d \\s` are ASCII-only by default: patterns without `\\p{...}` compile with re.ASCII.
* Patterns whose backtracking is exponential in Python get an equivalent linear form (`_LINEAR`).
A pattern that still does not compile is not applied (`skipped()` lists them); Java's
`matches()` semantics are kept with `fullmatch`.
"""

from __future__ import annotations

import logging
import re
from functools import cache

log = logging.getLogger("chaoslab.aws.patterns")

_SEPARATORS = r"\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_SUPPLEMENTARY = r"\U00010000-\U0010FFFF"
_REWRITES = (
    (r"\p{L}", r"\w"),
    (r"\p{N}", r"\w"),
    (r"\p{Z}", _SEPARATORS),
    (r"\uD800\uDC00-\uDBFF\uDFFF", _SUPPLEMENTARY),
    (r"\u10000-\u10FFFF", _SUPPLEMENTARY),
)
# Equivalent for full matching, without nested ambiguous repetition (a 30-letter miss took 11 s).
_LINEAR = {
    r"[a-z](?:-?[a-z0-9]+){0,15}": r"[a-z](?:-?[a-z0-9]++){0,15}",
}
_skipped: set[str] = set()


@cache
def compile_java(pattern: str) -> re.Pattern[str] | None:
    """The Python form of a model pattern, or None when Python's `re` cannot express it."""
    source = _LINEAR.get(pattern, pattern)
    unicode_classes = r"\p{" in source
    for java, python in _REWRITES:
        source = source.replace(java, python)
    try:
        return re.compile(source, 0 if unicode_classes else re.ASCII)
    except re.error as exc:
        _skipped.add(pattern)
        log.info("model pattern %r is not applied: Python's re cannot compile it (%s)", pattern, exc)
        return None


def matches(pattern: str, value: str) -> bool:
    """Java `String.matches` semantics; True for a pattern that cannot be applied."""
    compiled = compile_java(pattern)
    return compiled is None or compiled.fullmatch(value) is not None


def skipped() -> list[str]:
    """The model patterns seen so far that are not applied."""
    return sorted(_skipped)
