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

    def to_record(self) -> dict[str, Any]:
        return {"netns": self.netns, "chains": [
            {"table": c.table, "hook": c.hook, "name": c.name, "rules": c.rules, "jump_match": c.jump_match}
            for c in self.chains]}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> RuleSet:
        return cls(record["netns"], [Chain(**c) for c in record["chains"]])


def netns_exists(netns: str) -> bool:
    return (NETNS_RUN / netns).exists()


async def iptables(netns: str, table: str, args: list[str], check: bool = True) -> tuple[int, str]:
    """Run one iptables command inside `netns` (`-w`: wait for the xtables lock, never fail on it)."""
    return await run_command(["ip", "netns", "exec", netns, "iptables", "-w", "5", "-t", table, *args],
                             check=check)


async def install(rules: RuleSet) -> None:
    """Create the chains and their rules, then jump into them (the jump makes it take effect).
    A failure part-way removes what was made, so nothing half-applied stays behind."""
    try:
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


async def remove(rules: RuleSet) -> None:
    """Delete jumps, then flush and delete the chains. Safe to repeat and after a crash."""
    if not netns_exists(rules.netns):
        return
    for chain in (c for c in rules.chains if c.hook):
        for _ in range(16):  # a jump added twice (a retried install) is deleted twice
            rc, _ = await iptables(rules.netns, chain.table, ["-D", chain.hook, *chain.jump()], check=False)
            if rc != 0:
                break
    for chain in rules.chains:
        await iptables(rules.netns, chain.table, ["-F", chain.name], check=False)
        await iptables(rules.netns, chain.table, ["-X", chain.name], check=False)


async def listing(netns: str) -> str:
    """`iptables -S` of the filter, nat and mangle tables: what tests compare before and after."""
    out = []
    for table in ("filter", "nat", "mangle"):
        _, text = await iptables(netns, table, ["-S"])
        out.append(f"# {table}\n{text}")
    return "".join(out)
