"""The iptables rule sets of the network faults, as pure functions of their parameters.

Each builder returns a `RuleSet` for one unit namespace; `network_iptables.install` applies it.
Chain names carry a per-fault tag, so two faults in one namespace never share a chain.

Conventions (see docs/faults.md):
* `sources` is a list of IPv4 addresses/CIDRs, or None for ALL.
* packets arriving are dropped in filter INPUT; packets leaving are marked in mangle OUTPUT and
  routed into the namespace's sink (see network_iptables), so senders see a silent loss.
* loss and latency act on the unit's `eth0` only (loopback traffic inside the unit is untouched,
  as netem on eth0 would leave it); blackhole matches the port on every interface, like the
  AWSFIS-Run-Network-Blackhole-Port document's plain INPUT/OUTPUT rules.
"""

from __future__ import annotations

from chaoslab.faults.network_iptables import SINK_MARK, Chain, RuleSet

LOSS_CONNMARK = "0x100000/0x100000"  # "this flow was picked for loss" (flowsPercent < 100)
PROXY_MARK = "0x2c1"  # SO_MARK of the delay proxy's own upstream sockets: never redirected again
DROP = ["-j", "DROP"]  # arriving packets (filter INPUT)
SINK = ["-j", "MARK", "--set-xmark", SINK_MARK]  # leaving packets (mangle OUTPUT): lost silently


def _probability(percent: float) -> str:
    return f"{max(0.0, min(100.0, percent)) / 100:.6f}"


def _chance(percent: float) -> list[str]:
    """A random match for `percent` %, or nothing at 100 % (always)."""
    return [] if percent >= 100 else ["-m", "statistic", "--mode", "random", "--probability", _probability(percent)]


def blackhole(netns: str, tag: str, port: int, protocol: str, traffic_type: str) -> RuleSet:
    """ingress: drop packets arriving for `port`; egress: drop packets the unit sends to `port`."""
    match = ["-p", protocol, "--dport", str(port)]
    if traffic_type == "ingress":
        return RuleSet(netns, [Chain("filter", "INPUT", f"CLBH-{tag}", [[*match, *DROP]])])
    return RuleSet(netns, [Chain("mangle", "OUTPUT", f"CLBH-{tag}", [[*match, *SINK]])])


def packet_loss(netns: str, tag: str, loss_percent: float, flows_percent: float, sources: list[str] | None) -> RuleSet:
    """Drop `loss_percent` % of packets, both directions, of the flows to/from `sources`.

    flowsPercent: a new flow (conntrack NEW, either direction) is picked with that probability
    and its connection mark set; only marked flows then lose packets. A dropped first packet
    leaves no conntrack entry, so its retransmission is picked afresh (slightly favours picking).
    """

    def decide(drop: list[str]) -> list[list[str]]:
        rules: list[list[str]] = []
        if flows_percent < 100:
            rules.append(
                [
                    "-m",
                    "conntrack",
                    "--ctstate",
                    "NEW",
                    *_chance(flows_percent),
                    "-j",
                    "CONNMARK",
                    "--set-xmark",
                    LOSS_CONNMARK,
                ]
            )
            rules.append(["-m", "connmark", "!", "--mark", LOSS_CONNMARK, "-j", "RETURN"])
        rules.append([*_chance(loss_percent), *drop])
        return rules

    peers: list[str | None] = [*sources] if sources else [None]
    return RuleSet(
        netns,
        [
            Chain("filter", "", f"CLPL-{tag}-in", decide(DROP)),
            Chain("mangle", "", f"CLPL-{tag}-out", decide(SINK)),
            Chain(
                "filter",
                "INPUT",
                f"CLPL-{tag}-I",
                [[*(["-s", p] if p else []), "-j", f"CLPL-{tag}-in"] for p in peers],
                ["-i", "eth0"],
            ),
            Chain(
                "mangle",
                "OUTPUT",
                f"CLPL-{tag}-O",
                [[*(["-d", p] if p else []), "-j", f"CLPL-{tag}-out"] for p in peers],
                ["-o", "eth0"],
            ),
        ],
    )


def latency_redirect(
    netns: str,
    tag: str,
    flows_percent: float,
    sources: list[str] | None,
    ingress_ports: list[int],
    egress_proxy_port: int,
    ingress_proxy_port: int,
) -> RuleSet:
    """Send the affected TCP flows through the unit's delay proxy.

    egress: new connections the unit opens towards `sources` go to the proxy (nat OUTPUT),
    except the proxy's own (SO_MARK PROXY_MARK); ingress: new connections arriving on eth0 for
    `ingress_ports` go to it too (nat PREROUTING). NAT decides on a flow's first packet only, so
    a `statistic` match here picks flowsPercent of the flows, in the kernel. Only a SYN is
    redirected: a flow already open when these rules switch connection tracking on is picked up
    mid-stream as new, and redirecting it would hand the proxy packets of a connection it never
    accepted — the flow would hang.
    """
    peers: list[str | None] = [*sources] if sources else [None]
    chance = _chance(flows_percent)
    egress = [
        [
            "-p",
            "tcp",
            "--syn",
            *(["-d", p] if p else []),
            *chance,
            "-j",
            "REDIRECT",
            "--to-ports",
            str(egress_proxy_port),
        ]
        for p in peers
    ]
    ingress = [
        [
            "-p",
            "tcp",
            "--dport",
            str(port),
            "--syn",
            *(["-s", p] if p else []),
            *chance,
            "-j",
            "REDIRECT",
            "--to-ports",
            str(ingress_proxy_port),
        ]
        for port in ingress_ports
        for p in peers
    ]
    chains = [
        Chain(
            "nat",
            "OUTPUT",
            f"CLLT-{tag}-O",
            egress,
            ["-p", "tcp", "!", "-o", "lo", "-m", "mark", "!", "--mark", PROXY_MARK],
        )
    ]
    if ingress:
        chains.append(Chain("nat", "PREROUTING", f"CLLT-{tag}-I", ingress, ["-i", "eth0", "-p", "tcp"]))
    return RuleSet(netns, chains)
