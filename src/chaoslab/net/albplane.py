"""The lab's side of the ALB data plane: worker processes, what they route, what they report.

The proxy (alb.py) runs in N worker processes (albworker.py), fresh interpreters the lab starts
when its first listener opens; all of them accept on the one listening socket the lab bound, so
the kernel hands each new connection to a worker that is free to take it, and a connection that
arrives before any worker is up waits in the socket's backlog. The lab stays the one owner of
the routing state: `DataPlane` keeps it (load balancers' idle timeouts, targets, target groups'
routing lists and algorithms, listeners) and sends every change to every worker, and a worker
that starts gets the whole of it first. The ELBv2 backend holds `RemotePool`, `RemoteUpstream`
and `RemoteListener` handles whose methods become those messages.

Back from the workers: each request's record through a shared-memory ring per worker, folded
into the load balancer's `RequestStats` (drained ten times a second, and before anyone reads the
records or flushes metrics), and the requests each worker has in flight per target.

Workers die with the lab: they exit when their control socket reaches end-of-file (the lab
closed it, or died and the kernel closed it), and on Linux the kernel also kills them with
SIGKILL the moment the lab's process ends (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import mmap
import os
import socket
import subprocess
import sys
import time
from collections import deque
from typing import Any

from chaoslab.net import albwire
from chaoslab.net.albstats import RequestStats
from chaoslab.net.hostsock import bind_listener

log = logging.getLogger(__name__)

DRAIN_SECONDS = 0.1  # how often records are folded in without anyone asking
_ACK_SECONDS = 5.0  # how long closing a listener waits for the workers to let go of its socket
_READY_SECONDS = 10.0  # how long a new listener waits for workers still starting
_RESTARTS, _RESTART_WINDOW = 5, 10.0  # more deaths than this in the window: stop replacing


def usable_cores() -> int:
    """The default worker count: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class _Worker:
    """One worker process: its control socket (with a queue for what the socket could not take
    at once), its record ring, and what it last said it has in flight."""

    def __init__(
        self, proc: subprocess.Popen[bytes], control: socket.socket, ring: mmap.mmap, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.proc = proc
        self.loop = loop  # the lab's loop, which watches the control socket
        self.control = control
        self.ring = ring
        self.reader = albwire.RingReader(ring)
        self.decoder = albwire.Decoder()
        self.outbox: deque[tuple[memoryview, list[int]]] = deque()
        self.inflight: dict[int, int] = {}
        self.writing = False
        self.ready: asyncio.Future[None] = loop.create_future()


class DataPlane:
    """Every ALB of one lab: the state the workers mirror and the records they send back."""

    def __init__(self, workers: int | None = None) -> None:
        self.size = max(1, workers if workers is not None else usable_cores())
        self._workers: list[_Worker] = []
        self._keys = itertools.count(1)
        # The state a starting worker is given, in the order it must apply it.
        self._idle: dict[int, float] = {}  # load balancer key -> idle timeout seconds
        self._upstreams: dict[int, tuple[str, str, int]] = {}  # key -> (target id, host, port)
        self._pools: dict[int, tuple[str, list[int], str]] = {}  # key -> (dimension, routing, algorithm)
        self._listeners: dict[
            int, tuple[int, int, float, socket.socket]
        ] = {}  # key -> (lb, pool, connect timeout, socket)
        # Names for the numbers in records (kept after a resource goes: its records may still come).
        self._stats: dict[int, RequestStats] = {}
        self._dimensions: dict[int, str] = {}
        self._target_ids: dict[int, str] = {}
        self._acks: dict[int, tuple[asyncio.Future[None], set[int]]] = {}
        self._drainer: asyncio.Task[None] | None = None
        self._stopping = False
        self._restarts: list[float] = []  # when workers were last replaced (monotonic)

    # what the backend declares ---------------------------------------------------------------
    def add_load_balancer(self, stats: RequestStats, idle_timeout: float) -> int:
        key = next(self._keys)
        self._stats[key] = stats
        self.set_idle_timeout(key, idle_timeout)
        return key

    def set_idle_timeout(self, lb: int, seconds: float) -> None:
        self._idle[lb] = seconds
        self._broadcast(("lb", lb, seconds))

    def add_upstream(self, target_id: str, host: str, port: int) -> int:
        key = next(self._keys)
        self._target_ids[key] = target_id
        self.set_upstream(key, target_id, host, port)
        return key

    def set_upstream(self, key: int, target_id: str, host: str, port: int) -> None:
        self._upstreams[key] = (target_id, host, port)
        self._broadcast(("upstream", key, target_id, host, port))

    def drop_upstream(self, key: int) -> None:
        """A registration is gone: workers close its idle connections and forget it."""
        if self._upstreams.pop(key, None) is not None:
            self._broadcast(("forget", key))

    def close_idle(self, key: int) -> None:
        self._broadcast(("close_idle", key))

    def abort_in_flight(self, key: int) -> None:
        self._broadcast(("abort", key))

    def add_pool(self, dimension: str) -> int:
        key = next(self._keys)
        self._dimensions[key] = dimension
        self._pools[key] = (dimension, [], "round_robin")
        self._broadcast(("pool", key, *self._pools[key]))
        return key

    def set_pool(self, key: int, routing: list[int] | None = None, algorithm: str | None = None) -> None:
        dimension, old_routing, old_algorithm = self._pools[key]
        state = (dimension, old_routing if routing is None else routing, algorithm or old_algorithm)
        self._pools[key] = state
        self._broadcast(("pool", key, *state))

    def inflight(self, key: int) -> int:
        """Requests the workers last reported in flight to this target (at most half a second old)."""
        return sum(worker.inflight.get(key, 0) for worker in self._workers)

    def start(self) -> None:
        """Start the workers now, so they come up while the rest of the lab starts; a listener
        created before they are ready waits for them."""
        if not self._workers:
            self._stopping = False
            self._spawn()
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain_loop())

    async def listen(self, host: str, port: int, lb: int, pool: int, connect_timeout: float) -> tuple[int, int]:
        """Bind the listener here and hand it to the workers. Returns (listener key, real port).
        Waits for workers still starting: a worker applies the routing state as it reads it, so
        a request it accepted only after starting would be routed by a later state than the one
        in force when the request came."""
        self.start()
        sock = bind_listener(host, port, backlog=1024)
        try:
            await asyncio.wait_for(asyncio.gather(*(w.ready for w in self._workers)), _READY_SECONDS)
        except TimeoutError:
            log.warning("ALB workers not ready after %.0f s; the listener waits in its backlog", _READY_SECONDS)
        except BaseException:
            sock.close()
            raise
        key = next(self._keys)
        self._listeners[key] = (lb, pool, connect_timeout, sock)
        self._broadcast(("listen", key, lb, pool, connect_timeout), sock.fileno())
        return key, sock.getsockname()[1]

    async def unlisten(self, key: int) -> None:
        """Close a listener: every worker stops accepting on it and closes its connections, then
        the lab closes its socket, so nothing accepts on the port any more."""
        entry = self._listeners.pop(key, None)
        if entry is None:
            return
        live = {i for i, worker in enumerate(self._workers) if worker.proc.poll() is None}
        if live:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._acks[key] = (done, live)
            self._broadcast(("unlisten", key))
            try:
                await asyncio.wait_for(done, _ACK_SECONDS)
            except TimeoutError:
                log.warning("ALB workers did not close listener %d in time", key)
            finally:
                self._acks.pop(key, None)
        entry[3].close()

    # records -----------------------------------------------------------------------------------
    def drain(self) -> None:
        """Fold every record the workers have written so far into the load balancers' stats."""
        for worker in self._workers:
            self.fold(worker.reader.read())

    def fold(self, records: list[tuple[float, float, int, int, int, int, int, int]]) -> None:
        """Ring records -> `RequestStats.record`, the numbers turned back into names."""
        stats, dims, names, kinds = self._stats, self._dimensions, self._target_ids, albwire.ERROR_KINDS
        for when, latency, lb, tg, target, status, elb, error in records:
            sink = stats.get(lb)
            if sink is not None:
                target_id = names.get(target) if target != albwire.NO_TARGET else None
                sink.record(when, dims.get(tg, ""), target_id, status, latency, bool(elb), kinds[error])

    async def _drain_loop(self) -> None:
        while True:
            await asyncio.sleep(DRAIN_SECONDS)
            self.drain()

    # lifecycle ---------------------------------------------------------------------------------
    @property
    def pids(self) -> list[int]:
        return [worker.proc.pid for worker in self._workers]

    async def stop(self) -> None:
        """Close every listener and end the workers (end-of-file on their control sockets; killed
        if they are still there after two seconds)."""
        self._stopping = True
        for key in list(self._listeners):
            await self.unlisten(key)
        if self._drainer is not None:
            self._drainer.cancel()
            await asyncio.gather(self._drainer, return_exceptions=True)
            self._drainer = None
        self.drain()
        loop = asyncio.get_running_loop()
        for worker in self._workers:
            loop.remove_reader(worker.control.fileno())
            if worker.writing:
                loop.remove_writer(worker.control.fileno())
            worker.control.close()
        deadline = time.monotonic() + 2.0
        while any(w.proc.poll() is None for w in self._workers) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for worker in self._workers:
            if worker.proc.poll() is None:
                worker.proc.kill()
                worker.proc.wait()
            worker.ring.close()
        self._workers = []

    def _spawn(self) -> None:
        """Start the workers, each with the whole state queued on its control socket: they come up
        in parallel while the lab goes on (connections wait in the listeners' backlogs)."""
        self._workers = [self._start_worker() for _ in range(self.size)]

    def _start_worker(self) -> _Worker:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        memfd = os.memfd_create("chaoslab-alb-records", 0)
        try:
            os.ftruncate(memfd, albwire.ring_size())
            ring = mmap.mmap(memfd, albwire.ring_size())
            argv = [sys.executable, "-m", "chaoslab.net.albworker", str(theirs.fileno()), str(memfd), str(os.getpid())]
            proc = subprocess.Popen(argv, pass_fds=(theirs.fileno(), memfd), stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
            os.close(memfd)
        ours.setblocking(False)
        worker = _Worker(proc, ours, ring, loop)
        loop.add_reader(ours.fileno(), self._readable, worker)
        for message, fd in self._snapshot():
            self._send(worker, message, fd)
        return worker

    def _replace(self, worker: _Worker) -> None:
        """A worker died while the lab runs (killed, or crashed): a new one takes its place with
        the whole state, so the listeners never lose a core for good. A worker that keeps dying
        at once (more than `_RESTARTS` times in `_RESTART_WINDOW` seconds) is not started again:
        the others keep serving, and the log says so."""
        now = time.monotonic()
        self._restarts = [t for t in self._restarts if now - t < _RESTART_WINDOW]
        if len(self._restarts) >= _RESTARTS:
            log.error("ALB workers keep dying; not starting another (%d left)", self._live_workers())
            return
        self._restarts.append(now)
        self.fold(worker.reader.read())  # what it recorded before it died
        worker.control.close()
        worker.ring.close()
        self._workers[self._workers.index(worker)] = self._start_worker()

    def _live_workers(self) -> int:
        return sum(1 for w in self._workers if w.proc.poll() is None)

    def _snapshot(self) -> list[tuple[tuple[Any, ...], int | None]]:
        out: list[tuple[tuple[Any, ...], int | None]] = []
        out += [(("lb", lb, seconds), None) for lb, seconds in self._idle.items()]
        out += [(("upstream", key, *entry), None) for key, entry in self._upstreams.items()]
        out += [(("pool", key, *entry), None) for key, entry in self._pools.items()]
        out += [
            (("listen", key, lb, pool, timeout), sock.fileno())
            for key, (lb, pool, timeout, sock) in self._listeners.items()
        ]
        return out

    # the control sockets -----------------------------------------------------------------------
    def _broadcast(self, message: tuple[Any, ...], fd: int | None = None) -> None:
        for worker in self._workers:
            self._send(worker, message, fd)

    def _send(self, worker: _Worker, message: tuple[Any, ...], fd: int | None) -> None:
        """Queue a message (and a descriptor, sent with its first byte); write what the socket takes."""
        if worker.control.fileno() < 0:
            return
        fds = [] if fd is None else [os.dup(fd)]  # our own copy: the listener may close first
        worker.outbox.append((memoryview(albwire.encode(message)), fds))
        self._flush(worker)

    def _flush(self, worker: _Worker) -> None:
        while worker.outbox:
            data, fds = worker.outbox[0]
            try:
                sent = socket.send_fds(worker.control, [data], fds) if fds else worker.control.send(data)
            except BlockingIOError:
                break
            except OSError:  # the worker is gone; what it has in flight went with it
                worker.outbox.clear()
                break
            for fd in fds:
                os.close(fd)
            if sent < len(data):
                worker.outbox[0] = (data[sent:], [])
            else:
                worker.outbox.popleft()
        loop = worker.loop  # a backend call may come from outside a running loop (unit tests)
        if worker.outbox and not worker.writing:
            loop.add_writer(worker.control.fileno(), self._flush, worker)
            worker.writing = True
        elif not worker.outbox and worker.writing:
            loop.remove_writer(worker.control.fileno())
            worker.writing = False

    def _readable(self, worker: _Worker) -> None:
        try:
            data = worker.control.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the worker exited: it takes no more connections; the others do
            worker.loop.remove_reader(worker.control.fileno())
            worker.inflight = {}
            if not worker.ready.done():
                worker.ready.set_result(None)
            index = self._workers.index(worker)
            for key in list(self._acks):
                self._ack(key, index)
            try:  # its socket closed: it has exited, or is about to
                status = worker.proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                status = worker.proc.wait()
            log.warning("ALB worker %d ended (exit status %s); starting another", worker.proc.pid, status)
            if not self._stopping:
                self._replace(worker)
            return
        for message in worker.decoder.feed(data):
            if message[0] == "ready" and not worker.ready.done():
                worker.ready.set_result(None)
            elif message[0] == "inflight":
                worker.inflight = message[1]
            elif message[0] == "closed":
                self._ack(message[1], self._workers.index(worker))

    def _ack(self, key: int, index: int) -> None:
        entry = self._acks.get(key)
        if entry is None:
            return
        done, waiting = entry
        waiting.discard(index)
        if not waiting and not done.done():
            done.set_result(None)


class RemoteUpstream:
    """A registered target as the lab's health logic sees it; changes go to the workers."""

    __slots__ = ("_plane", "key", "target_id", "_host", "port")

    def __init__(self, plane: DataPlane, target_id: str, host: str, port: int) -> None:
        self._plane = plane
        self.target_id = target_id
        self._host = host
        self.port = port
        self.key = plane.add_upstream(target_id, host, port)

    @property
    def host(self) -> str:
        return self._host

    @host.setter
    def host(self, address: str) -> None:
        """An instance came back with a new address: the workers connect there from now on."""
        self._host = address
        self._plane.set_upstream(self.key, self.target_id, address, self.port)

    @property
    def inflight(self) -> int:
        return self._plane.inflight(self.key)

    def close_idle(self) -> None:
        self._plane.close_idle(self.key)

    def abort_in_flight(self) -> None:
        """The deregistration delay ran out with requests still outstanding: ALB answers them 502."""
        self._plane.abort_in_flight(self.key)

    def release(self) -> None:
        """The registration is gone for good."""
        self._plane.drop_upstream(self.key)


class RemotePool:
    """A target group's routing list and algorithm, as the workers are told them."""

    __slots__ = ("_plane", "key", "dimension", "routable", "_algorithm")

    def __init__(self, plane: DataPlane, dimension: str) -> None:
        self._plane = plane
        self.dimension = dimension  # "targetgroup/<name>/<id>" for CloudWatch
        self.routable: list[RemoteUpstream] = []
        self._algorithm = "round_robin"
        self.key = plane.add_pool(dimension)

    def set_routing(self, routable: list[RemoteUpstream]) -> None:
        self.routable = routable
        self._plane.set_pool(self.key, routing=[u.key for u in routable])

    @property
    def algorithm(self) -> str:
        return self._algorithm

    @algorithm.setter
    def algorithm(self, name: str) -> None:
        self._algorithm = name
        self._plane.set_pool(self.key, algorithm=name)


class RemoteListener:
    """One listener: the lab binds host:port, the workers accept and proxy."""

    def __init__(self, plane: DataPlane, host: str, port: int, lb: int, pool: int) -> None:
        self._plane = plane
        self.host = host
        self.port = port
        self._lb = lb
        self._pool = pool
        self._key: int | None = None

    async def start(self) -> int:
        """Bind and listen; returns the real port (useful when asked for port 0)."""
        from chaoslab.net import alb  # its connect timeout, read now: tests shorten it

        self._key, self.port = await self._plane.listen(self.host, self.port, self._lb, self._pool, alb.CONNECT_TIMEOUT)
        return self.port

    async def stop(self) -> None:
        if self._key is not None:
            key, self._key = self._key, None
            with contextlib.suppress(OSError):
                await self._plane.unlisten(key)
