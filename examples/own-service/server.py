"""quotes: a tiny HTTP service that is not bundled with chaoslab (standard library only).

GET /health -> 200 "ok"; GET /quote -> {"quote": ..., "served_by": <instance id>, "n": <count>}.
Binds $HOST:$PORT (the lab sets both; 0.0.0.0:8000 by default)."""

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

QUOTES = [
    "Everything fails, all the time.",
    "Hope is not a strategy.",
    "You build it, you run it.",
    "The best way to avoid failure is to fail constantly.",
]
SERVED_BY = os.environ.get("INSTANCE_ID", "local")
lock = threading.Lock()
count = 0


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        global count
        if self.path == "/health":
            self.reply(200, b"ok\n", "text/plain")
        elif self.path == "/quote":
            with lock:
                count += 1
                n = count
            body = {"quote": QUOTES[n % len(QUOTES)], "served_by": SERVED_BY, "n": n}
            self.reply(200, json.dumps(body).encode(), "application/json")
        else:
            self.reply(404, b"not found\n", "text/plain")

    def reply(self, status, body, kind):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # one line per request would flood the console


if __name__ == "__main__":
    address = (os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "8000")))
    print(f"quotes listening on {address[0]}:{address[1]} as {SERVED_BY}", flush=True)
    ThreadingHTTPServer(address, Handler).serve_forever()
