"""Inline SVG charts for the HTML report, generated here so the report needs no JS library.

Every time chart shares one x scale (seconds since the run started, same plot width), so the
charts stacked in the report line up: a spike of 502s sits right above the drop in healthy
hosts that explains it. Fault windows are shaded and phase boundaries marked on each of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 1120
LEFT, RIGHT, TOP = 64, 20, 22
OUTCOME_COLORS = {"2xx": "#3f9a68", "4xx": "#e0a82e", "5xx": "#d64545", "timeout": "#6d43a6", "no answer": "#4a4f57"}
LATENCY_COLORS: dict[float, str] = {50: "#2f6db5", 90: "#e08a2b", 99: "#c23b3b"}
ALARM_COLORS = {"OK": "#3f9a68", "ALARM": "#d64545", "INSUFFICIENT_DATA": "#b8bec7"}
UNIT_COLORS = {
    "pending": "#e0a82e",
    "running": "#3f9a68",
    "stopping": "#e07b39",
    "stopped": "#d64545",
    "shutting-down": "#a94a4a",
    "terminated": "#8a93a6",
}


@dataclass(frozen=True)
class Window:
    """A shaded span (a fault in effect), in seconds since the run started."""

    start: float
    end: float
    label: str


@dataclass(frozen=True)
class Boundary:
    """A phase boundary line, in seconds since the run started."""

    at: float
    label: str


def _f(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def nice_step(span: float, target: int) -> float:
    """A 1/2/5 x 10^k step giving about `target` ticks over `span`."""
    if span <= 0:
        return 1.0
    raw = span / max(1, target)
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


class Plot:
    """One chart frame: x in run seconds, y linear or log, with shading and phase lines."""

    def __init__(
        self, duration: float, height: int, y_max: float, *, log: bool = False, y_min: float = 0.0, title: str
    ) -> None:
        self.duration = max(duration, 1.0)
        self.height = height
        self.bottom = height - 28
        self.log = log
        self.y_min, self.y_max = y_min, max(y_max, y_min + 1e-9)
        self.parts: list[str] = []
        self.title = title

    def x(self, sec: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * min(max(sec, 0.0), self.duration) / self.duration

    def y(self, value: float) -> float:
        if self.log:
            lo, hi = math.log10(self.y_min), math.log10(self.y_max)
            frac = (math.log10(max(value, self.y_min)) - lo) / (hi - lo)
        else:
            frac = (value - self.y_min) / (self.y_max - self.y_min)
        return self.bottom - (self.bottom - TOP) * min(max(frac, 0.0), 1.0)

    def add(self, svg: str) -> None:
        self.parts.append(svg)

    def shade(self, windows: Sequence[Window], labels: bool = True) -> None:
        for w in windows:
            x0, x1 = self.x(w.start), self.x(w.end)
            self.add(
                f'<rect class="fault" x="{_f(x0)}" y="{TOP}" width="{_f(max(x1 - x0, 2))}" '
                f'height="{_f(self.bottom - TOP)}"><title>fault {escape(w.label)}</title>'
                "</rect>"
            )
            if labels:
                self.add(f'<text class="fault-label" x="{_f(x0 + 4)}" y="{TOP + 11}">{escape(w.label)}</text>')

    def boundaries(self, lines: Sequence[Boundary], labels: bool) -> None:
        """Dotted lines at phase starts; labels of phases that start within a few pixels of
        each other (a zero-length injection) share one label instead of overprinting."""
        groups: list[tuple[float, list[str]]] = []
        for b in lines:
            x = self.x(b.at)
            self.add(f'<line class="phase" x1="{_f(x)}" x2="{_f(x)}" y1="{TOP - 6}" y2="{_f(self.bottom)}"/>')
            if groups and x - groups[-1][0] < 8 * len(" · ".join(groups[-1][1])):
                groups[-1][1].append(b.label)
            else:
                groups.append((x, [b.label]))
        if labels:
            for x, names in groups:
                self.add(f'<text class="phase-label" x="{_f(x + 4)}" y="{TOP - 9}">{escape(" · ".join(names))}</text>')

    def x_axis(self) -> None:
        step = nice_step(self.duration, 12)
        self.add(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_f(self.bottom)}" y2="{_f(self.bottom)}"/>')
        t = 0.0
        while t <= self.duration + 1e-6:
            x = self.x(t)
            self.add(
                f'<line class="tick" x1="{_f(x)}" x2="{_f(x)}" y1="{_f(self.bottom)}" '
                f'y2="{_f(self.bottom + 4)}"/><text class="xl" x="{_f(x)}" '
                f'y="{_f(self.bottom + 17)}">{_f(t)} s</text>'
            )
            t += step

    def y_axis(self, ticks: Sequence[float], fmt: str = "{:g}", unit: str = "") -> None:
        for v in ticks:
            y = self.y(v)
            self.add(
                f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_f(y)}" '
                f'y2="{_f(y)}"/><text class="yl" x="{LEFT - 8}" y="{_f(y + 4)}">'
                f"{fmt.format(v)}{unit}</text>"
            )

    def render(self) -> str:
        return (
            f'<svg class="chart" viewBox="0 0 {WIDTH} {self.height}" role="img" '
            'preserveAspectRatio="xMidYMid meet">'
            f"<title>{escape(self.title)}</title>{''.join(self.parts)}</svg>"
        )


def linear_ticks(y_max: float, target: int = 4) -> list[float]:
    step = nice_step(y_max, target)
    return [i * step for i in range(int(y_max // step) + 1)]


def outcome_chart(
    counts: Sequence[dict[str, int]], duration: float, windows: Sequence[Window], phases: Sequence[Boundary]
) -> str:
    """Stacked bars per second: 2xx, 4xx, 5xx, timeouts, no answer (bottom to top)."""
    peak = max((sum(c.values()) for c in counts), default=1) or 1
    step = nice_step(peak, 4)
    top = math.ceil(peak / step) * step
    p = Plot(duration, 250, top, title="Outcomes per second")
    p.shade(windows)
    p.y_axis(linear_ticks(top))
    bar = (WIDTH - LEFT - RIGHT) / p.duration
    for sec, c in enumerate(counts):
        base = 0
        for kind, color in OUTCOME_COLORS.items():
            n = c.get(kind, 0)
            if not n:
                continue
            y0, y1 = p.y(base), p.y(base + n)
            p.add(
                f'<rect x="{_f(p.x(sec) + bar * 0.1)}" y="{_f(y1)}" '
                f'width="{_f(max(bar * 0.8, 1))}" height="{_f(max(y0 - y1, 0.5))}" '
                f'fill="{color}"><title>{sec}-{sec + 1} s: {n} {kind}</title></rect>'
            )
            base += n
    p.boundaries(phases, labels=True)
    p.x_axis()
    return p.render()


def latency_chart(
    series: dict[float, list[tuple[int, float]]], duration: float, windows: Sequence[Window], phases: Sequence[Boundary]
) -> str:
    """p50/p90/p99 per second on a log scale: 10 ms and a 5 s timeout both stay readable."""
    values = [v for pts in series.values() for _, v in pts]
    hi = 10 ** math.ceil(math.log10(max(max(values, default=10.0), 10.0)))
    lo = 10 ** math.floor(math.log10(max(min(values, default=1.0), 0.1)))
    p = Plot(duration, 220, hi, log=True, y_min=lo, title="Latency percentiles per second")
    p.shade(windows, labels=False)
    decades = [10**k for k in range(round(math.log10(lo)), round(math.log10(hi)) + 1)]
    p.y_axis(decades, unit=" ms")
    for q, pts in series.items():
        if not pts:
            continue
        path = " ".join(f"{_f(p.x(sec + 0.5))},{_f(p.y(v))}" for sec, v in pts)
        p.add(
            f'<polyline class="series" points="{path}" stroke="{LATENCY_COLORS.get(q, "#555")}">'
            f"<title>p{q:g}</title></polyline>"
        )
    p.boundaries(phases, labels=False)
    p.x_axis()
    return p.render()


def _steps(p: Plot, points: Sequence[tuple[float, float]], end: float) -> str:
    """Step path: a value holds until the next sample."""
    coords = []
    for i, (sec, v) in enumerate(points):
        nxt = points[i + 1][0] if i + 1 < len(points) else end
        coords += [f"{_f(p.x(sec))},{_f(p.y(v))}", f"{_f(p.x(nxt))},{_f(p.y(v))}"]
    return " ".join(coords)


def hosts_chart(
    healthy: Sequence[tuple[float, int]],
    unhealthy: Sequence[tuple[float, int]],
    duration: float,
    windows: Sequence[Window],
    phases: Sequence[Boundary],
) -> str:
    """Healthy (and unhealthy) target count over time as step lines."""
    peak = max([v for _, v in healthy] + [v for _, v in unhealthy] + [1])
    p = Plot(duration, 170, peak + 0.5, title="Healthy hosts")
    p.shade(windows, labels=False)
    p.y_axis([float(i) for i in range(peak + 1)], fmt="{:.0f}")
    for cls, pts in (("healthy", healthy), ("unhealthy", unhealthy)):
        if pts:
            p.add(
                f'<polyline class="series {cls}" points="{_steps(p, pts, duration)}">'
                f"<title>{cls} hosts</title></polyline>"
            )
    p.boundaries(phases, labels=False)
    p.x_axis()
    return p.render()


def state_segments(states: Sequence[tuple[float, str]], end: float) -> list[tuple[float, float, str]]:
    """Merge per-second samples into (start, end, state) runs, so a lane is a few clean bars."""
    segments: list[tuple[float, float, str]] = []
    for i, (sec, state) in enumerate(states):
        nxt = states[i + 1][0] if i + 1 < len(states) else end
        if nxt <= sec:
            continue
        if segments and segments[-1][2] == state and segments[-1][1] >= sec:
            segments[-1] = (segments[-1][0], nxt, state)
        else:
            segments.append((sec, nxt, state))
    return segments


def lanes_chart(
    lanes: Mapping[str, Sequence[tuple[float, str]]],
    colors: dict[str, str],
    duration: float,
    windows: Sequence[Window],
    phases: Sequence[Boundary],
    title: str,
) -> str:
    """One lane per subject (an alarm, a unit), colored by its state over time."""
    label, lane, gap = 16, 18, 8
    row_h = label + lane + gap
    p = Plot(duration, TOP + len(lanes) * row_h + 28, 1.0, title=title)
    p.shade(windows, labels=False)
    for row, (name, states) in enumerate(lanes.items()):
        y = TOP + row * row_h + label
        p.add(f'<text class="lane-label" x="{LEFT}" y="{_f(y - 4)}">{escape(name)}</text>')
        for start, end, state in state_segments(states, duration):
            x0, x1 = p.x(start), p.x(end)
            if x1 - x0 <= 0:
                continue
            p.add(
                f'<rect x="{_f(x0)}" y="{_f(y)}" width="{_f(max(x1 - x0, 1.5))}" '
                f'height="{lane}" fill="{colors.get(state, "#999")}">'
                f"<title>{escape(name)}: {escape(state)} {_f(start)}-{_f(end)} s</title></rect>"
            )
            if x1 - x0 > 8 * len(state) + 8:
                p.add(f'<text class="lane-state" x="{_f(x0 + 5)}" y="{_f(y + 13)}">{escape(state)}</text>')
    p.boundaries(phases, labels=False)
    p.x_axis()
    return p.render()


def window_bar(measured: float | None, bound: float | None, longest: float) -> str:
    """A small bar: the measured window against a tick at its bound.

    All bars share one scale (`longest`, the largest window or bound shown) so the windows
    compare with each other too, not only with their own bound.
    """
    if measured is None:
        return ""
    w, h = 150, 14
    scale = max(longest, measured, bound or 0.0) * 1.05 or 1.0
    over = bound is not None and measured > bound
    parts = [
        f'<rect class="track" x="0" y="3" width="{w}" height="{h - 6}" rx="4"/>',
        f'<rect class="{"over" if over else "within"}" x="0" y="3" '
        f'width="{_f(w * measured / scale)}" height="{h - 6}" rx="4"/>',
    ]
    if bound is not None:
        bx = w * bound / scale
        parts.append(f'<line class="bound" x1="{_f(bx)}" x2="{_f(bx)}" y1="0" y2="{h}"/>')
    return f'<svg class="wbar" viewBox="0 0 {w} {h}" width="{w}" height="{h}">' + "".join(parts) + "</svg>"
