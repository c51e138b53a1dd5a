"""Fault families: each module is one small `Fault` type (`base.py`) that hurts a compute unit
(or the lab's API) and knows how to undo it, and nothing about FIS or SSM. `registry.py` is the
table of them all, `replay.py` the one way to revert journaled undo records."""
