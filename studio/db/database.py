"""The database: engine and sessions, and migrations run once at start (SQLite by default, any
database by URL). Several processes may start together: the migration is taken under a lock."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, event, inspect, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from .models import Base

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_ADVISORY_LOCK = 0x50A2_5707  # PostgreSQL: one migration at a time across processes


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'playground.db').as_posix()}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        if ":///" in url and not url.endswith(":memory:"):
            Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        db_engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(db_engine, "connect", _sqlite_pragmas)
        return db_engine
    # Each process (a replica or a worker) keeps up to SORA_DB_POOL connections open, and as many
    # again at a peak: a team sizes it so that replicas x workers x 2 stays under the server's
    # max_connections. A connection the server dropped (a restart, a failover, an idle timeout) is
    # found at checkout and replaced, and connections are renewed every half hour.
    size = max(1, int(os.environ.get("SORA_DB_POOL", "10")))
    return create_engine(url, pool_pre_ping=True, pool_size=size, max_overflow=size, pool_recycle=1800)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@contextlib.contextmanager
def _migration_lock(db_engine: Engine) -> Iterator[Connection]:
    with db_engine.connect() as connection:
        if db_engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_LOCK})
            connection.commit()
            try:
                yield connection
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_LOCK})
                connection.commit()
            return
        # SQLite alters a table by copying it: foreign keys must be off meanwhile (outside a transaction)
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            database = db_engine.url.database
            if database and database != ":memory:":
                with open(f"{database}.migrate-lock", "a") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    yield connection
            else:
                yield connection
        finally:
            connection.rollback()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@functools.cache
def head_revision() -> str:
    """The newest migration, read from the scripts themselves (a constant here once fell behind
    them: stores at the old head were never upgraded)."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def migrate(db_engine: Engine) -> None:
    """Bring the database to the newest shape. A store made before migrations existed (it has the
    tables but no version) is taken as revision 0001 and upgraded from there: nothing is lost."""
    with _migration_lock(db_engine) as connection:
        if current_revision(connection) == head_revision():
            return
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        tables = set(inspect(connection).get_table_names())
        if "generations" in tables and "alembic_version" not in tables:
            command.stamp(config, "0001")
        command.upgrade(config, "head")
        connection.commit()


class Database:
    """Engine, sessions and the one guarded write every table family shares."""

    def __init__(self, url: str, *, run_migrations: bool = True) -> None:
        self.url = url
        self.db_engine: Engine = make_engine(url)
        if run_migrations:
            migrate(self.db_engine)
        self._sessions = sessionmaker(self.db_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.db_engine.dialect.name

    def session(self) -> Session:
        return self._sessions()

    def dispose(self) -> None:
        self.db_engine.dispose()

    def _set(self, model: type[Base], row_id: int, **values) -> int:
        with self.session() as session, session.begin():
            return session.execute(update(model).where(model.id == row_id).values(**values)).rowcount or 0


__all__ = ["Base", "Database", "default_url", "migrate"]
