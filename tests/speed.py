"""Pytest plugin: work the suite repeats for every test, done once per test process instead.

Both shortcuts give each test exactly what the slow way would have given it:

- **A new store starts as a copy of one migrated store.** Running the eight Alembic
  migrations on every test's fresh database cost about half a second of CPU each time. The first
  store of a process is migrated for real; every later *empty* SQLite file gets that database's
  pages copied in (SQLite's online backup), already at the head revision, so ``migrate`` finds
  nothing to do. A database that has any table (an older release's store, a test's half-made one)
  is migrated for real as before. Tests of the migrations themselves ask for the real thing with
  ``@pytest.mark.real_migrations`` (``test_databases.py`` does, module-wide). On PostgreSQL the same
  is done by the server itself: a test's database is created with ``TEMPLATE`` from one migrated
  database (``postgres_template``, used by ``tests/databases.py``).
- **A page script is compiled once, not on every ``at.run()``.** AppTest makes a new
  ``ScriptCache`` for each run, so every rerun parsed, magic-rewrote and compiled ``app.py`` and
  the page again: about half of each run's time. The Streamlit server keeps one cache for the
  process and so do these tests; a script whose file changed since is compiled again.
- **Streamlit's scan of installed packages for components runs once.** AppTest scans every
  installed distribution's metadata for Streamlit v2 components each time an app is made (about
  0.8 s); nothing is installed while the suite runs, so the first scan's answer stands.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect
from streamlit.runtime.scriptrunner.script_cache import ScriptCache

import studio.db.database as database

_real_migrate = database.migrate
_template: Path | None = None


def _migrated_template() -> Path:
    """One SQLite file per test process, migrated to the head revision by the real migrations."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="store-template-"))
        engine = database.make_engine(f"sqlite:///{folder / 'template.db'}")
        try:
            _real_migrate(engine)
        finally:
            engine.dispose()
        _template = folder / "template.db"
    return _template


def _migrate_from_template(engine) -> None:
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return _real_migrate(engine)
    template = _migrated_template()
    with engine.connect() as connection:
        if inspect(connection).get_table_names():
            connection.rollback()
            return _real_migrate(engine)
        raw = connection.connection.driver_connection
        source = sqlite3.connect(template)
        try:
            source.backup(raw)
        finally:
            source.close()
    return _real_migrate(engine)  # finds the head revision: a no-op that proves the copy is current


@pytest.fixture(autouse=True)
def _store_from_template(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if request.node.get_closest_marker("real_migrations") is None:
        monkeypatch.setattr(database, "migrate", _migrate_from_template)
    yield


class _ProcessScriptCache(ScriptCache):
    """One bytecode cache for every AppTest of the process, as the server keeps one for all sessions;
    an entry is dropped when its file's modification time changes."""

    def __init__(self) -> None:
        super().__init__()
        self._compiled_at: dict[str, int] = {}

    def get_bytecode(self, script_path: str):
        path = os.path.abspath(script_path)
        changed = os.stat(path).st_mtime_ns
        if self._compiled_at.get(path) != changed:
            with self._lock:
                self._cache.pop(path, None)
            self._compiled_at[path] = changed
        return super().get_bytecode(path)


_script_cache = _ProcessScriptCache()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_migrations: every new store runs the Alembic migrations itself")
    from streamlit.components.v2 import manifest_scanner
    from streamlit.testing.v1 import app_test

    app_test.ScriptCache = lambda: _script_cache

    manifest_scanner.scan_component_manifests = functools.cache(manifest_scanner.scan_component_manifests)


_pg_templates: dict[int, str] = {}


def postgres_template(server, test: pytest.Item) -> str | None:
    """The database a test's new PostgreSQL database is copied from (``CREATE DATABASE … TEMPLATE``):
    one migrated by the real migrations once per server, or none (an empty database) for a test
    marked ``real_migrations``."""
    if test.get_closest_marker("real_migrations") is not None:
        return None
    if server.port not in _pg_templates:
        name = server.create_database()
        engine = database.make_engine(server.url(name))
        try:
            _real_migrate(engine)
        finally:
            engine.dispose()
        _pg_templates[server.port] = name
    return _pg_templates[server.port]
