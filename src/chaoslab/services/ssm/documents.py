"""The AWSFIS-Run-* documents and AWS-RunShellScript the lab runs, with AWS's parameter names
and defaults.

A document run gets the instance's unit and its parameters, translates them into a fault from
`chaoslab.faults` and applies it with `run.apply`, which journals the undo record before the
fault takes effect, so cancelling the command (or a lab crash) can undo it. A `FaultError`
fails the invocation (the backend reports it). The run returns its
standard output. A run ends after DurationSeconds, as the AWS documents do (their rollback
scripts undo the fault then).
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.faults import network, stress
from chaoslab.faults import network_rules as rules
from chaoslab.faults.base import Fault, FaultConfigError, FaultStartError, Journal
from chaoslab.faults.network_iptables import RuleSet
from chaoslab.faults.process import KillProcess
from chaoslab.runtime.commands import CommandError
from chaoslab.runtime.unit import ComputeUnit
from chaoslab.services.ec2 import instance_types

MiB = 1024 * 1024
# Memory-Stress's Percent is of the instance type's memory (`ec2.instance_types`; unknown types
# count 1 GiB) and of at most CHAOSLAB_MEMORY_STRESS_MAX_BYTES, the lab's cap.


@dataclass
class DocumentRun:
    """One document on one instance: what a run may use."""

    lab: Any
    instance: Any
    unit: ComputeUnit
    params: dict[str, str]
    journal: Journal
    lines: list[str] = field(default_factory=list)

    async def apply(self, fault: Fault) -> dict[str, Any]:
        """Apply `fault`, journaled under the command."""
        return await fault.apply(self.journal)

    def say(self, line: str) -> None:
        self.lines.append(line)

    def number(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise FaultConfigError(f"{name} must be an integer, not {self.params[name]!r}") from None


Runner = Callable[[DocumentRun], Awaitable[None]]


@dataclass(frozen=True)
class Document:
    name: str
    defaults: dict[str, str | None]  # None = required
    run: Runner
    lines: frozenset[str] = frozenset()  # StringList parameters whose items are lines, not a CSV

    def parameters(self, given: dict[str, list[str]]) -> dict[str, str]:
        """The run's parameters: AWS defaults filled in; unknown or missing ones refused as SSM does."""
        unknown = sorted(set(given) - set(self.defaults))
        if unknown:
            raise AwsError(
                "InvalidParameters", f"Parameter(s) {', '.join(unknown)} are not defined in the document {self.name}."
            )
        out: dict[str, str] = {}
        for name, default in self.defaults.items():
            values = given.get(name)
            if values:
                out[name] = ("\n" if name in self.lines else ",").join(values)
            elif default is None:
                raise AwsError("InvalidParameters", f"Parameter {name} is required by the document {self.name}.")
            else:
                out[name] = default
        return out


async def cpu_stress(run: DocumentRun) -> None:
    seconds, workers, percent = run.number("DurationSeconds"), run.number("CPU"), run.number("LoadPercent")
    fault = stress.cpu(run.unit, percent=percent, workers=workers, duration=seconds)
    record = await run.apply(fault)
    run.say(f"stress-ng: info: dispatching hogs: {len(record['workers'])} cpu at {percent}% load")
    await fault.wait()
    run.say(f"stress-ng: info: successful run completed in {seconds}s")


