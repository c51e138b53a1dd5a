"""XML character data that every XML 1.0 parser reads back, whatever a client stored or sent."""

from __future__ import annotations

import re

# Characters XML 1.0 cannot carry, not even as references: C0 controls but tab, LF and CR; lone
# surrogates; U+FFFE and U+FFFF.
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_SPECIAL = re.compile("[&<>\r]")


def xml_text(text: str) -> str:
    """Markup escaped, CR kept as a reference (parsers turn a literal one into LF), characters in
    XML_ILLEGAL replaced by U+FFFD. Input validation refuses those characters; this is the
    guarantee for anything that reached a response another way (a stack file, a process's output)."""
    return _SPECIAL.sub(lambda m: _ESCAPES[m.group()], XML_ILLEGAL.sub("\ufffd", text))
