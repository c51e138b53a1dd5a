"""How long AWS takes: the named delays of the lab's recoveries, launches, metrics and FIS's own
steps, per timing profile.

A rehearsal that recovers in 0.2 s where AWS takes 30 s says "yes" where production says "no",
so by default (`aws`) a failover, a launch, a reboot, a datapoint's way to an alarm or a fault's
start lasts as long as AWS's own documentation, published measurements or (marked so) the
lab's estimate say (docs/timing.md names the source of each). `fast` keeps the
near-instant behaviour tests and CI smoke runs want. Each delay is a triangular distribution
(low, most likely, high) in scenario seconds, drawn from its own seeded stream so a run is
reproducible and one delay's draws do not depend on how often another was drawn. Waits go
through the lab clock, so `--time-scale N` divides them like every other AWS duration.

Delays apply once the lab is ready (`arm`): the architecture `chaoslab up` builds already
exists in AWS, so bringing it up is not delayed; what happens afterwards is.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from chaoslab.errors import ChaoslabError


@dataclass(frozen=True)
class Delay:
    """A triangular distribution of scenario seconds; low == high is a constant."""

    low: float
    mode: float
    high: float

    def __post_init__(self) -> None:
        if not (0 <= self.low <= self.mode <= self.high and math.isfinite(self.high)):
            raise ValueError(f"a delay needs 0 <= low <= mode <= high, not {self}")

    def draw(self, rng: random.Random) -> float:
        if self.low == self.high:
            return self.low
        return rng.triangular(self.low, self.high, self.mode)

    @property
    def median(self) -> float:
        """The distribution's median (what the docs and the benchmark quote)."""
        lo, mo, hi = self.low, self.mode, self.high
        if lo == hi:
            return lo
        if mo - lo >= (hi - lo) / 2:
            return lo + math.sqrt((hi - lo) * (mo - lo) / 2)
        return hi - math.sqrt((hi - lo) * (hi - mo) / 2)


AWS: dict[str, Delay] = {
    # EC2: pending → running and the AMI's boot up to its own programs (also a reboot's boot).
    "ec2_boot_s": Delay(15, 25, 60),
    # EC2: after running, cloud-init's stages before the user data script starts (first boot only).
    "ec2_user_data_s": Delay(5, 10, 30),
    # ECS on Fargate: PROVISIONING (capacity, ENI attachment) → PENDING.
    "ecs_provisioning_s": Delay(10, 20, 40),
    # ECS: PENDING (image pull, container start) → RUNNING.
    "ecs_image_pull_s": Delay(15, 30, 60),
    # Aurora: from the writer's fence to writes accepted on the promoted reader.
    "rds_failover_write_unavailable_s": Delay(15, 25, 60),
    # Aurora cluster endpoint: a CNAME whose records carry this TTL.
    "rds_endpoint_dns_ttl_s": Delay(5, 5, 5),
    # RDS/Aurora: a DB instance reboot, stop to accepting connections again.
    "rds_reboot_s": Delay(10, 20, 60),
    # CloudWatch: a service's datapoint (AWS/* namespaces) until reads and alarms see it.
    "cloudwatch_metric_delay_s": Delay(30, 60, 120),
    # CloudWatch: a PutMetricData call's datapoints until reads and alarms see them.
    "cloudwatch_put_metric_data_delay_s": Delay(1, 2, 10),
    # FIS: StartExperiment until the experiment is running (its own time in `initiating`).
    "fis_experiment_initiating_s": Delay(2, 4, 10),
    # FIS: an action's `initiating` until its fault takes effect.
    "fis_action_start_s": Delay(1, 3, 10),
    # FIS: a stop (StopExperiment, a stop condition) until a running action's faults are reverted.
    "fis_action_stop_s": Delay(1, 3, 10),
}

FAST: dict[str, Delay] = {name: Delay(0, 0, 0) for name in AWS}

PROFILES: dict[str, dict[str, Delay]] = {"aws": AWS, "fast": FAST}


def _stream_seed(seed: int, name: str) -> int:
    return seed * 1_000_003 + zlib.crc32(name.encode())


@dataclass
class Timing:
    """The lab's delays: a profile, single delays overridden by the user, seeded draws."""

    profile: str = "aws"
    overrides: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    armed: bool = False
    _streams: dict[str, random.Random] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ChaoslabError(
                f"unknown timing profile {self.profile!r}", hint=f"one of: {', '.join(sorted(PROFILES))}"
            )
        check_overrides(self.overrides)

    def delay(self, name: str) -> Delay:
        """The distribution in effect for `name` (an override is a constant)."""
        if name in self.overrides:
            value = self.overrides[name]
            return Delay(value, value, value)
        return PROFILES[self.profile][name]

    def draw(self, name: str) -> float:
        """Scenario seconds this occurrence of `name` takes; 0 until the lab is ready."""
        delay = self.delay(name)  # unknown names fail even before the lab is armed
        if not self.armed:
            return 0.0
        rng = self._streams.get(name)
        if rng is None:  # made once: metrics draw a delay for every datapoint they put
            rng = self._streams[name] = random.Random(_stream_seed(self.seed, name))
        return delay.draw(rng)

    def arm(self) -> None:
        """From now on delays apply (the lab is ready: what follows happens 'in AWS')."""
        self.armed = True

    def describe(self) -> dict[str, object]:
        """What `status` and the report show: the profile, its overrides, each delay's range."""
        return {
            "profile": self.profile,
            "overrides": dict(self.overrides),
            "seed": self.seed,
            "delays": {
                n: {"low": d.low, "median": round(d.median, 3), "high": d.high} for n in AWS for d in [self.delay(n)]
            },
        }


def check_overrides(overrides: Mapping[str, object]) -> None:
    """Every name a known delay and every value a finite number ≥ 0, or a ChaoslabError naming the allowed ones."""
    for name, value in overrides.items():
        if name not in AWS:
            raise ChaoslabError(f"unknown timing delay {name!r}", hint=f"allowed: {', '.join(sorted(AWS))}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and value >= 0):
            raise ChaoslabError(
                f"timing delay {name} must be a number of seconds >= 0, not {value!r}",
                hint=f"e.g. {name}=25",
            )


def parse_override(text: str) -> tuple[str, float]:
    """`NAME=SECONDS` (from `--timing`) as a checked pair."""
    name, sep, raw = (part.strip() for part in text.partition("="))
    if not sep:
        raise ChaoslabError(f"--timing takes NAME=SECONDS, not {text!r}", hint=f"allowed: {', '.join(sorted(AWS))}")
    try:
        value: object = float(raw)
    except ValueError:
        value = raw
    check_overrides({name: value})  # a bad value is reported as given
    assert isinstance(value, float)
    return name, value
