"""Why this app keeps Streamlit's fast reruns on (``.streamlit/config.toml``): what each setting
breaks, measured on two small pages, both settings in one run on one machine.

- **Clicks during a run.** With fast reruns on, a click stops the running script and starts the next
  run at once, in a new thread, while the old thread still writes the session's state: two threads
  on one dict end in ``RuntimeError: dictionary changed size during iteration`` (seen once in this
  app's CI, in ``SessionState._compact_state``). A page that writes its state as these pages do is
  clicked ``--clicks`` times as fast as Chromium can; the figure is the runs broken (the app's log).
- **Page switches while a fragment redraws itself.** With them off, a click waits for the running
  script; a page switch made while a ``run_every`` fragment redraws itself then sent the browser
  parts of the old page for the new one, and the whole app went blank ("Bad delta path index"), as
  the Studio's Generate and Library pages did once in this app's browser tests. Two pages, one with
  such a fragment, are switched ``--switches`` times; the figure is the switches made before the app
  went blank (all of them when it never did).

    python -m bench.rerun_race [--clicks 300] [--switches 300] [--tries 2]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._sandbox import free_port

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
PAGES = """
import time
import streamlit as st

def ticking():
    st.title("Ticking")
    st.write("one")
    st.write("two")
    with st.container():
        @st.fragment(run_every=0.15)
        def ticker():
            with st.container():
                st.write("tick", time.time())
                time.sleep(0.05)
                st.progress(int(time.time() * 10) % 100)
        ticker()

def still():
    st.title("Still")

st.navigation([st.Page(ticking, title="Ticking", url_path="ticking"), st.Page(still, title="Still", url_path="still")]).run()
"""


def _wait_for(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the page did not start on port {port}")


class _App:
    """``streamlit run`` of ``script`` on a free port, with fast reruns on or off."""

    def __init__(self, folder: Path, script: str, fast: bool) -> None:
        self.port = free_port()
        self.log = folder / f"log-{script}-{fast}-{self.port}.txt"
        self.url = f"http://127.0.0.1:{self.port}"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", str(folder / script), "--server.port", str(self.port),
                 "--server.headless", "true", "--runner.fastReruns", str(fast).lower(),
                 "--browser.gatherUsageStats", "false"],
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        _wait_for(self.port, time.monotonic() + 60)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _browser(playwright):
    return playwright.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )


def clicks(folder: Path, fast: bool, count: int) -> int:
    """Clicks the page's button ``count`` times; how many runs broke, from the app's log."""
    from playwright.sync_api import sync_playwright

    app = _App(folder, "page.py", fast)
    try:
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            page = browser.new_page()
            page.goto(app.url)
            button = page.get_by_role("button", name="again")
            button.wait_for(timeout=60_000)
            for _ in range(count):
                button.click(no_wait_after=True, timeout=60_000)
            browser.close()
    finally:
        app.stop()
    return app.log.read_text(errors="replace").count(BROKEN)


def switches(folder: Path, fast: bool, count: int) -> int:
    """Switches between the two pages ``count`` times (at varied moments of the fragment's redraws);
    how many were made before the app went blank."""
    from playwright.sync_api import sync_playwright

    app = _App(folder, "pages.py", fast)
    made = 0
    try:
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            page = browser.new_page()
            blank: list[str] = []
            page.on("pageerror", lambda error: blank.append(str(error)))
            page.goto(app.url)
            page.get_by_role("heading", name="Ticking").wait_for(timeout=60_000)
            for n in range(count):
                for name, pause in (("Still", 50 + n * 37 % 300), ("Ticking", 50 + n * 53 % 300)):
                    try:
                        page.get_by_role("link", name=name).click(timeout=10_000)
                    except Exception:  # noqa: BLE001 - the link is gone: the app is blank
                        blank.append("no link")
                    page.wait_for_timeout(pause)  # a varied moment of the redraws, not a wait for something
                if blank:
                    break
                made += 1
            browser.close()
    finally:
        app.stop()
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=300)
    parser.add_argument("--switches", type=int, default=300)
    parser.add_argument("--tries", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "page.py").write_text(PAGE)
        (folder / "pages.py").write_text(PAGES)
        for fast in (True, False):
            broken = [clicks(folder, fast, args.clicks) for _ in range(args.tries)]
            made = [switches(folder, fast, args.switches) for _ in range(args.tries)]
            print(
                f"fast reruns {'on ' if fast else 'off'}: runs broken per {args.clicks} clicks: {broken}; "
                f"page switches made of {args.switches} before the app went blank: {made}"
            )


if __name__ == "__main__":
    main()
