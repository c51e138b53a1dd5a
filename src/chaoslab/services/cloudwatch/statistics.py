"""Statistics over a bag of samples, the way CloudWatch defines them.

Percentiles use the *nearest-rank* definition: pNN is the smallest sample such that at least
NN % of all samples (weighted by their counts) are less than or equal to it. CloudWatch does
not publish its interpolation; nearest rank is exact on the raw values we keep and never
invents a value that was not observed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

SIMPLE_STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d{1,10})?|100)$")


def percentile_of(name: str) -> float | None:
    """`p99.9` -> 99.9; None for anything that is not a plain percentile statistic."""
    m = _PERCENTILE.match(name)
    if not m:
        return None
    p = float(m.group(1))
    return p if 0.0 <= p <= 100.0 else None


def is_valid_statistic(name: str) -> bool:
    return name in SIMPLE_STATISTICS or percentile_of(name) is not None


@dataclass
class Aggregate:
    """Samples of one period: summary figures plus the raw values while they are all known.

    `values`/`counts` hold every raw sample (so percentiles are exact); once a pre-aggregated
    StatisticValues set is merged in, `exact` turns False and percentiles become unavailable.
    """

    count: float = 0.0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    values: list[float] = field(default_factory=list)
    counts: list[float] | None = None
    exact: bool = True

    def add_values(self, values: list[float], counts: list[float] | None = None) -> None:
        if counts is None:
            self.values.extend(values)
            if self.counts is not None:
                self.counts.extend([1.0] * len(values))
            self.count += len(values)
            self.total += math.fsum(values)
        else:
            if self.counts is None:
                self.counts = [1.0] * len(self.values)
            self.values.extend(values)
            self.counts.extend(counts)
            self.count += math.fsum(counts)
            self.total += math.fsum(v * c for v, c in zip(values, counts, strict=True))
        if values:
            lo, hi = min(values), max(values)
            if lo < self.minimum:
                self.minimum = lo
            if hi > self.maximum:
                self.maximum = hi

    def add_summary(self, count: float, total: float, minimum: float, maximum: float) -> None:
        self.count += count
        self.total += total
        self.minimum = min(self.minimum, minimum)
        self.maximum = max(self.maximum, maximum)
        self.exact = False

    def merge(self, other: Aggregate, raw: bool = True) -> None:
        """Fold `other` in; with raw=False only the summary figures (cheap, no percentiles)."""
        if other.count <= 0 and not other.values:
            return
        self.count += other.count
        self.total += other.total
        if other.minimum < self.minimum:
            self.minimum = other.minimum
        if other.maximum > self.maximum:
            self.maximum = other.maximum
        if not raw or not other.exact:
            self.exact = False
            return
        if other.counts is not None and self.counts is None:
            self.counts = [1.0] * len(self.values)
        self.values.extend(other.values)
        if self.counts is not None:
            self.counts.extend(other.counts if other.counts is not None else [1.0] * len(other.values))

    def statistic(self, name: str) -> float | None:
        """The named statistic, or None when it cannot be computed (no samples, or a
        percentile over pre-aggregated data)."""
        if self.count <= 0:
            return None
        if name == "SampleCount":
            return self.count
        if name == "Sum":
            return self.total
        if name == "Average":
            return self.total / self.count
        if name == "Minimum":
            return self.minimum
        if name == "Maximum":
            return self.maximum
        p = percentile_of(name)
        if p is None or not self.exact:
            return None
        return nearest_rank(self.values, self.counts, p)


def nearest_rank(values: list[float], counts: list[float] | None, p: float) -> float:
    """Nearest-rank percentile of weighted samples (see the module docstring)."""
    if counts is None:
        ordered = sorted(values)
        rank = max(1, math.ceil(p / 100.0 * len(ordered)))
        return ordered[rank - 1]
    pairs = sorted(zip(values, counts, strict=True))
    target = p / 100.0 * math.fsum(counts)
    seen = 0.0
    for value, count in pairs:
        seen += count
        if seen >= target and count > 0:
            return value
    return pairs[-1][0]
