"""The Chaos Toolkit tests drive the same kind of real lab as the API tests; share their helper."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
