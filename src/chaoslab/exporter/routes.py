"""`GET /metrics` and `GET /_chaoslab/metrics` on the lab's API port: one scrape, one fresh
registry whose collector reads the lab as it is now."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

from chaoslab.exporter import alb, database, state
from chaoslab.types import LabLike

PATHS = ("/metrics", "/_chaoslab/metrics")
# The classic text format, which every Prometheus release reads; every name here is valid in it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class LabCollector(Collector):
    """Every family, read from the rooms at collection time; `lags` is the one part that needs
    a query to PostgreSQL, so the scrape samples it first."""

    def __init__(self, lab: LabLike, lags: database.Lags) -> None:
        self.lab = lab
        self.lags = lags

    def collect(self) -> Iterable[Metric]:
        yield from alb.families(self.lab.elbv2)
        yield from state.families(self.lab)
        yield from database.families(self.lab.rds, self.lags)


def render(lab: LabLike, lags: database.Lags) -> bytes:
    """The exposition text of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LabCollector(lab, lags))
    return generate_latest(registry)


def routes(lab: LabLike) -> list[web.RouteDef]:
    async def scrape(request: web.Request) -> web.Response:
        lags: database.Lags = await lab.rds.replication_lag()
        return web.Response(body=render(lab, lags), headers={"Content-Type": CONTENT_TYPE})

    return [web.get(path, scrape) for path in PATHS]
