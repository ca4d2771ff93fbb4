"""The database fixtures are real: SQLite files and a real PostgreSQL server, fresh per test."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, exc, insert, select, text

# These tests are about the migrations: every store here runs them itself (see tests/speed.py).
pytestmark = pytest.mark.real_migrations

metadata = MetaData()
jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False),
    Column("status", String(16), nullable=False, default="queued"),
)

postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def test_fresh_database_written_from_two_connections(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as probe:  # fresh: nothing there yet
            assert not engine.dialect.get_table_names(probe)
        metadata.create_all(engine)
        with engine.connect() as one, engine.connect() as two:
            one.execute(insert(jobs), [{"name": "from one"}])
            one.commit()
            two.execute(insert(jobs), [{"name": "from two"}])
            two.commit()
            assert one.execute(select(jobs.c.name).order_by(jobs.c.id)).scalars().all() == [
                "from one",
                "from two",
            ]
        with engine.connect() as three:
            assert three.execute(select(jobs.c.status).distinct()).scalars().all() == ["queued"]
    finally:
        engine.dispose()


@postgresql_only
def test_postgresql_is_a_real_server(database_url: str, postgres_server) -> None:
    assert database_url.startswith(f"postgresql+psycopg://postgres@127.0.0.1:{postgres_server.port}/test_")
    engine = create_engine(database_url)
    try:
        with engine.connect() as c:
            version = c.execute(text("select version()")).scalar_one()
            assert version.startswith("PostgreSQL ")
            assert c.execute(text("select current_database()")).scalar_one() == database_url.rsplit("/", 1)[1]
            assert c.execute(text("show fsync")).scalar_one() == "off"
    finally:
        engine.dispose()


@postgresql_only
def test_postgresql_row_locks_between_transactions(database_url: str) -> None:
    """What the store's claims rely on: a row one transaction holds is skipped (SKIP LOCKED) or
    refused (NOWAIT) by another, and is free again once the first commits."""
    engine = create_engine(database_url)
    next_free = text("SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
    try:
        metadata.create_all(engine)
        with engine.begin() as c:
            c.execute(insert(jobs), [{"name": f"job {n}"} for n in range(3)])
        with engine.connect() as one, engine.connect() as two:
            assert one.execute(next_free).scalar_one() == 1  # one holds row 1
            assert two.execute(next_free).scalar_one() == 2  # two skips it
            with pytest.raises(exc.OperationalError, match="could not obtain lock"):
                two.execute(text("SELECT id FROM jobs WHERE id = 1 FOR UPDATE NOWAIT"))
            two.rollback()
            one.execute(text("UPDATE jobs SET status = 'submitting' WHERE id = 1"))
            one.commit()
            assert two.execute(next_free).scalar_one() == 2  # row 1 is no longer queued
            two.commit()
    finally:
        engine.dispose()


def _store(url: str):
    """The project's store on ``url`` (imported here: the store package is still being reshaped, and
    the fixture tests above must not depend on it importing)."""
    from studio.db import Store

    return Store(url)


def test_store_on_database(database_url: str) -> None:
    """The store migrates a fresh database and reads and writes it; a second store on the same
    database (a second replica) shares its rows."""
    first = _store(database_url)
    second = _store(database_url)
    try:
        assert first.totals()["count"] == 0
        secret = first.setting("shared", lambda: "made by first")
        assert second.setting("shared", lambda: "made by second") == secret == "made by first"
    finally:
        first.dispose()
        second.dispose()


def test_fresh_database_url_makes_separate_databases(fresh_database_url: Callable[[str], str]) -> None:
    for kind in ("sqlite", "postgresql"):
        a, b = fresh_database_url(kind), fresh_database_url(kind)
        assert a != b
        store_a, store_b = _store(a), _store(b)
        try:
            assert store_a.setting("which", lambda: "a") == "a"
            assert store_b.setting("which", lambda: "b") == "b"
        finally:
            store_a.dispose()
            store_b.dispose()
    with pytest.raises(ValueError, match="unknown database kind"):
        fresh_database_url("mysql")


def test_a_store_at_an_older_revision_is_upgraded_to_the_newest_with_nothing_lost(database_url) -> None:
    """A data folder made by the previous release (revision 0003) is brought to the newest one when
    the app starts: a HEAD constant that fell behind the scripts once left such stores unmigrated
    ("no such column generations.output_retries" on every page)."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from studio.db import LibraryFilter, Store
    from studio.db.database import MIGRATIONS, head_revision

    engine = create_engine(database_url)
    with engine.connect() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        connection.execute(
            text(
                "INSERT INTO generations (kind, prompt, aspect_ratio, duration, size, model, status, service, "
                "progress, cost, polls, poll_failures, hidden, created_at) VALUES ('text', 'made last release', "
                "'16:9', 10, 'small', 'sora-2', 'succeeded', 'sandbox', 100, 1600, 3, 0, false, CURRENT_TIMESTAMP)"
            )
        )
        connection.commit()
    engine.dispose()
    store = Store(database_url)
    try:
        with store.db_engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
        [kept] = store.search(LibraryFilter())[0]
        assert (kept.prompt, kept.cost, kept.output_retries, kept.retry_of) == ("made last release", 1600, 0, None)
    finally:
        store.dispose()


