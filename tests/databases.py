"""Pytest plugin: every store test can run on SQLite and on a real PostgreSQL server.

The PostgreSQL server is a throwaway cluster the tests start themselves from Debian's ``postgresql``
package (``scripts/test.sh`` installs it): one per test session, in a temporary folder (in /dev/shm
when it has room), listening on 127.0.0.1 on a free port (and a unix socket in that folder), ``trust``
auth, fsync off. It is started only when a test asks for PostgreSQL, and stopped and removed at the end
of the session. As root it runs as the ``postgres`` system user (initdb refuses root).

Fixtures:

``postgres_server`` (session)
    The running :class:`PostgresServer`. Fails (never skips) when ``initdb`` is missing.
``database_url`` (function, params ``sqlite`` and ``postgresql``)
    A fresh, empty database URL per test: ``sqlite:///<tmp_path>/store.db`` or
    ``postgresql+psycopg://postgres@127.0.0.1:<port>/test_<n>`` (created for the test, dropped after).
    Narrow a test to one kind with ``@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)``.
``fresh_database_url`` (function)
    A factory ``fresh_database_url(kind) -> url`` for tests that need more than one database; every
    database it makes is removed after the test.
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DATABASE_KINDS = ("sqlite", "postgresql")
PG_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"  # the cluster's superuser name, whoever runs the server
MISSING = (
    "PostgreSQL server binaries not found (no {root}/<version>/bin/initdb). The store's tests start "
    "their own throwaway PostgreSQL server; install Debian's package first: "
    "`apt-get install postgresql` (scripts/test.sh does this)."
)


def find_pg_bin(root: Path | None = None) -> Path | None:
    """The ``bin`` folder of the newest PostgreSQL under ``/usr/lib/postgresql`` that has initdb and pg_ctl."""
    root = PG_ROOT if root is None else root
    found = [
        initdb.parent
        for initdb in root.glob("*/bin/initdb")
        if (initdb.parent / "pg_ctl").exists() and re.fullmatch(r"\d+(\.\d+)*", initdb.parent.parent.name)
    ]
    if not found:
        return None
    return max(found, key=lambda b: tuple(int(part) for part in b.parent.name.split(".")))


def _temp_parent() -> str | None:
    """Where to put the cluster: RAM-backed /dev/shm when it is there with room to spare (CREATE DATABASE
    there takes ~15 ms instead of ~50-300 ms on disk, even with fsync off), else the usual temp folder.
    Either way directly under a world-traversable folder, not pytest's 0700 basetemp, so the server
    user can reach it."""
    shm = "/dev/shm"
    try:
        stats = os.statvfs(shm)
    except OSError:
        return None
    roomy = stats.f_bavail * stats.f_frsize >= 1 << 30
    return shm if roomy and os.access(shm, os.W_OK | os.X_OK) else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env() -> dict[str, str]:
    """This process's environment without libpq's PG* variables (a stray PGDATA/PGPORT would mislead pg_ctl)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.setdefault("LC_ALL", "C.UTF-8")
    return env


