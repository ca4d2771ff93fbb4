"""A failing browser test says what it saw: its report ends with the text the page showed at that
moment and the end of the app's log. A timeout alone ("no card came within 30 s") does not tell a
page that drew "Something went wrong" from one still drawing; on CI the report is all there is."""

from __future__ import annotations

from pathlib import Path

import pytest

_LOGS: list[tuple[str, Path]] = []  # (the app's address, its log), for the apps this process started
_EVENTS: dict[int, list[str]] = {}  # id(page): what its browser said (uncaught errors, a crash, a lost socket)
PAGE_CHARS = 4_000
LOG_LINES = 60
EVENTS = 40


def watch(page) -> None:
    """Keep what the browser says about ``page`` for the report: a script error, an error in the
    console, a crash, a socket to the app that closed, a new address. A page left blank, with nothing
    in the app's log (seen under load), is otherwise a mystery."""
    events = _EVENTS.setdefault(id(page), [])

    def note(line: str) -> None:
        events.append(line[:500])
        del events[:-EVENTS]

    page.on("pageerror", lambda error: note(f"script error: {error}"))
    page.on("console", lambda message: message.type in ("error", "warning") and note(f"console {message.type}: {message.text}"))
    page.on("crash", lambda _: note("the page crashed"))
    page.on("framenavigated", lambda frame: frame == page.main_frame and note(f"address: {frame.url}"))
    page.on("websocket", lambda socket: socket.on("close", lambda _: note(f"socket closed: {socket.url}")))


def remember_log(url: str, path: Path) -> None:
    _LOGS.append((url, path))


def _pages(item: pytest.Item) -> list:
    """The Playwright pages the test was handed (a fixture named anything, or one holding a page)."""
    found = []
    for value in getattr(item, "funcargs", {}).values():
        for candidate in (value, getattr(value, "page", None)):
            if (
                candidate is not None
                and callable(getattr(candidate, "inner_text", None))
                and hasattr(candidate, "url")
            ):
                found.append(candidate)
    return found


def _page_text(page) -> str:
    try:
        return f"{page.url}\n{page.inner_text('body', timeout=5_000)[-PAGE_CHARS:]}"
    except Exception as error:  # noqa: BLE001 - a closed or crashed page: say so, the report goes on
        return f"(the page could not be read: {type(error).__name__}: {error})"


def _log_tail(url: str) -> str:
    logs = [path for address, path in _LOGS if url.startswith(address)] or [path for _, path in _LOGS[-1:]]
    if not logs:
        return ""
    try:
        lines = logs[-1].read_text(errors="replace").splitlines()
    except OSError as error:
        return f"(the log could not be read: {error})"
    return "\n".join(lines[-LOG_LINES:])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.failed and call.when == "call" and item.get_closest_marker("browser"):
        for page in _pages(item):
            report.sections.append(("what the page showed when the test failed", _page_text(page)))
            events = _EVENTS.get(id(page))
            if events:
                report.sections.append(("what the browser said (last events)", "\n".join(events)))
            tail = _log_tail(page.url)
            if tail:
                report.sections.append((f"the app's log, last {LOG_LINES} lines", tail))
    return report