def test_a_storyboard_made_before_the_upgrade_still_tells_its_tries_apart(database_url, tmp_path) -> None:
    """Shots queued before revision 0009 named their storyboard's try only in their request key. After
    the upgrade a shot refused before "Go on" is made anew, and one refused in the current try stops
    its storyboard instead of being sent (and charged) again."""
    from datetime import UTC, datetime

    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from studio.db import Store
    from studio.db.database import MIGRATIONS
    from studio.media import MediaStore
    from studio.storyboard import advance

    boards = sa.table(
        "storyboards", *(sa.column(n) for n in ("id", "name", "service", "state", "attempt", "created_at")),
        sa.column("shots", sa.JSON),
    )  # fmt: skip
    shots = sa.table("generations", *(sa.column(n) for n in (
        "kind", "prompt", "aspect_ratio", "duration", "size", "model", "status", "service", "progress", "cost",
        "polls", "poll_failures", "hidden", "created_at", "error", "request_key", "storyboard_id", "storyboard_shot",
    )))  # fmt: skip
    now = datetime.now(UTC)
    plan = [{"params": {"model": "veo3.1-fast", "prompt": "a storm", "aspect_ratio": "16:9"}, "keep": []}]
    db_engine = create_engine(database_url)
    with db_engine.connect() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0008")
        for board_id, refused_in_try in ((1, 0), (2, 1)):  # both boards are in their second try (1)
            connection.execute(sa.insert(boards).values(
                id=board_id, name="storm", service="sandbox", state="running", attempt=1, created_at=now, shots=plan,
            ))  # fmt: skip
            connection.execute(sa.insert(shots).values(
                kind="text", prompt="a storm", aspect_ratio="16:9", duration=8, size="", model="veo3.1-fast",
                status="failed", service="sandbox", progress=0, cost=0, polls=1, poll_failures=0, hidden=False,
                created_at=now, error="refused", storyboard_id=board_id, storyboard_shot=0,
                request_key=f"storyboard-{board_id}-0-{refused_in_try}",
            ))  # fmt: skip
        connection.commit()
    db_engine.dispose()
    store = Store(database_url)
    try:
        media = MediaStore(tmp_path / "media")
        assert advance(store, media, 1) == "queued shot 1"  # refused before Go on: made anew
        assert advance(store, media, 2) == "stopped"  # refused in this try: not sent again
        assert len(store.shots_of(2, every_try=True)) == 1
        assert store.storyboard(2).error == "Shot 1 was not made: refused"
    finally:
        store.dispose()


def test_the_migrations_make_the_tables_the_code_reads(database_url) -> None:
    """Upgraded from nothing, the store has every table, column and index the models name, and no
    other: a column added to a model without its migration fails here, not on a user's page."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from studio.db import Store
    from studio.db.models import Base

    store = Store(database_url)
    try:
        with store.db_engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            differences = [
                d for d in compare_metadata(context, Base.metadata)
                if isinstance(d, tuple) and d[0] in ("add_table", "remove_table", "add_column", "remove_column",
                                                     "add_index", "remove_index")
            ]  # fmt: skip
    finally:
        store.dispose()
    assert differences == []
