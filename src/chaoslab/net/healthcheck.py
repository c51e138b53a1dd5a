"""ALB target health checks: the per-target state machine, the HTTP matcher and the prober.

The state machine is pure (fed probe results, no clock) so its AWS semantics can be tested
exactly; the prober is the only part that touches sockets. Each probe opens a new connection and
closes it afterwards, as the ALB does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

INITIAL = "initial"
HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
DRAINING = "draining"
UNUSED = "unused"

# Reason codes and the descriptions AWS shows with them.
REASONS = {
    "Elb.RegistrationInProgress": "Target registration is in progress",
    "Elb.InitialHealthChecking": "Initial health checks in progress",
    "Target.Timeout": "Request timed out",
    "Target.FailedHealthChecks": "Health checks failed",
    "Target.DeregistrationInProgress": "Target deregistration is in progress",
    "Target.NotRegistered": "Target is not registered to the target group",
    "Target.NotInUse": "Target group is not configured to receive traffic from the load balancer",
}


def parse_matcher(spec: str) -> list[tuple[int, int]]:
    """Turn an ALB HttpCode matcher ("200", "200,202", "200-299") into inclusive ranges.

    Raises ValueError for anything ALB would reject (codes outside 200-499, bad syntax)."""
    ranges: list[tuple[int, int]] = []
    for part in spec.replace(" ", "").split(","):
        low_text, sep, high_text = part.partition("-")
        low = int(low_text)
        high = int(high_text) if sep else low
        if not (200 <= low <= high <= 499):
            raise ValueError(f"Invalid HTTP code matcher '{spec}': codes must be in 200-499")
        ranges.append((low, high))
    if not ranges:
        raise ValueError("Matcher must name at least one code")
    return ranges


def matches(ranges: list[tuple[int, int]], status: int) -> bool:
    return any(low <= status <= high for low, high in ranges)


@dataclass(frozen=True)
class ProbeResult:
    """One probe's outcome: passed, or failed with an AWS reason code and description."""

    ok: bool
    reason: str | None = None
    description: str | None = None


PASS = ProbeResult(True)


def classify(status: int | None, ranges: list[tuple[int, int]]) -> ProbeResult:
    """Map a probe's HTTP status (None = no valid response) to a result as the ALB reports it."""
    if status is None:
        return ProbeResult(False, "Target.FailedHealthChecks", REASONS["Target.FailedHealthChecks"])
    if matches(ranges, status):
        return PASS
    return ProbeResult(False, "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{status}]")


class TargetHealthState:
    """One registered target's ALB health state.

    initial -> healthy after ONE pass; healthy -> unhealthy after `unhealthy_threshold`
    consecutive failures (a target still in `initial` also goes unhealthy after that many);
    unhealthy -> healthy after `healthy_threshold` consecutive passes. Draining is terminal.
    """

    __slots__ = ("state", "reason", "description", "passes", "failures")

    def __init__(self, state: str = INITIAL, reason: str | None = "Elb.RegistrationInProgress") -> None:
        self.state = state
        self.reason = reason
        self.description = REASONS.get(reason or "")
        self.passes = 0
        self.failures = 0

    def set(self, state: str, reason: str | None, description: str | None = None) -> tuple[str, str]:
        """Force a state (registration, draining, not-in-use); returns (old, new)."""
        old = self.state
        self.state, self.reason = state, reason
        self.description = description or REASONS.get(reason or "")
        self.passes = self.failures = 0
        return old, state

    def observe(self, result: ProbeResult, healthy_threshold: int, unhealthy_threshold: int) -> tuple[str, str] | None:
        """Feed one probe result; returns (old, new) when the state changes, else None."""
        if self.state in (DRAINING, UNUSED):
            return None
        old = self.state
        if result.ok:
            self.failures = 0
            self.passes += 1
            if self.state == INITIAL or (self.state == UNHEALTHY and self.passes >= healthy_threshold):
                self.state, self.reason, self.description = HEALTHY, None, None
            elif self.state == UNHEALTHY:
                return None
        else:
            self.passes = 0
            self.failures += 1
            if self.state == INITIAL and self.reason == "Elb.RegistrationInProgress":
                self.reason = "Elb.InitialHealthChecking"
                self.description = REASONS[self.reason]
            if self.state == UNHEALTHY or self.failures >= unhealthy_threshold:
                # While unhealthy, keep the latest reason (AWS updates it with each failure).
                self.state, self.reason, self.description = UNHEALTHY, result.reason, result.description
        return (old, self.state) if self.state != old else None

    def start_checking(self) -> None:
        """The first probe is on its way: RegistrationInProgress becomes InitialHealthChecking."""
        if self.state == INITIAL:
            self.reason = "Elb.InitialHealthChecking"
            self.description = REASONS[self.reason]


async def probe(host: str, port: int, path: str, timeout: float, ranges: list[tuple[int, int]]) -> ProbeResult:
    """One HTTP GET health check on a fresh connection, closed afterwards."""
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: ELB-HealthChecker/2.0\r\n"
                "Accept: */*\r\nConnection: close\r\n\r\n".encode("latin-1")
            )
            line = await reader.readline()
    except TimeoutError:
        return ProbeResult(False, "Target.Timeout", REASONS["Target.Timeout"])
    except (OSError, ValueError):  # ValueError: a status line longer than the reader's limit
        return classify(None, ranges)
    finally:
        if writer is not None:
            writer.close()
    parts = line.split(None, 2)
    status = int(parts[1]) if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit() else None
    return classify(status, ranges)
