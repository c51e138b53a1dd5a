"""Lab-only actions: things a chaos practitioner needs that FIS has no action for. Their ids use
the `chaoslab:` prefix instead of `aws:` so a template that uses one can never be mistaken for a
template AWS would accept. The integrator merges `LAB_ACTIONS` into the catalogue's ACTIONS.
"""

from __future__ import annotations

from chaoslab.services.fis.catalogue import ActionSpec
from chaoslab.services.fis.params import Param, duration

FARGATE_SPOT_INTERRUPTION = ActionSpec(
    id="chaoslab:ecs:fargate-spot-interruption",
    description="(chaoslab only) Interrupt Fargate Spot tasks: a Spot interruption warning, then the "
                "task stops with stopCode SpotInterruption after durationBeforeInterruption.",
    parameters={"durationBeforeInterruption": Param(
        "Time between the warning and the stop (AWS gives two minutes).", False, "PT2M", duration("PT0S", "PT15M"))},
    targets={"Tasks": "aws:ecs:task"},
    permissions=("ecs:DescribeTasks", "ecs:StopTask"),
    executor="ecs.fargate_spot_interruption",
    duration_param="durationBeforeInterruption",
)

LAB_ACTIONS: dict[str, ActionSpec] = {FARGATE_SPOT_INTERRUPTION.id: FARGATE_SPOT_INTERRUPTION}
