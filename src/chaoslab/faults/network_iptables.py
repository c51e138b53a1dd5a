"""iptables inside one unit's network namespace, as self-contained rule sets.

Every network fault owns one private chain per (table, hook) and jumps into it from a built-in
chain. Installing adds the jump last, so a fault takes effect only once all its rules are in;
removing deletes the jump first. A rule set is plain data (`to_record`/`from_record`), so the
undo journal alone is enough to remove it after a lab crash, and removal is idempotent: a
missing namespace, jump or chain is simply "already gone".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaoslab.runtime.commands import CommandError, run_command

NETNS_RUN = Path("/run/netns")
# Egress drops: a DROP in OUTPUT makes a UDP sender's sendto() fail with EPERM, which no real
# network does. Faults instead mark such packets (mangle OUTPUT, which re-routes marked
# packets) and a policy rule routes marks to the "sink", a veth whose peer is down: the packet
# vanishes silently, like one lost on the wire. One sink per namespace, shared by faults.
SINK_MARK = "0x400000/0x400000"
SINK_LINK = "cl-sink"
SINK_TABLE = "4040"


@dataclass
class Chain:
    """A private chain in `table`, entered from built-in `hook` by a jump with `jump_match`
    (an empty `hook` is a helper chain that only the fault's other chains jump to)."""

    table: str
    hook: str
    name: str
    rules: list[list[str]]
    jump_match: list[str] = field(default_factory=list)

    def jump(self) -> list[str]:
        return [*self.jump_match, "-j", self.name]


@dataclass
class RuleSet:
    """All chains one fault installs in one namespace."""

    netns: str
    chains: list[Chain]

    @property
    def uses_sink(self) -> bool:
        return any(SINK_MARK in rule for c in self.chains for rule in c.rules)

    def to_record(self) -> dict[str, Any]:
        return {
            "netns": self.netns,
            "chains": [
                {"table": c.table, "hook": c.hook, "name": c.name, "rules": c.rules, "jump_match": c.jump_match}
                for c in self.chains
            ],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> RuleSet:
        return cls(record["netns"], [Chain(**c) for c in record["chains"]])


def netns_exists(netns: str) -> bool:
    return (NETNS_RUN / netns).exists()


async def iptables(netns: str, table: str, args: list[str], check: bool = True) -> tuple[int, str]:
    """Run one iptables command inside `netns` (`-w`: wait for the xtables lock, never fail on it)."""
    return await run_command(["ip", "netns", "exec", netns, "iptables", "-w", "5", "-t", table, *args], check=check)


async def install(rules: RuleSet) -> None:
    """Create the chains and their rules, then jump into them (the jump makes it take effect).
    A failure part-way removes what was made, so nothing half-applied stays behind."""
    try:
        if rules.uses_sink:
            await ensure_sink(rules.netns)
        for chain in rules.chains:
            await iptables(rules.netns, chain.table, ["-N", chain.name])
            for rule in chain.rules:
                await iptables(rules.netns, chain.table, ["-A", chain.name, *rule])
        for chain in rules.chains:
            if chain.hook:
                await iptables(rules.netns, chain.table, ["-I", chain.hook, "1", *chain.jump()])
    except CommandError:
        await remove(rules)
        raise


async def remove_jumps(rules: RuleSet) -> None:
    """Delete the jumps only: the fault no longer sees new packets, but its chains (and what
    their rules hold, such as the NAT of flows already redirected) stay until `remove`."""
    if not netns_exists(rules.netns):
        return
    for chain in (c for c in rules.chains if c.hook):
        for _ in range(16):  # a jump added twice (a retried install) is deleted twice
            rc, _ = await iptables(rules.netns, chain.table, ["-D", chain.hook, *chain.jump()], check=False)
            if rc != 0:
                break


async def remove(rules: RuleSet) -> None:
    """Delete jumps, then flush and delete the chains. Safe to repeat and after a crash."""
    await remove_jumps(rules)
    if not netns_exists(rules.netns):
        return
    for chain in rules.chains:  # flush all first: a chain still referenced cannot be deleted
        await iptables(rules.netns, chain.table, ["-F", chain.name], check=False)
    for chain in rules.chains:
        await iptables(rules.netns, chain.table, ["-X", chain.name], check=False)
    if rules.uses_sink:
        _, mangle = await iptables(rules.netns, "mangle", ["-S"], check=False)
        if SINK_MARK.split("/")[0] not in mangle:  # no other fault still sends packets there
            await remove_sink(rules.netns)


async def _ip(netns: str, args: list[str], check: bool = True) -> tuple[int, str]:
    return await run_command(["ip", "-n", netns, *args], check=check)


async def ensure_sink(netns: str) -> None:
    """The namespace's packet sink: a veth with its peer down, and marked packets routed to it."""
    rc, _ = await _ip(netns, ["link", "show", SINK_LINK], check=False)
    if rc == 0:
        return
    await _ip(netns, ["link", "add", SINK_LINK, "type", "veth", "peer", "name", SINK_LINK + "-p"])
    await _ip(netns, ["link", "set", SINK_LINK, "arp", "off", "up"])
    await _ip(netns, ["route", "add", "default", "dev", SINK_LINK, "table", SINK_TABLE])
    await _ip(netns, ["rule", "add", "fwmark", SINK_MARK, "lookup", SINK_TABLE, "priority", SINK_TABLE])


async def remove_sink(netns: str) -> None:
    for _ in range(8):
        rc, _ = await _ip(netns, ["rule", "del", "priority", SINK_TABLE], check=False)
        if rc != 0:
            break
    await _ip(netns, ["link", "del", SINK_LINK], check=False)


_IP_PEER_WARNING = "Error: Peer netns reference is invalid"


async def listing(netns: str) -> str:
    """`iptables -S` of the filter, nat and mangle tables plus links and policy rules: what
    tests compare before and after a fault."""
    out = []
    for table in ("filter", "nat", "mangle"):
        _, text = await iptables(netns, table, ["-S"])
        out.append(f"# {table}\n{text}")
    for what in (["-o", "link", "show"], ["rule", "show"]):
        _, text = await _ip(netns, what)
        # `ip` warns on stderr (merged here) when a veth's peer namespace has no id right now,
        # as when another namespace on the host is being deleted: a moment, not state.
        lines = [line.split(" link/")[0] for line in text.splitlines() if not line.startswith(_IP_PEER_WARNING)]
        out.append(f"# ip {' '.join(what)}\n" + "\n".join(lines))
    return "".join(out)
