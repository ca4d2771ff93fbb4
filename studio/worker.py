"""``python -m studio.worker``: the task engine as a process of its own, for deployments where app
replicas only queue work (``SORA_ENGINE=external``) or where work must go on with no app running.

It holds the key from the environment (``GRSAI_API_KEY``, ``GRSAI_BASE_URL``) or
``.streamlit/secrets.toml``, and the sandbox at ``--sandbox-url`` when one is given. Any number of
workers and app engines may share one store: claims and leases keep every task single. SIGTERM
stops it cleanly: sends already out get their answer, leases are released for the others.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
import tomllib
from pathlib import Path

from grsai_api import HOSTS

from .config import AppConfig
from .connection import Connection, sandbox_connection
from .db import Store, default_url
from .engine import EngineSettings, TaskEngine
from .media import open_media

log = logging.getLogger("studio.worker")


def _secrets(path: Path = Path(".streamlit/secrets.toml")) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def connections(config: AppConfig, sandbox_url: str | None) -> list[Connection]:
    held = []
    if config.api_key:
        base = HOSTS.get(config.base_url, config.base_url)
        held.append(Connection(config.base_url, base, config.api_key))
    if sandbox_url:
        held.append(sandbox_connection(sandbox_url))
    return held


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandbox-url", help="also send and follow sandbox work on this running sandbox")
    parser.add_argument("--concurrency", type=int, default=16, help="creates in flight at once, per account")
    parser.add_argument("--health-seconds", type=float, default=30.0, help="how often to print a health line")
    parser.add_argument(
        "--poll-lease",
        type=float,
        default=EngineSettings.poll_lease,
        help="seconds after a missed poll before another worker may take the task over",
    )
    parser.add_argument(
        "--send-lease",
        type=float,
        default=EngineSettings.send_lease,
        help="seconds a send stays this worker's; a send cut off by a crash is 'unknown' after it",
    )
    parser.add_argument(
        "--copy-timeout",
        type=float,
        default=EngineSettings.copy_timeout,
        help="the longest one copy of a finished file may take (a task being copied stays this "
        "worker's 30 s longer)",
    )
    parser.add_argument("--public-url", help="this worker's public address, for webhooks (SORA_PUBLIC_URL)")
    parser.add_argument("--webhook-port", type=int, help="the webhook receiver's port (SORA_WEBHOOK_PORT, 8599)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    config = AppConfig.load(secrets=_secrets())
    held = connections(config, args.sandbox_url)
    if not held:
        parser.error("no key to work with: set GRSAI_API_KEY (or give --sandbox-url)")
    store = Store(config.database_url or default_url(config.data_dir))
    engine = TaskEngine(
        store,
        open_media(config.media_url, config.media_dir),
        settings=EngineSettings(
            sends_per_account=max(1, args.concurrency),
            poll_lease=max(1.0, args.poll_lease),
            send_lease=max(1.0, args.send_lease),
            copy_timeout=max(1.0, args.copy_timeout),
            typical_seconds={"sandbox": config.sandbox_task_seconds},
            refunds_refusals=config.refunds_refusals,
        ),
    )
    for connection in held:
        engine.hold(connection)
    public_url = args.public_url or config.public_url
    hooks = None
    if public_url:
        from .engine.webhooks import serve_webhooks

        hooks = serve_webhooks(
            engine, public_url=public_url, host=config.webhook_host, port=args.webhook_port or config.webhook_port
        )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    engine.start()
    print(json.dumps({"worker": engine.engine_id, "accounts": len(held), "state": "started"}), flush=True)
    while not stop.wait(args.health_seconds):
        print(json.dumps({"worker": engine.engine_id, "alive": engine.alive, **engine.stats}), flush=True)
    engine.stop(timeout=30)
    if hooks is not None:
        hooks.stop()
    print(json.dumps({"worker": engine.engine_id, "state": "stopped", **engine.stats}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
