"""A real HTTP server on 127.0.0.1 standing in for the user's production endpoint: the Chaos
Shop's API (GET /products, GET/POST /orders) over an in-memory catalogue, so the workload, probe
and integrity check of an `--aws` run have a real peer without a database."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Shop:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.products = {i: {"id": i, "name": f"product {i}", "price": 10.0 + i, "stock": 1000} for i in range(1, 11)}
        self.orders: list[dict[str, Any]] = []

    def order(self, product_id: int, quantity: int) -> tuple[int, dict[str, Any]]:
        with self.lock:
            product = self.products.get(product_id)
            if product is None or quantity < 1:
                return 400, {"error": "bad order"}
            if product["stock"] < quantity:
                return 409, {"error": "insufficient stock"}
            product["stock"] -= quantity
            order = {
                "order_id": len(self.orders) + 1,
                "product_id": product_id,
                "product_name": product["name"],
                "quantity": quantity,
                "total": product["price"] * quantity,
                "status": "confirmed",
                "idempotency_key": None,
            }
            self.orders.append(order)
            return 201, {**order, "served_by": "stand-in"}


def serve(shop: Shop) -> ThreadingHTTPServer:
    """Serve `shop` on a free port of 127.0.0.1 in a daemon thread; `shutdown()` stops it."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            with shop.lock:
                if self.path == "/products":
                    return self._send(200, {"products": list(shop.products.values())})
                if self.path == "/orders":
                    return self._send(200, {"orders": list(shop.orders)})
            self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if self.path != "/orders":
                return self._send(404, {"error": "not found"})
            self._send(*shop.order(int(body.get("product_id", 0)), int(body.get("quantity", 0))))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server