async def memory_stress(run: DocumentRun) -> None:
    seconds, percent, workers = run.number("DurationSeconds"), run.number("Percent"), run.number("Workers")
    budget = (instance_types.memory_mib(getattr(run.instance, "instance_type", "")) or 1024) * MiB
    fault = stress.memory(run.unit, size=budget * percent // 100, workers=workers, duration=seconds)
    record = await run.apply(fault)
    held = sum(int(record["bytes"]) for _ in record["workers"])
    run.say(
        f"stress-ng: info: dispatching hogs: {workers} vm, {held // MiB} MiB of a {budget // MiB} MiB budget "
        f"({percent}%, lab cap {stress.lab_limit(stress.MEMORY_MAX_BYTES_ENV) // MiB} MiB)"
    )
    await fault.wait()
    run.say(f"stress-ng: info: successful run completed in {seconds}s")


async def io_stress(run: DocumentRun) -> None:
    seconds, percent, workers = run.number("DurationSeconds"), run.number("Percent"), run.number("Workers")
    fault = stress.io(run.unit, percent=percent, workers=workers, duration=seconds)
    record = await run.apply(fault)
    run.say(f"stress-ng: info: dispatching hogs: {workers} hdd, {int(record['bytes']) // MiB} MiB each")
    await fault.wait()
    totals = stress.io_stats(record)
    run.say(
        f"stress-ng: info: wrote {sum(t['bytes'] for t in totals) // MiB} MiB with "
        f"{sum(t['fsyncs'] for t in totals)} fsyncs in {seconds}s"
    )


async def disk_fill(run: DocumentRun) -> None:
    seconds, percent = run.number("DurationSeconds"), run.number("Percent")
    fault = stress.disk_fill(run.unit, percent=percent, duration=seconds)
    record = await run.apply(fault)
    run.say(
        f"fallocate: filling {int(record['bytes']) // MiB} MiB towards {percent}% "
        f"(lab cap {stress.lab_limit(stress.DISK_FILL_MAX_BYTES_ENV) // MiB} MiB)"
    )
    await fault.wait()
    run.say("Disk fill rolled back: file removed.")


async def kill_process(run: DocumentRun) -> None:
    fault = KillProcess(run.unit, run.params["ProcessName"], run.params["Signal"])
    await run.apply(fault)
    run.say(f"Sent {run.params['Signal']} to {run.params['ProcessName']} (pids {' '.join(map(str, fault.signalled))})")


async def _hold_rules(run: DocumentRun, rule_set: RuleSet) -> None:
    await run.apply(network.NetworkRules(run.unit.unit_id, rule_set))
    await run.lab.clock.sleep(run.number("DurationSeconds"))


def _netns(run: DocumentRun) -> str:
    return network.unit_netns(run.unit, f"instance {run.unit.unit_id}")


async def blackhole_port(run: DocumentRun) -> None:
    rule_set = rules.blackhole(
        _netns(run), network.new_tag(), run.number("Port"), run.params["Protocol"], run.params["TrafficType"]
    )
    run.say(f"Blackholing {run.params['TrafficType']} {run.params['Protocol']} port {run.params['Port']}")
    await _hold_rules(run, rule_set)


async def packet_loss(run: DocumentRun) -> None:
    flows, netns = float(run.params.get("FlowsPercent", "100")), _netns(run)
    sources = network.resolve_sources(run.lab, run.params.get("Sources"))
    rule_set = rules.packet_loss(netns, network.new_tag(), float(run.params["LossPercent"]), flows, sources)
    run.say(f"Dropping {run.params['LossPercent']}% of packets")
    await _hold_rules(run, rule_set)


async def latency(run: DocumentRun) -> None:
    delay, jitter = run.number("DelayMilliseconds"), int(run.params.get("JitterMilliseconds", "0"))
    fault = network.NetworkLatency(
        run.unit,
        run.unit.unit_id,
        _netns(run),
        delay_ms=delay,
        jitter_ms=jitter,
        flows_percent=int(run.params.get("FlowsPercent", "100")),
        sources=network.resolve_sources(run.lab, run.params.get("Sources")),
        ingress_ports=[int(getattr(run.instance, "port", 80))],
    )
    await run.apply(fault)
    run.say(f"Adding {delay} ms (jitter {jitter} ms) of latency")
    await run.lab.clock.sleep(run.number("DurationSeconds"))


async def shell_script(run: DocumentRun) -> None:
    """AWS-RunShellScript: the commands as one shell script inside the instance (its network
    namespace), within executionTimeout; a non-zero exit fails the invocation."""
    timeout = run.number("executionTimeout") / run.lab.clock.scale
    cwd = run.params["workingDirectory"]
    script = f"cd {shlex.quote(cwd)} || exit 1\n{run.params['commands']}" if cwd else run.params["commands"]
    try:
        code, output = await run.unit.run(["sh", "-c", script], timeout)
    except CommandError as exc:
        raise FaultStartError(f"commands did not finish within executionTimeout: {exc}") from None
    run.lines.extend(output.splitlines())
    if code != 0:
        raise FaultStartError(f"failed to run commands: exit status {code}")


_COMMON = {"DurationSeconds": None, "InstallDependencies": "True"}
_SOURCES = {"Interface": "DEFAULT", "FlowsPercent": "100", "Sources": None, "TrafficType": "ingress"}

DOCUMENTS: dict[str, Document] = {
    d.name: d
    for d in [
        Document("AWSFIS-Run-CPU-Stress", {**_COMMON, "CPU": "0", "LoadPercent": "100"}, cpu_stress),
        Document("AWSFIS-Run-Memory-Stress", {**_COMMON, "Percent": None, "Workers": "1"}, memory_stress),
        Document("AWSFIS-Run-IO-Stress", {**_COMMON, "Workers": "1", "Percent": "80"}, io_stress),
        Document("AWSFIS-Run-Disk-Fill", {**_COMMON, "Percent": "95"}, disk_fill),
        Document(
            "AWSFIS-Run-Kill-Process",
            {"ProcessName": None, "Signal": "SIGTERM", "InstallDependencies": "True"},
            kill_process,
        ),
        Document(
            "AWSFIS-Run-Network-Blackhole-Port",
            {**_COMMON, "Protocol": None, "Port": None, "TrafficType": "ingress"},
            blackhole_port,
        ),
        Document("AWSFIS-Run-Network-Latency", {**_COMMON, "Interface": "eth0", "DelayMilliseconds": "200"}, latency),
        Document(
            "AWSFIS-Run-Network-Latency-Sources",
            {**_COMMON, **_SOURCES, "DelayMilliseconds": "200", "JitterMilliseconds": "10"},
            latency,
        ),
        Document("AWSFIS-Run-Network-Packet-Loss", {**_COMMON, "Interface": "eth0", "LossPercent": "7"}, packet_loss),
        Document("AWSFIS-Run-Network-Packet-Loss-Sources", {**_COMMON, **_SOURCES, "LossPercent": "7"}, packet_loss),
        Document(
            "AWS-RunShellScript",
            {"commands": None, "workingDirectory": "", "executionTimeout": "3600"},
            shell_script,
            frozenset({"commands"}),
        ),
    ]
}


def document(name: str) -> Document:
    """The document by name or by its ARN (arn:aws:ssm:<region>::document/<name>)."""
    short = name.rsplit("document/", 1)[-1]
    if short not in DOCUMENTS:
        raise AwsError(
            "InvalidDocument",
            f"Document {short} does not exist or is not supported by chaoslab (supported: {', '.join(DOCUMENTS)}).",
        )
    return DOCUMENTS[short]
