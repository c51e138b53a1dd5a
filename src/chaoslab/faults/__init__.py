"""Fault families: each module hurts a compute unit (or a socket) and knows how to undo it,
and nothing about FIS or SSM. Reversible faults return an undo record that the caller persists
before the fault takes effect; `revert(lab, record)` is idempotent."""

from __future__ import annotations


class FaultError(Exception):
    """A fault that cannot be applied (no such process, unit not running, bad parameter)."""
