"""Compute units as real process groups with their own network identity (see docs/runtime.md)."""

from chaoslab.runtime.network import VpcNetwork, cleanup_leftovers, detect_mode
from chaoslab.runtime.process import UnitProcess
from chaoslab.runtime.recovery import kill_leftover_processes
from chaoslab.runtime.sandbox import Sandbox

__all__ = ["Sandbox", "UnitProcess", "VpcNetwork", "cleanup_leftovers", "detect_mode", "kill_leftover_processes"]
