"""chaoslab: AWS Fault Injection Service experiments, for real, on one machine and in CI.

The Python API (`chaoslab.Lab`, `chaoslab.run_experiment`, `chaoslab.Verdict`) is imported on
first use, so `import chaoslab` (and the CLI's start-up) stays cheap."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs every chaoslab process ~15 ms at start
__version__ = "0.1.0"
__all__ = ["Clause", "Lab", "Verdict", "__version__", "run_experiment"]

if TYPE_CHECKING:
    from typing import Any

    from chaoslab.api import Clause, Lab, Verdict, run_experiment


def __getattr__(name: str) -> Any:
    if name in ("Clause", "Lab", "Verdict", "run_experiment"):
        from chaoslab import api

        return getattr(api, name)
    raise AttributeError(f"module 'chaoslab' has no attribute {name!r}")
