"""Before `make test` removes the previous run's logs: stop or clean up every lab under them.

A run killed outright (SIGKILL, a VM restart) takes its labs' watchdogs with it, so their units,
namespaces, routes and FUSE volume mounts stay behind, recorded only in the labs' own stores
under the old logs. For each state dir there, this does what `chaoslab down` does — stop the lab
if it still runs, else the crash recovery from its records — in one process, since a run leaves
hundreds of them.

Usage: python tests/clean_leftovers.py DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from chaoslab.config import LabConfig
from chaoslab.daemon import cleanup_after_crash
from chaoslab.labctl import running_lab, stop_lab


def clean(root: Path) -> list[str]:
    """Each lab home under `root` with something left behind, and what was done there."""
    done = []
    # os.walk skips what it cannot list (a dead FUSE mount answers "transport endpoint is not
    # connected"), where Path.rglob would raise
    homes = sorted(Path(top) for top, _dirs, files in os.walk(root) if "state.db" in files)
    for home in homes:
        config = LabConfig(home=home)
        if running_lab(config) is not None:
            stop_lab(config, quiet=True)
            done.append(f"{home}: stopped")
        elif cleaned := cleanup_after_crash(config):
            done.append(f"{home}: {cleaned}")
    return done


def main(argv: list[str]) -> int:
    root = Path(argv[1])
    if not root.is_dir():
        return 0
    for line in clean(root):
        print(f"left by an earlier run: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
