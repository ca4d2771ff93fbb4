"""``python -m studio.migrate``: bring the store (``DATABASE_URL``, else the data folder's SQLite) up
to date once, before replicas and workers start (scripts/team.sh runs it). Each process also
migrates on start under a lock (an advisory lock on PostgreSQL), so skipping this is safe, only
slower."""

from __future__ import annotations

import sys

from .config import AppConfig
from .db import Store, default_url
from .worker import _secrets


def main() -> int:
    config = AppConfig.load(_secrets())
    url = config.database_url or default_url(config.data_dir)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(url)
    try:
        print(f"the store ({store.dialect}) is up to date", file=sys.stderr)
    finally:
        store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