@dataclass
class PostgresServer:
    """A running throwaway cluster. ``url(name)`` is an SQLAlchemy URL; ``create_database`` and
    ``drop_database`` make and remove empty databases on it."""

    bin_dir: Path
    base_dir: Path  # the temporary folder: data/, the socket and the log
    port: int
    host: str = "127.0.0.1"
    user: str = SUPERUSER
    startup_seconds: float = 0.0
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)
    _admin: object | None = field(default=None, repr=False)

    @property
    def version(self) -> str:
        return self.bin_dir.parent.name

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir

    @property
    def log_file(self) -> Path:
        return self.base_dir / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def _admin_connection(self):
        import psycopg

        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(self.conninfo(), autocommit=True)
        return self._admin

    def create_database(self, template: str | None = None) -> str:
        """A new database ``test_<n>``, empty or a copy of ``template``; returns its name."""
        name = f"test_{next(self._names)}"
        copy = f' TEMPLATE "{template}"' if template else ""
        self._admin_connection().execute(f'CREATE DATABASE "{name}"{copy}')
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database even if a test left connections open on it (they are terminated).

        Terminating them first and polling briefly until they are gone spares the 100 ms sleeps
        ``DROP DATABASE`` (and ``pg_terminate_backend``'s own wait) take when a backend is still exiting."""
        admin = self._admin_connection()
        others = "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
        admin.execute(f"SELECT pg_terminate_backend(pid) {others}", (name,))
        deadline = time.monotonic() + 5
        while (
            time.monotonic() < deadline and admin.execute(f"SELECT count(*) {others}", (name,)).fetchone()[0]
        ):
            time.sleep(0.002)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def stop(self) -> None:
        """Stop the server as a restart does (``-m fast``: every connection is cut); ``start_again``
        brings it back on the same port with the same data."""
        self.close()
        _run([str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w"],
             as_user=_server_user(), cwd=self.base_dir, timeout=60)

    def start_again(self) -> None:
        # ``restart`` of a stopped server starts it with the options it last ran with (postmaster.opts)
        _run([str(self.bin_dir / "pg_ctl"), "restart", "-D", str(self.data_dir), "-l", str(self.log_file), "-w"],
             as_user=_server_user(), cwd=self.base_dir, timeout=90)


def _server_user() -> tuple[int, int] | None:
    """(uid, gid) to run the server as: initdb and postgres refuse to run as root, so as root use the
    ``postgres`` system user Debian's package creates; None means run as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(
            "Running as root, but there is no `postgres` system user to run the test PostgreSQL "
            "server as (initdb refuses root). Install Debian's `postgresql` package, which creates it."
        )
    return entry.pw_uid, entry.pw_gid


def _run(args: list[str], *, as_user: tuple[int, int] | None, cwd: Path, timeout: float = 120) -> None:
    """Run a PostgreSQL tool (as the server user when we are root); fail with its output on error."""
    kwargs: dict[str, object] = {}
    if as_user is not None:
        kwargs = {"user": as_user[0], "group": as_user[1], "extra_groups": []}
    done = subprocess.run(
        args,
        cwd=cwd,
        env=_clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}".rstrip()
        )


def start_postgres_server() -> PostgresServer:
    """initdb a cluster in a new temporary folder and start it (waits until it accepts connections)."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.fail(MISSING.format(root=PG_ROOT), pytrace=False)
    as_user = _server_user()
    started = time.perf_counter()
    base = Path(tempfile.mkdtemp(prefix="pg-test-", dir=_temp_parent()))
    if as_user is not None:
        os.chown(base, *as_user)
    data = base / "data"
    try:
        _run(
            [
                str(bin_dir / "initdb"),
                "-D", str(data),
                "-U", SUPERUSER,
                "-A", "trust",
                "-E", "UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ],
            as_user=as_user,
            cwd=base,
        )  # fmt: skip
        for attempt in range(5):  # the free port may be taken between choosing and binding it
            port = _free_port()
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-c port={port}",
                    f"-c unix_socket_directories={base}",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c max_connections=200",
                    "-c shared_buffers=32MB",
                ]
            )
            try:
                _run(
                    [
                        str(bin_dir / "pg_ctl"),
                        "start",
                        "-D", str(data),
                        "-l", str(base / "server.log"),
                        "-w",
                        "-t", "60",
                        "-o", options,
                    ],
                    as_user=as_user,
                    cwd=base,
                    timeout=90,
                )  # fmt: skip
                break
            except RuntimeError:
                log_file = base / "server.log"
                log = log_file.read_text(errors="replace") if log_file.exists() else ""
                if attempt == 4 or "could not bind" not in log:
                    raise RuntimeError(f"PostgreSQL did not start; its log:\n{log}") from None
        server = PostgresServer(bin_dir=bin_dir, base_dir=base, port=port)
        server.startup_seconds = time.perf_counter() - started
        return server
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise


def stop_postgres_server(server: PostgresServer) -> None:
    server.close()
    as_user = _server_user()
    try:
        _run(
            [str(server.bin_dir / "pg_ctl"), "stop", "-D", str(server.data_dir), "-m", "immediate", "-w"],
            as_user=as_user,
            cwd=server.base_dir,
            timeout=60,
        )
    finally:
        shutil.rmtree(server.base_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster for the whole session (see the module docstring)."""
    server = start_postgres_server()
    try:
        yield server
    finally:
        stop_postgres_server(server)


@pytest.fixture
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """``fresh_database_url(kind)``: a new empty database of ``kind`` ("sqlite" or "postgresql") per call,
    removed after the test. PostgreSQL's server starts on first use only."""
    made: list[tuple[PostgresServer, str]] = []
    counter = itertools.count()

    def make(kind: str) -> str:
        if kind == "sqlite":
            n = next(counter)
            return f"sqlite:///{(tmp_path / ('store.db' if n == 0 else f'store{n}.db')).as_posix()}"
        if kind == "postgresql":
            server: PostgresServer = request.getfixturevalue("postgres_server")
            from tests.speed import postgres_template

            name = server.create_database(postgres_template(server, request.node))
            made.append((server, name))
            return server.url(name)
        raise ValueError(f"unknown database kind {kind!r}; expected one of {DATABASE_KINDS}")

    yield make
    for server, name in made:
        server.drop_database(name)


@pytest.fixture(params=DATABASE_KINDS, ids=DATABASE_KINDS)
def database_url(request: pytest.FixtureRequest, fresh_database_url: Callable[[str], str]) -> str:
    """A fresh empty database URL, once on SQLite and once on PostgreSQL."""
    return fresh_database_url(request.param)
