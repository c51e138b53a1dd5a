"""Fixtures of the `--aws` tests: the moto account (moto_account.py) and stand-in shops."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator

import pytest
from moto_account import Account, free_port, isolated_env, seed003
from shop_standin import Shop, serve


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request
    tmp = tmp_path_factory.mktemp("aws")
    saved = dict(os.environ)
    env = isolated_env(tmp)
    os.environ.clear()
    os.environ.update(env)  # in-process clients (and moto itself) see the fake account only
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        acct = Account(f"http://127.0.0.1:{port}", env, "chaos-lab-alb", "")
        seed003(acct)
        yield acct
    finally:
        server.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def shops() -> Iterator[Callable[[], str]]:
    """A new stand-in shop per call (each run checks its own orders), as its URL."""
    servers = []

    def new() -> str:
        servers.append(serve(Shop()))
        return f"http://127.0.0.1:{servers[-1].server_address[1]}"

    yield new
    for server in servers:
        server.shutdown()
        server.server_close()
