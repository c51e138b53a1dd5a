"""Compute units as real process groups with their own network identity (see docs/runtime.md).

Import from the modules themselves: this package imports nothing, so a small program of the
lab's (the fork server, `forkserver_main.py`) can live here without loading the whole runtime."""
