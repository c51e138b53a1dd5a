"""The dashboard's aiohttp routes: the page and its two static files, and small JSON endpoints
under `/_chaoslab/api/`. Handlers only read backends' public calls and stay cheap, because the
same gateway also answers the AWS API."""

from __future__ import annotations

import html
import json
import time
from importlib.resources import files
from typing import Any

from aiohttp import web

from chaoslab.dashboard.snapshot import overview
from chaoslab.dashboard.traffic import DEFAULT_WINDOW, MAX_WINDOW, per_second
from chaoslab.errors import AwsError

STATIC = {"app.js": "text/javascript", "app.css": "text/css"}
TIMELINE_LIMIT = 200


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, default=str))


def _error(code: str, message: str, status: int = 400) -> web.Response:
    return _json({"code": code, "message": message}, status)


def _static(name: str) -> web.Response:
    body = files("chaoslab.dashboard").joinpath("static", name).read_bytes()
    # no-cache: a lab upgrade must not leave a stale script talking to new endpoints
    return web.Response(body=body, content_type=STATIC[name], headers={"Cache-Control": "no-cache"})


def routes(lab: Any) -> list[web.RouteDef]:
    """Routes to mount on the lab's gateway before it starts."""
    traffic_cache: dict[int, tuple[int, dict[str, Any]]] = {}

    async def index(request: web.Request) -> web.Response:
        """The page, carrying the lab's token for its lever calls. Only requests addressed to the
        lab by its own name get here (aws/guard.py), and no other origin can read the answer."""
        page = files("chaoslab.dashboard").joinpath("static", "index.html").read_text()
        meta = f'<meta name="chaoslab-token" content="{html.escape(lab.gateway.lab_token or "")}">'
        page = page.replace('<meta charset="utf-8">', f'<meta charset="utf-8">\n{meta}', 1)
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/_chaoslab/")

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        return _static(name)

    async def api_overview(request: web.Request) -> web.Response:
        return _json(overview(lab))

    async def api_traffic(request: web.Request) -> web.Response:
        try:
            window = int(request.query.get("window", DEFAULT_WINDOW))
        except ValueError:
            return _error("ValidationException", "window must be whole seconds")
        window = max(10, min(window, MAX_WINDOW))
        now = time.time()
        # The series only changes when a second closes: compute it once per second and window,
        # however many pages poll (bucketing a busy minute costs tens of milliseconds).
        cached = traffic_cache.get(window)
        if cached is None or cached[0] != int(now):
            names = [lb["LoadBalancerName"] for lb in lab.elbv2.describe_load_balancers()["LoadBalancers"]]
            cached = traffic_cache[window] = (
                int(now),
                per_second(lab.elbv2.recent_requests(now - window - 1), now, window, names),
            )
        return _json(cached[1])

    async def api_timeline(request: web.Request) -> web.Response:
        """Events after `since`, newest first, at most `limit` (the page asks for what is new)."""
        try:
            since = int(request.query.get("since", "0"))
            limit = max(1, min(int(request.query.get("limit", TIMELINE_LIMIT)), 1000))
        except ValueError:
            return _error("ValidationException", "since and limit must be integers")
        kinds = set(request.query["kinds"].split(",")) if request.query.get("kinds") else None
        events = lab.events.since(since, kinds)
        last = events[-1]["seq"] if events else since
        return _json({"events": events[::-1][:limit], "last": last})

    async def api_lever(request: web.Request) -> web.Response:
        """Engage or disengage the FIS safety lever. The gateway has checked the Host and the lab
        token already; JSON only besides: a cross-site form cannot send it without a CORS
        preflight the lab never grants."""
        if request.content_type != "application/json":
            return _error("ValidationException", "send application/json", 415)
        try:
            body = await request.json()
        except ValueError:
            return _error("ValidationException", "body is not JSON")
        if not isinstance(body, dict):
            return _error("ValidationException", "body must be an object with status and reason")
        try:
            lever = await lab.fis.update_safety_lever_state(
                "default", str(body.get("status", "")), str(body.get("reason") or "")
            )
        except AwsError as exc:
            return _error(exc.code, exc.message, exc.status)
        return _json({"safety_lever": lever["state"]})

    return [
        web.get("/_chaoslab", redirect),
        web.get("/_chaoslab/", index),
        web.get("/_chaoslab/static/{name}", static),
        web.get("/_chaoslab/api/overview", api_overview),
        web.get("/_chaoslab/api/traffic", api_traffic),
        web.get("/_chaoslab/api/timeline", api_timeline),
        web.post("/_chaoslab/api/safety-lever", api_lever),
    ]
