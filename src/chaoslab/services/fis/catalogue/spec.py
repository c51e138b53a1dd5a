"""The shape of a catalogue entry, and the parameter builders the entries share."""

from __future__ import annotations

from dataclasses import dataclass, field

from chaoslab.services.fis.params import BOOLEAN, Param, duration, int_range


@dataclass(frozen=True)
class ActionSpec:
    """What FIS knows about one actionId, and whether (and how) the lab runs it.

    `executor` names the lab's implementation; an action without one says in `unsupported` why
    the lab cannot run it (it still validates, lists and describes like any other).
    """

    id: str
    description: str
    parameters: dict[str, Param] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)  # action target key -> resource type
    permissions: tuple[str, ...] = ()
    executor: str | None = None
    unsupported: str | None = None
    # The parameter that sets how long the action lasts (the engine waits for it).
    duration_param: str | None = None
    # How the action's targets must be identified: "arns" (ARNs only, no tags, filters or
    # parameters), "single-arn" (exactly one ARN) or "tags" (resource tags only).
    selection: str | None = None
    # A newer id AWS recommends in place of this one (this one is still accepted).
    replaced_by: str | None = None
    # Parameter values the lab runs, where it runs fewer than AWS accepts.
    lab_values: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetTypeSpec:
    """A target resource type, its type-specific parameters, and whether the lab resolves it."""

    resource_type: str
    description: str
    parameters: dict[str, Param] = field(default_factory=dict)
    unsupported: str | None = None  # why the lab cannot resolve targets of this type
    alias_of: str | None = None  # an older name FIS still accepts for `alias_of`


ACTION_DURATION = duration("PT1M", "PT12H")
# For actions whose reference gives no lower bound: anything up to the 12-hour action quota.
ANY_DURATION = duration("PT1S", "PT12H")


def duration_of(low: str = "PT1M", high: str = "PT12H", what: str = "The duration of the action") -> Param:
    return Param(f"{what}, {low}..{high} (ISO 8601).", True, None, duration(low, high))


def open_duration(what: str = "The duration of the action") -> Param:
    """A duration the reference bounds only by the 12-hour action quota."""
    return Param(f"{what} (ISO 8601, at most PT12H).", True, None, ANY_DURATION)


def percentage(
    what: str = "Percentage (1-100) of calls to fault", required: bool = True, default: str | None = None
) -> Param:
    return Param(f"{what}.", required, default, int_range(1, 100))


def install(dependencies: str) -> Param:
    return Param(f"Install the tools the action needs ({dependencies}).", False, "True", BOOLEAN)


def flag(description: str, default: str | None = "false") -> Param:
    return Param(description, False, default, BOOLEAN)
