"""The host socket broker: a lab in its own namespace gets loopback listeners bound on the host,
and nothing else."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from chaoslab.net import hostsock


@pytest.fixture
def broker() -> Iterator[hostsock.BrokerClient]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    server = threading.Thread(target=hostsock.serve_broker, args=(theirs,), daemon=True)
    server.start()
    yield hostsock.BrokerClient(ours)
    ours.close()
    server.join(2)
    theirs.close()
    assert not server.is_alive(), "the broker ends when the lab closes its end"


def test_a_passed_listener_accepts_connections(broker: hostsock.BrokerClient) -> None:
    listener = broker.listen("127.0.0.1", 0, 8)
    port = listener.getsockname()[1]
    listener.setblocking(True)
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        conn, _ = listener.accept()
        conn.close()
    listener.close()


def test_a_taken_port_is_the_bind_error(broker: hostsock.BrokerClient) -> None:
    first = broker.listen("127.0.0.1", 0, 8)
    with pytest.raises(OSError) as err:
        broker.listen("127.0.0.1", first.getsockname()[1], 8)
    assert err.value.errno is not None and err.value.errno != 0
    first.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.2", "::"])
def test_the_broker_binds_loopback_only(host: str) -> None:
    answer, fds = hostsock._answer(b'{"op": "listen", "host": "%s", "port": 0}' % host.encode())
    assert answer["ok"] is False and fds == []


def test_a_malformed_request_is_refused() -> None:
    answer, fds = hostsock._answer(b"not json")
    assert answer["ok"] is False and fds == []


def test_listeners_say_tcp_so_asyncio_turns_nagle_off() -> None:
    """asyncio sets TCP_NODELAY only where sock.proto is IPPROTO_TCP; accepted sockets inherit it."""
    listener = hostsock.bind_listener("127.0.0.1", 0, 8)
    try:
        assert listener.proto == socket.IPPROTO_TCP
    finally:
        listener.close()
