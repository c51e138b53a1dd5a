"""The journal on disk: written atomically so a crash mid-write never leaves half a journal."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from chaoslab.errors import ChaoslabError


def _finite(value: Any) -> Any:
    """JSON has no NaN/Infinity; a measurement that produced one is recorded as unknown (null)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write via a temp file in the same directory and rename, so readers see old or new."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; reports are meant to be shared
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_journal(journal: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write `journal` as pretty JSON (people read it and diff it); returns the path."""
    text = json.dumps(_finite(journal), indent=2, ensure_ascii=False, allow_nan=False)
    return write_text_atomic(path, text + "\n")


def read_journal(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a journal to rebuild reports from it; a user error if it is not one."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ChaoslabError(f"cannot read journal {path}: {e}", hint="pass the journal.json a run wrote") from e
    if not isinstance(doc, dict) or doc.get("version") != 1 or "started" not in doc:
        raise ChaoslabError(
            f"{path} is not a chaoslab run journal (version 1)", hint="pass the journal.json a run wrote"
        )
    return doc
