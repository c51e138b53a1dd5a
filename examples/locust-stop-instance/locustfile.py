"""Chaos Shop shoppers for Locust: they browse the catalogue and now and then order.

Any locustfile works with `workload.locust`; this one is plain Locust, nothing of chaoslab in it.
Run it alone with `locust -f locustfile.py --host http://127.0.0.1:8080`.
"""

import random

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser


class Shopper(FastHttpUser):
    wait_time = between(0.2, 0.6)

    @task(10)
    def browse(self) -> None:
        self.client.get("/products")

    @task(2)
    def look_at_one(self) -> None:
        self.client.get(f"/products/{random.randint(1, 10)}", name="/products/[id]")

    @task(1)
    def order(self) -> None:
        self.client.post("/orders", json={"product_id": random.randint(1, 10), "quantity": 1})
