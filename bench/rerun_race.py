"""How often a click that comes while a page is still running breaks the run, with Streamlit's fast
reruns on (Streamlit's default) and off (this app's setting, ``.streamlit/config.toml``).

With fast reruns, a click stops the running script and starts the next run at once, in a new
thread, while the old thread is still writing the session's state. The new run copies that state
as it starts; two threads on one dict end in ``RuntimeError: dictionary changed size during
iteration`` and the page says "This app has encountered an error" (seen once in this app's CI, in
``SessionState._compact_state``). Without them, the click waits for the running script's next
Streamlit call, where it stops, and one thread at a time touches the state.

    python -m bench.rerun_race [--clicks 300] [--tries 3]

A small page that writes its state as this app's pages do (keys set and dropped, keyed widgets) is
clicked ``--clicks`` times as fast as Chromium can, ``--tries`` times for each setting, on one
machine in one run; the figure is the runs that broke, counted in the app's log.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PAGE = """
import streamlit as st
st.button("again", key="again")
for n in range(2000):
    st.session_state[f"k{n}"] = n
    st.session_state.pop(f"j{n}", None)
    st.session_state[f"j{n}"] = n
    if n % 200 == 0:
        st.text_input(f"box {n}", key=f"box{n}")
"""
BROKEN = "dictionary changed size during iteration"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the page did not start on port {port}")


def one_try(folder: Path, fast: bool, clicks: int) -> int:
    """Clicks the page's button ``clicks`` times; how many runs broke, from the app's log."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    log = folder / f"log-{fast}-{port}.txt"
    with log.open("w") as out:
        app = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(folder / "page.py"), "--server.port", str(port),
             "--server.headless", "true", "--runner.fastReruns", str(fast).lower(),
             "--browser.gatherUsageStats", "false"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_for(port, time.monotonic() + 60)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}")
            button = page.get_by_role("button", name="again")
            button.wait_for(timeout=60_000)
            for _ in range(clicks):
                button.click(no_wait_after=True, timeout=60_000)
            browser.close()
    finally:
        app.terminate()
        app.wait(timeout=30)
    return log.read_text(errors="replace").count(BROKEN)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=300)
    parser.add_argument("--tries", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "page.py").write_text(PAGE)
        for fast in (True, False):
            broken = [one_try(folder, fast, args.clicks) for _ in range(args.tries)]
            print(
                f"fast reruns {'on ' if fast else 'off'}: runs broken per {args.clicks} clicks: {broken} "
                f"(total {sum(broken)})"
            )


if __name__ == "__main__":
    main()
