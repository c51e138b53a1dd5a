"""The lab's web dashboard: one offline page at `/_chaoslab/` plus compact JSON under
`/_chaoslab/api/`, served by the lab's gateway. `routes(lab)` is what `Lab.start` mounts."""

from chaoslab.dashboard.routes import routes

__all__ = ["routes"]
