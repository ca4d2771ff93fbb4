"""Start the studio: ``python serve.py [streamlit options, e.g. --server.port 8600]``.

Streamlit runs a page, and so anything a page starts, only for a browser session. This starts the task
engine (and the built-in sandbox when no key is set) with the process, before Streamlit serves the
pages, which then use the same engine: work queued or in flight before a restart goes on with no tab
open. Result links live two hours, so a restart must not wait for someone to open a page.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

APP = Path(__file__).resolve().with_name("app.py")


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("httpx", "alembic"):  # not a line per request, nor per migration plugin
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from streamlit.web import cli

    from components.resources import start_in_background

    engine = start_in_background()
    logging.getLogger("studio.serve").info("task engine started (%s) before any page", type(engine).__name__)
    sys.argv = ["streamlit", "run", str(APP), *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
