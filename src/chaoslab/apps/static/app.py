"""A static WSGI responder: the cheapest possible target, so ALB benchmarks measure the proxy.

Plain WSGI rather than Flask keeps per-request work in the app near zero.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping


def create_app(env: Mapping[str, str] = os.environ) -> Callable:
    """A WSGI app answering GET / and GET /health with small fixed JSON bodies, 404 elsewhere."""
    instance_id = env.get("INSTANCE_ID", "unknown")
    bodies = {
        "/": json.dumps({"service": "static", "instance_id": instance_id, "status": "running"}),
        "/health": json.dumps({"status": "healthy"}),
    }
    encoded = {path: body.encode() for path, body in bodies.items()}
    not_found = json.dumps({"error": "not found"}).encode()

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        body = encoded.get(environ.get("PATH_INFO", "/"))
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            status, body = "405 Method Not Allowed", json.dumps({"error": "method not allowed"}).encode()
        elif body is None:
            status, body = "404 Not Found", not_found
        else:
            status = "200 OK"
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    return app
